//! The registry's HTTP API as types: where each route lives, the headers both
//! sides read, and every request and answer body. The server (`ggen-registry`)
//! answers with these and the remote client (the facade's registry client)
//! reads them, as cargo's `crates-io` crate serves both cargo and crates.io,
//! so the two cannot drift apart. Everything is under [`PREFIX`].
#![warn(missing_docs)]

use ggen_marketplace_core::signing::KeyRotation;
use ggen_marketplace_core::{
    BackendKind, Package, PackageSummary, PackageVersion, SearchQuery, Signature, SortOrder,
};
use semver::Version;
use serde::{Deserialize, Serialize};

#[cfg(feature = "openapi")]
pub mod openapi;

/// Where every API route lives.
pub const PREFIX: &str = "/api/v1";

/// Header names both sides use.
pub mod headers {
    /// Sent by clients: keeps a client's A/B bucket across addresses.
    pub const CLIENT_ID: &str = "x-ggen-client-id";
    /// Sent with archives: which backend served them (JSON answers carry
    /// `backend_used` instead).
    pub const BACKEND_USED: &str = "x-ggen-backend-used";
    /// Sent with searches: `HIT`, `MISS` or `BYPASS` of the server's cache.
    pub const CACHE: &str = "x-ggen-cache";
}

/// Route paths, with names and versions percent-encoded as path segments.
pub mod paths {
    use semver::Version;

    /// Percent-encodes one path segment: names are validated before they
    /// get here, but a version or a hostile name must not change the path.
    pub fn segment(s: &str) -> String {
        let mut out = String::with_capacity(s.len());
        for b in s.bytes() {
            if b.is_ascii_alphanumeric() || b"-_.~+".contains(&b) {
                out.push(b as char);
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
        out
    }

    /// `GET`: search ([`super::SearchParams`] in the query string).
    pub fn search() -> String {
        format!("{}/search", super::PREFIX)
    }

    /// `GET`: every package's latest version; `POST`: publish.
    pub fn packages() -> String {
        format!("{}/packages", super::PREFIX)
    }

    /// `GET`: one package with every version.
    pub fn package(name: &str) -> String {
        format!("{}/packages/{}", super::PREFIX, segment(name))
    }

    /// `GET`: one package's versions.
    pub fn versions(name: &str) -> String {
        format!("{}/versions", package(name))
    }

    /// `POST`: endorse a new signing key ([`super::KeyRotationRequest`]).
    pub fn keys(name: &str) -> String {
        format!("{}/keys", package(name))
    }

    fn version(name: &str, version: &Version, what: &str) -> String {
        format!("{}/{}/{what}", package(name), segment(&version.to_string()))
    }

    /// `GET`: the `.tar.gz`.
    pub fn download(name: &str, v: &Version) -> String {
        version(name, v, "download")
    }

    /// `GET`: the raw 64-byte signature.
    pub fn signature(name: &str, v: &Version) -> String {
        version(name, v, "signature")
    }

    /// `GET`: the exact signed statement.
    pub fn statement(name: &str, v: &Version) -> String {
        version(name, v, "statement")
    }

    /// `POST`: yank (or, with `yanked: false`, unyank).
    pub fn yank(name: &str, v: &Version, yanked: bool) -> String {
        version(name, v, if yanked { "yank" } else { "unyank" })
    }
}

/// Text a search's `q` may hold: no control characters but whitespace
/// (what `SearchQuery::validate` refuses).
pub const QUERY_PATTERN: &str = r"^[^\u0000-\u0008\u000E-\u001F\u007F-\u0084\u0086-\u009F]*$";
/// A category or one tag of a filter: no control characters (nor, for a
/// tag, the comma that separates them).
pub const FILTER_PATTERN: &str = r"^[^\u0000-\u001F\u007F-\u009F]*$";
/// One tag of `tags`.
pub const TAG_PATTERN: &str = r"^[^,\u0000-\u001F\u007F-\u009F]+$";
/// The most hits one answer holds; a larger `limit` (up to
/// `search::MAX_LIMIT`) is accepted and answered with this many.
pub const PAGE_LIMIT: usize = 100;

/// The query string of a search.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct SearchParams {
    /// Free text: names, descriptions, tags, keywords; typos are forgiven.
    #[cfg_attr(feature = "openapi", param(value_type = Option<openapi::SearchText>))]
    pub q: Option<String>,
    /// Only this category (case-insensitive).
    #[cfg_attr(feature = "openapi", param(value_type = Option<openapi::CategoryFilter>))]
    pub category: Option<String>,
    /// Only packages with all these tags: up to 32, comma-separated, none
    /// empty, each at most 128 characters.
    #[cfg_attr(feature = "openapi", param(value_type = Option<Vec<openapi::TagFilter>>, style = Form, explode = false, max_items = 32))]
    pub tags: Option<String>,
    /// The order of hits (default relevance).
    pub sort: Option<SortOrder>,
    /// At most this many hits (default 20); more than 100 are answered with 100.
    #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 1000))]
    pub limit: Option<usize>,
    /// Hits to skip.
    #[cfg_attr(feature = "openapi", param(minimum = 0, maximum = 10000))]
    pub offset: Option<usize>,
    /// With `true`, each hit carries `explain`: the parts of its score.
    pub explain: Option<bool>,
}

impl SearchParams {
    /// The query string of `query`.
    pub fn of(query: &SearchQuery) -> Self {
        Self {
            q: Some(query.text.clone()),
            category: query.category.clone(),
            tags: (!query.tags.is_empty()).then(|| query.tags.join(",")),
            sort: Some(query.sort),
            limit: Some(query.limit),
            offset: Some(query.offset),
            explain: query.explain.then_some(true),
        }
    }

    /// Its fields as query-string pairs, the unset ones left out.
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut pairs = Vec::new();
        let mut add = |key, value: Option<String>| {
            if let Some(v) = value {
                pairs.push((key, v));
            }
        };
        add("q", self.q.clone());
        add("category", self.category.clone());
        add("tags", self.tags.clone());
        add("sort", self.sort.map(|s| s.as_str().to_string()));
        add("limit", self.limit.map(|n| n.to_string()));
        add("offset", self.offset.map(|n| n.to_string()));
        add("explain", self.explain.map(|b| b.to_string()));
        pairs
    }

    /// The tags of `tags`, each trimmed (a blank one dropped). Refused as the
    /// schema says: more than 32 items, an empty one (`a,,b`), one over 128
    /// characters or with a control character.
    pub fn tag_list(&self) -> Result<Vec<String>, String> {
        use ggen_marketplace_core::search::{MAX_FILTER_LEN, MAX_TAGS};
        let Some(tags) = self.tags.as_deref().filter(|t| !t.is_empty()) else {
            return Ok(Vec::new());
        };
        let items: Vec<&str> = tags.split(',').collect();
        if items.len() > MAX_TAGS {
            return Err(format!(
                "`tags` has {} items; at most {MAX_TAGS} may be combined",
                items.len()
            ));
        }
        let mut out = Vec::new();
        for item in items {
            if item.is_empty() {
                return Err("`tags` has an empty item; separate tags with single commas".into());
            }
            if item.chars().count() > MAX_FILTER_LEN || item.chars().any(char::is_control) {
                return Err(format!(
                    "a tag in `tags` is over {MAX_FILTER_LEN} characters or has a control character: `{}`",
                    item.escape_debug()
                ));
            }
            let trimmed = item.trim();
            if !trimmed.is_empty() {
                out.push(trimmed.to_string());
            }
        }
        Ok(out)
    }
}

/// `GET /packages`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ListAnswer {
    /// Every package's latest version, by name.
    pub packages: Vec<PackageSummary>,
    /// The backend that answered.
    pub backend_used: BackendKind,
}

/// `GET /packages/{name}`: the package, and who answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PackageAnswer {
    /// The package with every version.
    #[serde(flatten)]
    pub package: Package,
    /// The backend that answered.
    pub backend_used: BackendKind,
}

/// `GET /packages/{name}/versions`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VersionsAnswer {
    /// Published versions, ascending.
    pub versions: Vec<PackageVersion>,
    /// The backend that answered.
    pub backend_used: BackendKind,
}

/// Standard, padded, canonical base64 (the unused bits of a final group are
/// zero), which is what the server's decoder accepts.
pub const BASE64_PATTERN: &str =
    "^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/][AQgw]==|[A-Za-z0-9+/]{2}[AEIMQUYcgkosw048]=)?$";

/// `POST /packages`: an upload. The metadata is read from the manifest inside
/// the archive, never from the request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PublishRequest {
    /// The package archive (`.tar.gz`), base64 (standard alphabet, padded).
    #[cfg_attr(feature = "openapi", schema(value_type = openapi::Base64))]
    pub archive: String,
    /// Its signature record, as `ggen marketplace sign` makes it.
    pub signature: Option<Signature>,
}

/// What a publish answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PublishAnswer {
    /// The published package.
    pub name: String,
    /// The published version.
    #[cfg_attr(feature = "openapi", schema(value_type = ggen_marketplace_core::openapi::SemVer))]
    pub version: Version,
    /// SHA-256 of the archive, lowercase hex.
    pub sha256: String,
    /// Archive size in bytes.
    pub size: u64,
    /// Whether it carries a signature.
    pub signed: bool,
    /// What the manifest's reader noticed but did not refuse.
    pub warnings: Vec<String>,
    /// The backend that took the write first.
    pub backend_used: BackendKind,
}

/// What a yank or unyank answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct YankAnswer {
    /// The package.
    pub name: String,
    /// The version.
    #[cfg_attr(feature = "openapi", schema(value_type = ggen_marketplace_core::openapi::SemVer))]
    pub version: Version,
    /// Whether it is yanked now.
    pub yanked: bool,
    /// The backend that took the write first.
    pub backend_used: BackendKind,
}

/// `POST /packages/{name}/keys`: a new signing key endorsed by a current one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KeyRotationRequest {
    /// The endorsement, made by `ggen marketplace key rotate`.
    pub rotation: KeyRotation,
}

/// What a key rotation answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KeyRotationAnswer {
    /// The package.
    pub name: String,
    /// Its signing keys now (raw public keys, hex).
    pub keys: Vec<String>,
}

/// Every error answer: `{"error": {...}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorFields,
}

/// The fields of an error answer. `code` is stable, for programs; `message`
/// and `hint` are for people; the rest name what the error is about.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorFields {
    /// One of [`codes`].
    pub code: String,
    /// What went wrong, in a sentence.
    pub message: String,
    /// What to do about it.
    pub hint: Option<String>,
    /// The package the error is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The version the error is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The requirement nothing matched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requirement: Option<String>,
    /// The published name a refused one is confusable with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub existing: Option<String>,
}

/// The stable error codes, with the status each comes with.
pub mod codes {
    /// 400: a malformed request.
    pub const BAD_REQUEST: &str = "bad_request";
    /// 400: not a valid package name.
    pub const INVALID_NAME: &str = "invalid_name";
    /// 400: not a semver version.
    pub const INVALID_VERSION: &str = "invalid_version";
    /// 400: a search outside the bounds.
    pub const INVALID_QUERY: &str = "invalid_query";
    /// 401: no token, or not a valid one.
    pub const UNAUTHORIZED: &str = "unauthorized";
    /// 403: the token may not do this.
    pub const FORBIDDEN: &str = "forbidden";
    /// 404: no such package (or route).
    pub const NOT_FOUND: &str = "not_found";
    /// 404: no version matches.
    pub const VERSION_NOT_FOUND: &str = "version_not_found";
    /// 404: the version is not signed.
    pub const NOT_SIGNED: &str = "not_signed";
    /// 404: the registry lost the archive.
    pub const ARCHIVE_MISSING: &str = "archive_missing";
    /// 409: the version exists; versions are immutable.
    pub const ALREADY_PUBLISHED: &str = "already_published";
    /// 409: too similar to a published name.
    pub const CONFUSABLE_NAME: &str = "confusable_name";
    /// 413: the body is over the limit.
    pub const TOO_LARGE: &str = "too_large";
    /// 415: the body is not JSON.
    pub const UNSUPPORTED_MEDIA_TYPE: &str = "unsupported_media_type";
    /// 422: the archive is refused.
    pub const INVALID_ARCHIVE: &str = "invalid_archive";
    /// 422: the manifest is refused.
    pub const INVALID_MANIFEST: &str = "invalid_manifest";
    /// 422: the signature is refused.
    pub const INVALID_SIGNATURE: &str = "invalid_signature";
    /// 422: refused by the registry's policy.
    pub const REFUSED: &str = "refused";
    /// 429: over a rate limit; see `Retry-After`.
    pub const RATE_LIMITED: &str = "rate_limited";
    /// 500: a fault of the server.
    pub const INTERNAL: &str = "internal";
    /// 503: a backend is down.
    pub const UNAVAILABLE: &str = "unavailable";
    /// 503: as much of this is running as the server allows; see `Retry-After`.
    pub const BUSY: &str = "busy";
    /// 408: the request took too long.
    pub const TIMEOUT: &str = "timeout";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_encode_every_segment() {
        assert_eq!(paths::package("rust-cli"), "/api/v1/packages/rust-cli");
        assert_eq!(paths::package("../x"), "/api/v1/packages/..%2Fx");
        let v: Version = "1.0.0-beta+b".parse().unwrap();
        assert_eq!(
            paths::download("a", &v),
            "/api/v1/packages/a/1.0.0-beta+b/download"
        );
        assert_eq!(
            paths::yank("a", &v, false),
            "/api/v1/packages/a/1.0.0-beta+b/unyank"
        );
    }

    #[test]
    fn a_package_answer_is_the_package_plus_backend_used() {
        let p = Package {
            name: "a".into(),
            downloads: 1,
            stars: 0,
            versions: vec![PackageVersion::new("a", "1.0.0".parse().unwrap())],
        };
        let text = serde_json::to_string(&PackageAnswer {
            package: p.clone(),
            backend_used: BackendKind::V2,
        })
        .unwrap();
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(json["name"], "a");
        assert_eq!(json["backend_used"], "v2");
        let back: PackageAnswer = serde_json::from_str(&text).unwrap();
        assert_eq!(back.package, p);
    }
}
