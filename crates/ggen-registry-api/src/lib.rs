//! The registry's HTTP API as types: where each route lives, the headers both
//! sides read, and every request and answer body. The server (`ggen-registry`)
//! answers with these and the remote client (the facade's registry client)
//! reads them, as cargo's `crates-io` crate serves both cargo and crates.io,
//! so the two cannot drift apart. Everything is under [`PREFIX`].
#![warn(missing_docs)]

use ggen_marketplace_core::signing::KeyRotation;
use ggen_marketplace_core::{BackendKind, Package, PackageSummary, PackageVersion, Signature};
use semver::Version;
use serde::{Deserialize, Serialize};

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

/// The query string of a search.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct SearchParams {
    /// Free text: names, descriptions, tags, keywords; typos are forgiven.
    pub q: Option<String>,
    /// Only this category (case-insensitive).
    pub category: Option<String>,
    /// Only packages with all these tags, comma-separated.
    pub tags: Option<String>,
    /// relevance (default), downloads, name or recent.
    pub sort: Option<String>,
    /// At most this many hits (default 20, at most 100).
    pub limit: Option<usize>,
    /// Hits to skip (at most 10,000).
    pub offset: Option<usize>,
}

/// `GET /packages`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListAnswer {
    /// Every package's latest version, by name.
    pub packages: Vec<PackageSummary>,
    /// The backend that answered.
    pub backend_used: BackendKind,
}

/// `GET /packages/{name}`: the package, and who answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PackageAnswer {
    /// The package with every version.
    #[serde(flatten)]
    pub package: Package,
    /// The backend that answered.
    pub backend_used: BackendKind,
}

/// `GET /packages/{name}/versions`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionsAnswer {
    /// Published versions, ascending.
    pub versions: Vec<PackageVersion>,
    /// The backend that answered.
    pub backend_used: BackendKind,
}

/// `POST /packages`: an upload. The metadata is read from the manifest inside
/// the archive, never from the request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PublishRequest {
    /// The package archive, base64 (standard alphabet, padded).
    pub archive: String,
    /// Its signature record (`{algorithm, key_id, public_key, signature,
    /// statement}`), as `ggen marketplace sign` makes it.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub signature: Option<Signature>,
}

/// What a publish answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishAnswer {
    /// The published package.
    pub name: String,
    /// The published version.
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
pub struct YankAnswer {
    /// The package.
    pub name: String,
    /// The version.
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
    /// The endorsement (`{package, new_key, old_key, signed_at, signature}`),
    /// made by `ggen marketplace key rotate`.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub rotation: KeyRotation,
}

/// What a key rotation answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRotationAnswer {
    /// The package.
    pub name: String,
    /// Its signing keys now (raw public keys, hex).
    pub keys: Vec<String>,
}

/// Every error answer: `{"error": {...}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorFields,
}

/// The fields of an error answer. `code` is stable, for programs; `message`
/// and `hint` are for people; the rest name what the error is about.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
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
