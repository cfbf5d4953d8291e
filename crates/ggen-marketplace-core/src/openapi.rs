//! OpenAPI schemas of the strings the registry's API carries in a fixed
//! format (package names, versions), built from the same constants the
//! parsers are tested against, so the document and the server cannot
//! disagree. The structs are markers for `#[schema(value_type = ...)]`.

use std::borrow::Cow;

use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::{PartialSchema, ToSchema};

use crate::name::{MAX_NAME_LEN, NAME_PATTERN, SEMVER_PATTERN};

fn string(
    description: &str,
    pattern: &str,
    max_length: Option<usize>,
    example: &str,
) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(description))
        .pattern(Some(pattern))
        .min_length(Some(1))
        .max_length(max_length)
        .examples([example])
        .into()
}

/// A package name ([`crate::name::validate_name`]).
pub struct PackageName;

impl PartialSchema for PackageName {
    fn schema() -> RefOr<Schema> {
        string(
            "A package name: lowercase letters, digits, `.`, `_` and `-`, starting with a letter or digit, without `..` or a final `.`.",
            NAME_PATTERN,
            Some(MAX_NAME_LEN),
            "hello-world",
        )
    }
}

impl ToSchema for PackageName {
    fn name() -> Cow<'static, str> {
        "PackageName".into()
    }
}

/// A semantic version (`semver::Version`).
pub struct SemVer;

impl PartialSchema for SemVer {
    fn schema() -> RefOr<Schema> {
        string(
            "A semantic version (semver.org), e.g. `1.2.0` or `2.0.0-beta.1+build.5`.",
            SEMVER_PATTERN,
            None,
            "1.0.0",
        )
    }
}

impl ToSchema for SemVer {
    fn name() -> Cow<'static, str> {
        "SemVer".into()
    }
}
