//! The read routes: every one routed like the CLI's reads, by the request's
//! A/B subject, on the blocking pool.

use std::io::Read;

use axum::Json;
use axum::extract::{Path, Query};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ggen_marketplace::Operation;
use ggen_marketplace::core::model::Signature;
use ggen_marketplace::core::openapi::{PackageName, SemVer};
use ggen_marketplace::core::{MarketplaceBackend, SearchQuery, SearchResults};
use ggen_registry_api::{ListAnswer, PackageAnswer, SearchParams, VersionsAnswer, codes, headers};
use semver::Version;

use super::{Caller, authorize_read, blocking, parse_version, valid_name};
use crate::error::ApiError;

/// Search packages.
#[utoipa::path(get, path = "/api/v1/search", tag = "packages", params(SearchParams),
    responses((status = 200, description = "Hits, total and the backend that answered", body = SearchResults,
               headers(("x-ggen-cache" = String, description = "HIT, MISS or BYPASS of the server's search cache"))),
              (status = 400, description = "A parameter outside its bounds")))]
pub(super) async fn search(
    caller: Caller,
    params: Result<Query<SearchParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    authorize_read(&caller.state, &caller.headers)?;
    let Query(p) = params.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let mut query = SearchQuery {
        tags: p.tag_list().map_err(ApiError::bad_request)?,
        text: p.q.unwrap_or_default(),
        category: p.category,
        sort: p.sort.unwrap_or_default(),
        limit: p
            .limit
            .unwrap_or(ggen_marketplace::core::search::DEFAULT_LIMIT),
        offset: p.offset.unwrap_or(0),
        explain: p.explain.unwrap_or(false),
    };
    // The bounds are checked as asked (so the schema's are exact), then the
    // page is held to what one answer carries.
    query.validate()?;
    query.limit = query.limit.min(ggen_registry_api::PAGE_LIMIT);
    let subject = caller.subject();
    let state = caller.state;
    blocking(move || {
        let (r, cache, _) = state.mp.search_for_subject(&query, &subject)?;
        let body = serde_json::to_value(&r).map_err(|e| ApiError::internal(e.to_string()))?;
        Ok(([(headers::CACHE, cache.as_str())], Json(body)).into_response())
    })
    .await
}

/// Every package's latest version, by name.
#[utoipa::path(get, path = "/api/v1/packages", tag = "packages",
    responses((status = 200, description = "Every package's latest version", body = ListAnswer)))]
pub(super) async fn list_packages(caller: Caller) -> Result<Json<ListAnswer>, ApiError> {
    let permit = caller.state.expensive_permit()?;
    caller
        .read(Operation::List, move |backend| {
            let _permit = permit;
            Ok(Json(ListAnswer {
                packages: backend.list()?,
                backend_used: backend.last_used(),
            }))
        })
        .await
}

/// A package with every version.
#[utoipa::path(get, path = "/api/v1/packages/{name}", tag = "packages",
    params(("name" = PackageName, Path, description = "Package name")),
    responses((status = 200, description = "The package", body = PackageAnswer),
              (status = 400, description = "Not a valid package name"),
              (status = 404, description = "No such package")))]
pub(super) async fn package_info(
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<PackageAnswer>, ApiError> {
    valid_name(&name)?;
    caller
        .read(Operation::Info, move |backend| {
            Ok(Json(PackageAnswer {
                package: backend.package(&name)?,
                backend_used: backend.last_used(),
            }))
        })
        .await
}

/// Published versions, ascending.
#[utoipa::path(get, path = "/api/v1/packages/{name}/versions", tag = "packages",
    params(("name" = PackageName, Path, description = "Package name")),
    responses((status = 200, description = "Every published version", body = VersionsAnswer),
              (status = 400, description = "Not a valid package name"),
              (status = 404, description = "No such package")))]
pub(super) async fn package_versions(
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<VersionsAnswer>, ApiError> {
    valid_name(&name)?;
    caller
        .read(Operation::Info, move |backend| {
            Ok(Json(VersionsAnswer {
                versions: backend.versions(&name)?,
                backend_used: backend.last_used(),
            }))
        })
        .await
}

/// One version's metadata, through the install route (downloads are installs).
fn find_version(
    backend: &dyn MarketplaceBackend,
    name: &str,
    version: &Version,
) -> Result<ggen_marketplace::core::PackageVersion, ApiError> {
    backend
        .versions(name)?
        .into_iter()
        .find(|v| &v.version == version)
        .ok_or_else(|| {
            ggen_marketplace::core::MarketplaceError::VersionNotFound {
                name: name.to_string(),
                requirement: format!("={version}"),
            }
            .into()
        })
}

/// The `.tar.gz` archive, exactly as published. Sends `ETag` (the SHA-256) and
/// answers `If-None-Match` with 304.
#[utoipa::path(get, path = "/api/v1/packages/{name}/{version}/download", tag = "packages",
    params(("name" = PackageName, Path, description = "Package name"), ("version" = SemVer, Path, description = "Exact version")),
    responses((status = 200, description = "The archive", content_type = "application/gzip", body = Vec<u8>,
               headers(("etag" = String, description = "The archive's SHA-256, quoted"),
                       ("x-ggen-backend-used" = String, description = "v1 or v2"))),
              (status = 304, description = "Unchanged (If-None-Match)", headers(("etag" = String, description = "The archive's SHA-256, quoted"))),
              (status = 400, description = "Not a valid package name or version"),
              (status = 404, description = "No such package or version, or the registry lost its archive")))]
pub(super) async fn download(
    caller: Caller,
    Path((name, version)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    valid_name(&name)?;
    let version = parse_version(&version)?;
    let if_none_match = caller
        .headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    caller
        .read(Operation::Install, move |backend| {
            let meta = find_version(backend, &name, &version)?;
            let etag = meta.checksum.as_ref().map(|c| format!("\"{c}\""));
            if let (Some(etag), Some(inm)) = (&etag, &if_none_match)
                && inm.split(',').any(|t| t.trim() == etag || t.trim() == "*")
            {
                return Ok(
                    (StatusCode::NOT_MODIFIED, [(header::ETAG, etag.clone())]).into_response()
                );
            }
            let stream = backend.open_archive(&name, &version)?;
            let mut resp = (
                [
                    (header::CONTENT_TYPE, "application/gzip".to_string()),
                    (
                        header::CONTENT_DISPOSITION,
                        format!("attachment; filename=\"{name}-{version}.tar.gz\""),
                    ),
                ],
                stream_body(stream),
            )
                .into_response();
            if let Some(len) = meta
                .size
                .and_then(|n| HeaderValue::from_str(&n.to_string()).ok())
            {
                resp.headers_mut().insert(header::CONTENT_LENGTH, len);
            }
            if let Some(etag) = etag.and_then(|e| HeaderValue::from_str(&e).ok()) {
                resp.headers_mut().insert(header::ETAG, etag);
            }
            resp.headers_mut().insert(
                headers::BACKEND_USED,
                HeaderValue::from_static(backend.last_used().as_str()),
            );
            Ok(resp)
        })
        .await
}

/// Chunks read from a blocking reader on the blocking pool, sent as a body:
/// a download holds two chunks in memory, not the archive. A read error (a
/// checksum that fails at the end, a file that vanished) ends the body before
/// its announced length, so the client sees a broken transfer, never a wrong
/// archive.
fn stream_body(mut reader: ggen_marketplace::core::ArchiveStream) -> axum::body::Body {
    const CHUNK: usize = 64 * 1024;
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<axum::body::Bytes>>(4);
    tokio::task::spawn_blocking(move || {
        // One chunk is held back until the next read succeeds: the reader
        // checks the checksum on its last read, so the last chunk goes out
        // only once the whole archive is known to be intact.
        let mut held: Option<axum::body::Bytes> = None;
        loop {
            let mut buf = vec![0u8; CHUNK];
            match reader.read(&mut buf) {
                Ok(0) => {
                    if let Some(last) = held.take() {
                        let _ = tx.blocking_send(Ok(last));
                    }
                    break;
                }
                Ok(n) => {
                    buf.truncate(n);
                    if let Some(previous) = held.replace(axum::body::Bytes::from(buf))
                        && tx.blocking_send(Ok(previous)).is_err()
                    {
                        break; // the client went away
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "download cut short");
                    let _ = tx.blocking_send(Err(e));
                    break;
                }
            }
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    axum::body::Body::from_stream(stream)
}

/// The signature record of one version, or a 404 saying it is unsigned.
async fn signature_of(
    caller: Caller,
    name: String,
    version: String,
) -> Result<Signature, ApiError> {
    valid_name(&name)?;
    let version = parse_version(&version)?;
    caller
        .read(Operation::Info, move |backend| {
            signature_in(backend, &name, &version)
        })
        .await
}

fn signature_in(
    backend: &dyn MarketplaceBackend,
    name: &str,
    version: &Version,
) -> Result<Signature, ApiError> {
    find_version(backend, name, version)?
        .signature
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                codes::NOT_SIGNED,
                format!("`{name}@{version}` is not signed"),
            )
        })
}

/// The raw 64-byte Ed25519 signature (`openssl pkeyutl -verify -sigfile`).
#[utoipa::path(get, path = "/api/v1/packages/{name}/{version}/signature", tag = "packages",
    params(("name" = PackageName, Path, description = "Package name"), ("version" = SemVer, Path, description = "Exact version")),
    responses((status = 200, description = "64 bytes", content_type = "application/octet-stream", body = Vec<u8>),
              (status = 400, description = "Not a valid package name or version"),
              (status = 404, description = "Not found or not signed")))]
pub(super) async fn signature(
    caller: Caller,
    Path((name, version)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let sig = signature_of(caller, name, version).await?;
    let raw = hex::decode(&sig.signature)
        .map_err(|e| ApiError::internal(format!("stored signature is not hex: {e}")))?;
    Ok(([(header::CONTENT_TYPE, "application/octet-stream")], raw).into_response())
}

/// The exact bytes that were signed.
#[utoipa::path(get, path = "/api/v1/packages/{name}/{version}/statement", tag = "packages",
    params(("name" = PackageName, Path, description = "Package name"), ("version" = SemVer, Path, description = "Exact version")),
    responses((status = 200, description = "The signed statement", content_type = "text/plain", body = String),
              (status = 400, description = "Not a valid package name or version"),
              (status = 404, description = "Not found or not signed")))]
pub(super) async fn statement(
    caller: Caller,
    Path((name, version)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let sig = signature_of(caller, name, version).await?;
    Ok((
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        sig.statement,
    )
        .into_response())
}
