//! Package names as the real registry spells them: lowercase, digits, `.`, `_`, `-`
//! (`io.ggen.nextjs.ontology-crud` is valid). Names become directory and file
//! names and RDF IRIs, so anything that could escape a path is refused here.

use crate::error::{MarketplaceError, Result};

/// The longest name accepted, in bytes.
pub const MAX_NAME_LEN: usize = 128;

/// [`validate_name`] as a regular expression (with [`MAX_NAME_LEN`] as the
/// length limit), for the API's OpenAPI document: a lowercase letter or digit,
/// then letters, digits, `_`, `-`, and `.` only before one of those, so no
/// `..` and no `.` at the end. A test checks the two agree.
pub const NAME_PATTERN: &str = r"^[a-z0-9](?:[a-z0-9_-]|\.[a-z0-9_-])*$";

/// The semantic versions `semver::Version::parse` accepts, as a regular
/// expression: semver.org's grammar, with major, minor and patch held to 19
/// digits so every match fits the parser's 64 bits. A test checks the two
/// agree.
pub const SEMVER_PATTERN: &str = concat!(
    r"^(?:0|[1-9][0-9]{0,18})\.(?:0|[1-9][0-9]{0,18})\.(?:0|[1-9][0-9]{0,18})",
    r"(?:-(?:0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*))*)?",
    r"(?:\+[0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*)?$"
);

/// Refuses anything but a well-formed package name, saying why.
pub fn validate_name(name: &str) -> Result<()> {
    let fail = |reason: &str| {
        Err(MarketplaceError::InvalidName {
            name: name.escape_debug().to_string(),
            reason: reason.to_string(),
        })
    };
    if name.is_empty() {
        return fail("it is empty");
    }
    if name.len() > MAX_NAME_LEN {
        return fail("it is longer than 128 characters");
    }
    let first = name.as_bytes()[0];
    if !(first.is_ascii_lowercase() || first.is_ascii_digit()) {
        return fail("it must start with a lowercase letter or digit");
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')))
    {
        return fail(&format!("character {c:?} is not allowed"));
    }
    if name.contains("..") {
        return fail("it contains `..`");
    }
    if name.ends_with('.') {
        return fail("it ends with `.`");
    }
    Ok(())
}

/// The form two names are compared in for confusability: ASCII case folded and
/// `-`, `_` and `.` all read as `-`. `foo_bar`, `Foo-Bar` and `foo.bar` share
/// one form, so once one of them is published the others are refused (as
/// crates.io refuses `foo_bar` beside `foo-bar`): a user who types one must
/// not get another publisher's package.
pub fn canonical_name(name: &str) -> String {
    name.chars()
        .map(|c| match c {
            '_' | '.' => '-',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

/// Checks a line of package metadata (a description, a tag, an author) for
/// what must never reach a terminal or a log raw: control characters, which
/// include the escape sequences that move a terminal's cursor or rewrite its
/// title. Descriptions may hold line breaks and tabs; other fields may not.
pub fn validate_metadata_text(field: &str, value: &str, multiline: bool) -> Result<()> {
    let bad = value
        .chars()
        .find(|&c| c.is_control() && !(multiline && matches!(c, '\n' | '\t' | '\r')));
    match bad {
        None => Ok(()),
        Some(c) => Err(MarketplaceError::InvalidMetadata {
            field: field.to_string(),
            reason: format!("it contains the control character {:?}", c),
        }),
    }
}

/// Whether `name` matches `pattern`, where `*` matches any run of characters
/// and everything else matches itself (token scopes, trusted-key scopes).
/// Package names have no other metacharacters, so a glob crate would add
/// nothing.
pub fn pattern_matches(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == name;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if name.len() < first.len() + last.len() || !name.starts_with(first) || !name.ends_with(last) {
        return false;
    }
    let mut rest = &name[first.len()..name.len() - last.len()];
    for middle in &parts[1..parts.len() - 1] {
        match rest.find(middle) {
            Some(i) => rest = &rest[i + middle.len()..],
            None => return false,
        }
    }
    true
}

/// A pattern for [`pattern_matches`]: a package name in which `*` may stand
/// for any run of characters.
pub fn validate_pattern(pattern: &str) -> Result<()> {
    if pattern == "*" {
        return Ok(());
    }
    // Each `*` stands for one letter when checking what is left.
    let probe = pattern.replace('*', "x");
    validate_name(&probe).map_err(|e| match e {
        MarketplaceError::InvalidName { reason, .. } => MarketplaceError::InvalidName {
            name: pattern.escape_debug().to_string(),
            reason: format!("as a pattern: {reason}"),
        },
        other => other,
    })
}

/// Splits `name@req` as typed on the command line.
pub fn split_spec(spec: &str) -> (&str, Option<&str>) {
    match spec.split_once('@') {
        Some((name, req)) => (name, Some(req)),
        None => (spec, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Every name the pattern admits is valid, and every valid name (from
        /// an alphabet with the characters that matter) matches the pattern.
        #[test]
        fn the_name_pattern_is_validate_name(
            generated in proptest::string::string_regex(&NAME_PATTERN[1..NAME_PATTERN.len() - 1]).unwrap(),
            any in "[a-z0-9._A-Z/-]{0,12}",
        ) {
            let pattern = regex::Regex::new(NAME_PATTERN).unwrap();
            if generated.len() <= MAX_NAME_LEN {
                prop_assert!(validate_name(&generated).is_ok(), "{generated:?}");
            }
            prop_assert_eq!(pattern.is_match(&any), validate_name(&any).is_ok(), "{:?}", any);
        }

        /// The same for versions and `semver::Version::parse`.
        #[test]
        fn the_semver_pattern_is_the_parser(
            generated in proptest::string::string_regex(&SEMVER_PATTERN[1..SEMVER_PATTERN.len() - 1]).unwrap(),
            any in "[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9a-zA-Z.+-]{0,10}",
        ) {
            let pattern = regex::Regex::new(SEMVER_PATTERN).unwrap();
            prop_assert!(semver::Version::parse(&generated).is_ok(), "{generated:?}");
            prop_assert_eq!(pattern.is_match(&any), semver::Version::parse(&any).is_ok(), "{:?}", any);
        }
    }

    #[test]
    fn real_registry_names_are_valid() {
        for n in [
            "hello-world",
            "io.ggen.nextjs.ontology-crud",
            "a",
            "x_1",
            "sector-api-gateway-8020",
        ] {
            validate_name(n).unwrap();
        }
    }

    #[test]
    fn hostile_names_are_refused() {
        for n in [
            "",
            "..",
            "../etc",
            "a/b",
            "a\\b",
            "/abs",
            "%2e%2e",
            "Hello",
            "a..b",
            "a.",
            ".hidden",
            "a b",
            "a\u{0}b",
            "a\nb",
            "раскладка",
            "pаckage", /* Cyrillic a */
        ] {
            assert!(validate_name(n).is_err(), "{n:?} should be refused");
        }
        assert!(validate_name(&"a".repeat(129)).is_err());
    }

    #[test]
    fn confusable_names_share_a_canonical_form() {
        let forms: Vec<String> = ["foo-bar", "foo_bar", "foo.bar", "Foo-Bar", "FOO_BAR"]
            .iter()
            .map(|n| canonical_name(n))
            .collect();
        assert!(forms.iter().all(|f| f == "foo-bar"), "{forms:?}");
        assert_ne!(canonical_name("foobar"), canonical_name("foo-bar"));
        assert_ne!(canonical_name("foo-bar"), canonical_name("foo-baz"));
    }

    #[test]
    fn metadata_with_control_characters_is_refused() {
        validate_metadata_text("description", "two\nlines\tand a tab", true).unwrap();
        assert!(validate_metadata_text("tag", "a\nb", false).is_err());
        let e = validate_metadata_text("description", "x\u{1b}]0;pwned\u{7}", true).unwrap_err();
        assert!(e.to_string().contains("description"), "{e}");
        assert!(
            validate_metadata_text("author", "a\u{9b}31m", false).is_err(),
            "C1 CSI"
        );
    }

    #[test]
    fn patterns() {
        assert!(pattern_matches("*", "anything"));
        assert!(pattern_matches("acme-*", "acme-cli"));
        assert!(!pattern_matches("acme-*", "other-cli"));
        assert!(pattern_matches("*-cli", "acme-cli"));
        assert!(pattern_matches("a*b*c", "axxbyyc"));
        assert!(!pattern_matches("a*b*c", "axxc"));
        assert!(pattern_matches("exact", "exact"));
        assert!(!pattern_matches("exact", "exactly"));
        assert!(
            !pattern_matches("ab*ba", "aba"),
            "prefix and suffix may not overlap"
        );
        validate_pattern("acme-*").unwrap();
        validate_pattern("*").unwrap();
        assert!(validate_pattern("../*").is_err());
        assert!(validate_pattern("").is_err());
    }

    #[test]
    fn split_spec_handles_requirements() {
        assert_eq!(split_spec("rust-cli@^1.2"), ("rust-cli", Some("^1.2")));
        assert_eq!(split_spec("rust-cli"), ("rust-cli", None));
    }
}
