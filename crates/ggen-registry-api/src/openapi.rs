//! OpenAPI schemas of the request strings with a fixed format, built from the
//! constants the server checks against (utoipa's attributes take only
//! literals). Markers for `value_type = ...`.

use std::borrow::Cow;

use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::{PartialSchema, ToSchema};

use ggen_marketplace_core::search::{MAX_FILTER_LEN, MAX_QUERY_LEN};

fn string(pattern: &str, max_length: Option<usize>) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(pattern))
        .max_length(max_length)
}

macro_rules! string_schema {
    ($(#[$doc:meta])* $name:ident, $schema:expr) => {
        $(#[$doc])*
        pub struct $name;

        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                $schema.into()
            }
        }

        impl ToSchema for $name {
            fn name() -> Cow<'static, str> {
                stringify!($name).into()
            }
        }
    };
}

string_schema!(
    /// A search's free text.
    SearchText,
    string(super::QUERY_PATTERN, Some(MAX_QUERY_LEN))
);
string_schema!(
    /// A category filter.
    CategoryFilter,
    string(super::FILTER_PATTERN, Some(MAX_FILTER_LEN))
);
string_schema!(
    /// One tag of a tag filter.
    TagFilter,
    string(super::TAG_PATTERN, Some(MAX_FILTER_LEN))
);
string_schema!(
    /// Bytes in standard, padded base64.
    Base64,
    string(super::BASE64_PATTERN, None).content_encoding("base64")
);
