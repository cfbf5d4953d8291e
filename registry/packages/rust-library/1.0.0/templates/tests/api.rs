//! Integration tests: only the public API is visible here.

use {{ crate_name }}::{Error, Slug};

#[test]
fn parses_via_from_str() {
    let slug: Slug = "Release Notes v1.2".parse().unwrap();
    assert_eq!(slug.to_string(), "release-notes-v1-2");
}

#[test]
fn empty_input_is_an_error() {
    assert_eq!(Slug::parse(""), Err(Error::Empty));
    assert_eq!(
        Error::Empty.to_string(),
        "input contains no letters or digits"
    );
}

#[test]
fn non_ascii_letters_are_separators() {
    assert_eq!(Slug::parse("café au lait").unwrap().as_str(), "caf-au-lait");
}
