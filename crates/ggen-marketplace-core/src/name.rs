//! Package names as the real registry spells them: lowercase, digits, `.`, `_`, `-`
//! (`io.ggen.nextjs.ontology-crud` is valid). Names become directory and file
//! names and RDF IRIs, so anything that could escape a path is refused here.

use crate::error::{MarketplaceError, Result};

pub const MAX_NAME_LEN: usize = 128;

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
    fn split_spec_handles_requirements() {
        assert_eq!(split_spec("rust-cli@^1.2"), ("rust-cli", Some("^1.2")));
        assert_eq!(split_spec("rust-cli"), ("rust-cli", None));
    }
}
