//! The answers file a generated project keeps (`.ggen-answers.toml`): which
//! package made it, from which registry, each package's version and checksum,
//! and the answers given. `ggen update` reads it to render the project's base.
//!
//! A project is untrusted (it may be a clone of someone else's repository), so
//! the file is read strictly: unknown keys are errors, names must be package
//! names, versions semver, checksums 64 hex digits, and the file is small.

use std::collections::BTreeSet;

use ggen_marketplace_core::name::validate_name;
use semver::Version;
use serde::{Deserialize, Serialize};

use crate::answers::Answers;
use crate::error::{Result, TemplateError};

/// The answers file's name, at the project's root.
pub const ANSWERS_FILE: &str = ".ggen-answers.toml";

/// Larger answers files are refused unread.
pub const MAX_ANSWERS_BYTES: u64 = 256 * 1024;

const HEADER: &str = "# Written by ggen when it generated this project; `ggen update` reads it.\n# Keep it in version control. Change answers with `ggen update --var NAME=VALUE`.\n";

/// What the answers file holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectRecord {
    /// The package generated (the root of `packages`).
    pub package: String,
    /// Its version.
    pub version: Version,
    /// Where it came from (`registry+file://...` or `registry+https://...`).
    pub registry: String,
    /// Optional dependencies were rendered too (`--with-optional`), so an
    /// update renders them again.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub with_optional: bool,
    /// Every package rendered, in rendering order (dependencies first).
    pub packages: Vec<RecordedPackage>,
    /// The answers, by variable name.
    #[serde(default)]
    pub answers: Answers,
}

/// One package of a generation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordedPackage {
    /// Its name.
    pub name: String,
    /// The version rendered.
    pub version: Version,
    /// Its archive's SHA-256, as the registry recorded it.
    pub checksum: String,
}

impl ProjectRecord {
    /// The file's text.
    pub fn to_toml(&self) -> String {
        let body = toml::to_string(self).expect("answers are strings, numbers, booleans and lists");
        format!("{HEADER}{body}")
    }

    /// Reads and checks the file's text; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Self> {
        let bad = |reason: String| TemplateError::Record {
            file: file.to_string(),
            reason,
        };
        if text.len() as u64 > MAX_ANSWERS_BYTES {
            return Err(bad(format!(
                "is {} bytes; an answers file is at most {MAX_ANSWERS_BYTES}",
                text.len()
            )));
        }
        let record: Self = toml::from_str(text).map_err(|e| bad(e.message().to_string()))?;
        let mut seen = BTreeSet::new();
        for p in &record.packages {
            validate_name(&p.name).map_err(|e| bad(format!("packages: {e}")))?;
            if !seen.insert(p.name.as_str()) {
                return Err(bad(format!("packages: `{}` is listed twice", p.name)));
            }
            if p.checksum.len() != 64 || !p.checksum.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(bad(format!(
                    "packages: the checksum of `{}` is not a SHA-256 (64 hex digits)",
                    p.name
                )));
            }
        }
        match record.packages.last() {
            Some(root) if root.name == record.package && root.version == record.version => {}
            _ => {
                return Err(bad(format!(
                    "`package = {:?}` with version {} is not the last entry of `packages`",
                    record.package, record.version
                )));
            }
        }
        for name in record.answers.keys() {
            if !ggen_marketplace_core::manifest::is_identifier(name) {
                return Err(bad(format!(
                    "answers: `{}` is not a variable name",
                    name.escape_debug()
                )));
            }
        }
        Ok(record)
    }

    /// The root's entry.
    pub fn root(&self) -> &RecordedPackage {
        self.packages
            .last()
            .expect("parse and the generator keep one")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record() -> ProjectRecord {
        ProjectRecord {
            package: "app".into(),
            version: Version::new(1, 2, 0),
            registry: "registry+file:///home/u/.ggen/registry".into(),
            with_optional: true,
            packages: vec![
                RecordedPackage {
                    name: "base".into(),
                    version: Version::new(1, 0, 0),
                    checksum: "a".repeat(64),
                },
                RecordedPackage {
                    name: "app".into(),
                    version: Version::new(1, 2, 0),
                    checksum: "b".repeat(64),
                },
            ],
            answers: Answers::from([
                ("name".to_string(), json!("demo")),
                ("port".to_string(), json!(8080)),
                ("tags".to_string(), json!(["a", "b"])),
            ]),
        }
    }

    #[test]
    fn round_trips() {
        let r = record();
        let text = r.to_toml();
        assert!(text.starts_with("# Written by ggen"));
        assert_eq!(ProjectRecord::parse(&text, ANSWERS_FILE).unwrap(), r);
    }

    #[test]
    fn hostile_records_are_refused() {
        let good = record().to_toml();
        let cases = [
            good.replace("name = \"base\"", "name = \"../../etc\""),
            good.replace(&"a".repeat(64), "abc"),
            good.replace("package = \"app\"", "package = \"other\""),
            good.replace("[answers]", "[answers]\n\"a b\" = 1"),
            format!("extra = 1\n{good}"),
            "x".repeat(MAX_ANSWERS_BYTES as usize + 1),
        ];
        for text in cases {
            assert!(ProjectRecord::parse(&text, ANSWERS_FILE).is_err(), "{text}");
        }
    }
}
