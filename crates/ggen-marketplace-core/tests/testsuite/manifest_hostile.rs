//! Manifests built to hurt: deep nesting, huge strings, invalid UTF-8, wrong
//! types. Each is refused with an error naming the file, or read correctly;
//! never a panic or a stack overflow.

use std::path::Path;

use ggen_marketplace_core::manifest::{Manifest, ManifestFormat};

fn refused(text: &str, format: ManifestFormat) -> String {
    match Manifest::parse(text, format, Path::new("pkg/gpack.toml")) {
        Ok(m) => panic!("accepted: {}", m.name),
        Err(e) => e.to_string(),
    }
}

#[test]
fn deep_nesting_is_refused_without_overflowing_the_stack() {
    let depth = 100_000;
    let toml = format!(
        "[package]\nname = \"deep\"\nversion = \"1.0.0\"\ndescription = {}{}\n",
        "[".repeat(depth),
        "]".repeat(depth)
    );
    for format in [ManifestFormat::GpackToml, ManifestFormat::LegacyToml] {
        let err = refused(&toml, format);
        assert!(
            err.contains("gpack.toml") && err.contains("line 4"),
            "{err}"
        );
        assert!(err.contains("nested more than"), "{err}");
    }
    let yaml = format!(
        "package:\n  name: deep\n  version: 1.0.0\n  description: {}{}\n",
        "[".repeat(depth),
        "]".repeat(depth)
    );
    let err = refused(&yaml, ManifestFormat::GpackYaml);
    assert!(
        err.contains("gpack.toml") && err.contains("nested more than"),
        "{err}"
    );
    // Nesting within the bound is left to the parser (and refused by type).
    let shallow = "[package]\nname = \"deep\"\nversion = \"1.0.0\"\ndescription = [[[\"x\"]]]\n";
    let err = refused(shallow, ManifestFormat::GpackToml);
    assert!(err.contains("`description`"), "{err}");
    // Brackets inside strings and comments do not count.
    let quoted = format!(
        "[package]\nname = \"q\"\nversion = \"1.0.0\"\ndescription = \"{}\" # {}\n",
        "[".repeat(100),
        "{".repeat(100)
    );
    assert!(Manifest::parse(&quoted, ManifestFormat::GpackToml, Path::new("gpack.toml")).is_ok());
}

#[test]
fn wrong_types_name_the_field() {
    let err = refused(
        "[package]\nname = \"typed\"\nversion = 5\n",
        ManifestFormat::GpackToml,
    );
    assert!(err.contains("version"), "{err}");
    let err = refused(
        "[package]\nname = [\"a\"]\nversion = \"1.0.0\"\n",
        ManifestFormat::GpackToml,
    );
    assert!(err.contains("name"), "{err}");
}

#[test]
fn a_huge_description_is_read_or_refused_cleanly() {
    let big = "x".repeat(8 << 20);
    let toml =
        format!("[package]\nname = \"huge\"\nversion = \"1.0.0\"\ndescription = \"{big}\"\n");
    match Manifest::parse(
        &toml,
        ManifestFormat::GpackToml,
        Path::new("pkg/gpack.toml"),
    ) {
        Ok(m) => assert_eq!(m.description.len(), big.len()),
        Err(e) => assert!(e.to_string().contains("gpack.toml"), "{e}"),
    }
}

#[test]
fn invalid_utf8_is_refused_with_its_position() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gpack.toml");
    let mut bytes = b"[package]\nname = \"bad\"\nversion = \"1.0.0\"\ndescription = \"".to_vec();
    let at = bytes.len();
    bytes.extend_from_slice(&[0xff, 0xfe, b'"', b'\n']);
    std::fs::write(&path, &bytes).unwrap();
    let err = Manifest::load(&path).unwrap_err().to_string();
    assert!(
        err.contains("UTF-8") && err.contains(&at.to_string()),
        "{err}"
    );
    assert!(err.contains("gpack.toml"), "{err}");
}
