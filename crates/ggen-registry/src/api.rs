//! `/api/v1`: the REST API, and the operations endpoints (`/healthz`, `/readyz`,
//! `/metrics`). Routes and the OpenAPI document come from the same
//! `#[utoipa::path]` annotations, so they cannot drift apart.

use std::net::IpAddr;

use axum::Json;
use axum::extract::{Extension, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine;
use chrono::Utc;
use ggen_marketplace::core::model::Signature;
use ggen_marketplace::core::{BackendKind, MarketplaceBackend, SearchQuery};
use ggen_marketplace::{Operation, publish};
use semver::Version;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::io::Read;
use utoipa::{IntoParams, OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use ggen_marketplace::access::{Scope, TokenRecord, Writer};

use crate::AppState;
use crate::client::ClientAddr;
use crate::error::ApiError;

/// The header a client may send to keep its A/B bucket across addresses.
pub const CLIENT_ID_HEADER: &str = "x-ggen-client-id";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "ggen registry",
        description = "Search, inspect, download and publish ggen template packages."
    ),
    tags((name = "packages", description = "Package metadata and archives"))
)]
struct ApiDoc;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(search))
        .routes(routes!(list_packages, publish_package))
        .routes(routes!(package_info))
        .routes(routes!(package_versions))
        .routes(routes!(download))
        .routes(routes!(signature))
        .routes(routes!(statement))
        .routes(routes!(yank))
        .routes(routes!(unyank))
}

/// `/healthz`, `/readyz`, and `/metrics` unless it has a listener of its own.
pub fn ops_router(with_metrics: bool) -> axum::Router<AppState> {
    let router = axum::Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz));
    if with_metrics {
        router.route("/metrics", get(metrics))
    } else {
        router
    }
}

/// The metrics listener (`--metrics-addr`): `/metrics` and `/healthz`, open,
/// since only the network it is bound to reaches it.
pub fn metrics_router(state: AppState) -> axum::Router {
    axum::Router::new()
        .route("/metrics", get(metrics_open))
        .route("/healthz", get(healthz))
        .with_state(state)
}

pub async fn not_found() -> ApiError {
    ApiError::not_found("no such route").hint("the API lives under /api/v1; see /api/openapi.json")
}

/// Runs backend work on the blocking pool.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::internal(format!("worker failed: {e}")))?
}

/// The shape every read shares: check access, route by the request's A/B
/// subject, and run `f` on the routed backend on the blocking pool.
async fn read<T: Send + 'static>(
    state: AppState,
    headers: &HeaderMap,
    peer: IpAddr,
    op: Operation,
    f: impl FnOnce(&dyn MarketplaceBackend) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    authorize_read(&state, headers)?;
    let subject = subject(headers, peer);
    blocking(move || f(state.mp.backend_for_subject(op, &subject)?.as_ref())).await
}

/// The A/B subject of a request: its client id header, else its address.
pub(crate) fn subject(headers: &HeaderMap, peer: IpAddr) -> String {
    headers
        .get(CLIENT_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128)
        .map(str::to_string)
        .unwrap_or_else(|| peer.to_string())
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// The token of a request that needs `scope`, or the 401/403 to answer.
fn authorize(state: &AppState, headers: &HeaderMap, scope: Scope) -> Result<TokenRecord, ApiError> {
    let presented = bearer(headers).ok_or_else(|| {
        ApiError::unauthorized(format!(
            "this request needs a token with the `{scope}` scope"
        ))
    })?;
    let record = state
        .tokens
        .authenticate(presented)
        .map_err(|e| ApiError::internal(e.to_string()))?
        .ok_or_else(|| ApiError::unauthorized("the token is not valid (unknown or revoked)"))?;
    if !record.allows(scope, None, Utc::now()) {
        return Err(ApiError::forbidden(format!(
            "token {} lacks the `{scope}` scope or has expired",
            record.id
        )));
    }
    Ok(record)
}

fn authorize_read(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    if state.options.auth_required {
        authorize(state, headers, Scope::Read)?;
    }
    Ok(())
}

fn valid_name(name: &str) -> Result<(), ApiError> {
    ggen_marketplace::core::name::validate_name(name)?;
    Ok(())
}

fn parse_version(v: &str) -> Result<Version, ApiError> {
    Version::parse(v).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_version",
            format!("`{}` is not a semver version: {e}", v.escape_debug()),
        )
    })
}

/// Adds `backend_used` to a JSON object answer.
fn with_backend(value: impl Serialize, backend: BackendKind) -> Result<Value, ApiError> {
    let mut v = serde_json::to_value(value).map_err(|e| ApiError::internal(e.to_string()))?;
    if let Some(obj) = v.as_object_mut() {
        obj.insert("backend_used".into(), backend.as_str().into());
    }
    Ok(v)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// Free text: names, descriptions, tags, keywords; typos are forgiven.
    q: Option<String>,
    /// Only this category (case-insensitive).
    category: Option<String>,
    /// Only packages with all these tags, comma-separated.
    tags: Option<String>,
    /// relevance (default), downloads, name or recent.
    sort: Option<String>,
    /// At most this many hits (default 20, at most 100).
    limit: Option<usize>,
    offset: Option<usize>,
}

/// Search packages.
#[utoipa::path(get, path = "/api/v1/search", tag = "packages", params(SearchParams),
    responses((status = 200, description = "Hits, total and the backend that answered"),
              (status = 400, description = "Bad query")))]
async fn search(
    State(state): State<AppState>,
    Extension(ClientAddr(peer)): Extension<ClientAddr>,
    headers: HeaderMap,
    params: Result<Query<SearchParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    authorize_read(&state, &headers)?;
    let Query(p) = params.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let query = SearchQuery {
        text: p.q.unwrap_or_default(),
        category: p.category,
        tags: p
            .tags
            .map(|t| {
                t.split(',')
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default(),
        sort: match p.sort {
            Some(s) => s.parse().map_err(ApiError::bad_request)?,
            None => Default::default(),
        },
        limit: p
            .limit
            .unwrap_or(ggen_marketplace::core::search::DEFAULT_LIMIT)
            .min(100),
        offset: p.offset.unwrap_or(0),
    };
    query.validate()?;
    let subject = subject(&headers, peer);
    blocking(move || {
        let (r, cache, _) = state.mp.search_for_subject(&query, &subject)?;
        let body = serde_json::to_value(&r).map_err(|e| ApiError::internal(e.to_string()))?;
        Ok(([("x-ggen-cache", cache.as_str())], Json(body)).into_response())
    })
    .await
}

/// Every package's latest version, by name.
#[utoipa::path(get, path = "/api/v1/packages", tag = "packages",
    responses((status = 200, description = "`{packages: [...], backend_used}`")))]
async fn list_packages(
    State(state): State<AppState>,
    Extension(ClientAddr(peer)): Extension<ClientAddr>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let permit = state.expensive_permit()?;
    read(state, &headers, peer, Operation::List, move |backend| {
        let _permit = permit;
        let packages = backend.list()?;
        Ok(Json(
            json!({"packages": packages, "backend_used": backend.last_used().as_str()}),
        ))
    })
    .await
}

/// A package with every version.
#[utoipa::path(get, path = "/api/v1/packages/{name}", tag = "packages",
    params(("name" = String, Path, description = "Package name")),
    responses((status = 200, description = "The package"), (status = 404, description = "No such package")))]
async fn package_info(
    State(state): State<AppState>,
    Extension(ClientAddr(peer)): Extension<ClientAddr>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    valid_name(&name)?;
    read(state, &headers, peer, Operation::Info, move |backend| {
        let pkg = backend.package(&name)?;
        Ok(Json(with_backend(pkg, backend.last_used())?))
    })
    .await
}

/// Published versions, ascending.
#[utoipa::path(get, path = "/api/v1/packages/{name}/versions", tag = "packages",
    params(("name" = String, Path, description = "Package name")),
    responses((status = 200, description = "`{versions: [...], backend_used}`"), (status = 404, description = "No such package")))]
async fn package_versions(
    State(state): State<AppState>,
    Extension(ClientAddr(peer)): Extension<ClientAddr>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    valid_name(&name)?;
    read(state, &headers, peer, Operation::Info, move |backend| {
        let versions = backend.versions(&name)?;
        Ok(Json(
            json!({"versions": versions, "backend_used": backend.last_used().as_str()}),
        ))
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
    params(("name" = String, Path, description = "Package name"), ("version" = String, Path, description = "Exact version")),
    responses((status = 200, description = "The archive", content_type = "application/gzip"),
              (status = 304, description = "Unchanged (If-None-Match)"),
              (status = 404, description = "No such package or version")))]
async fn download(
    State(state): State<AppState>,
    Extension(ClientAddr(peer)): Extension<ClientAddr>,
    headers: HeaderMap,
    Path((name, version)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    valid_name(&name)?;
    let version = parse_version(&version)?;
    let if_none_match = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    read(state, &headers, peer, Operation::Install, move |backend| {
        let meta = find_version(backend, &name, &version)?;
        let etag = meta.checksum.as_ref().map(|c| format!("\"{c}\""));
        if let (Some(etag), Some(inm)) = (&etag, &if_none_match)
            && inm.split(',').any(|t| t.trim() == etag || t.trim() == "*")
        {
            return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, etag.clone())]).into_response());
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
            "x-ggen-backend-used",
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
    state: AppState,
    headers: &HeaderMap,
    peer: IpAddr,
    name: String,
    version: String,
) -> Result<Signature, ApiError> {
    valid_name(&name)?;
    let version = parse_version(&version)?;
    read(state, headers, peer, Operation::Info, move |backend| {
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
                "not_signed",
                format!("`{name}@{version}` is not signed"),
            )
        })
}

/// The raw 64-byte Ed25519 signature (`openssl pkeyutl -verify -sigfile`).
#[utoipa::path(get, path = "/api/v1/packages/{name}/{version}/signature", tag = "packages",
    params(("name" = String, Path, description = "Package name"), ("version" = String, Path, description = "Exact version")),
    responses((status = 200, description = "64 bytes", content_type = "application/octet-stream"),
              (status = 404, description = "Not found or not signed")))]
async fn signature(
    State(state): State<AppState>,
    Extension(ClientAddr(peer)): Extension<ClientAddr>,
    headers: HeaderMap,
    Path((name, version)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let sig = signature_of(state, &headers, peer, name, version).await?;
    let raw = hex::decode(&sig.signature)
        .map_err(|e| ApiError::internal(format!("stored signature is not hex: {e}")))?;
    Ok(([(header::CONTENT_TYPE, "application/octet-stream")], raw).into_response())
}

/// The exact bytes that were signed.
#[utoipa::path(get, path = "/api/v1/packages/{name}/{version}/statement", tag = "packages",
    params(("name" = String, Path, description = "Package name"), ("version" = String, Path, description = "Exact version")),
    responses((status = 200, description = "The signed statement", content_type = "text/plain"),
              (status = 404, description = "Not found or not signed")))]
async fn statement(
    State(state): State<AppState>,
    Extension(ClientAddr(peer)): Extension<ClientAddr>,
    headers: HeaderMap,
    Path((name, version)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let sig = signature_of(state, &headers, peer, name, version).await?;
    Ok((
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        sig.statement,
    )
        .into_response())
}

/// An upload: the `.tar.gz` (base64) and, optionally, its signature record.
/// The metadata is read from the manifest inside the archive.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct PublishBody {
    /// The package archive, base64 (standard alphabet, padded).
    pub archive: String,
    /// `{algorithm, key_id, public_key, signature, statement}` as `ggen marketplace sign` makes it.
    #[schema(value_type = Option<Object>)]
    pub signature: Option<Signature>,
}

/// Publish a package version (token scope `publish`).
#[utoipa::path(post, path = "/api/v1/packages", tag = "packages", request_body = PublishBody,
    security(("bearer" = [])),
    responses((status = 201, description = "Published"),
              (status = 401, description = "No or unknown token"), (status = 403, description = "Token not allowed"),
              (status = 409, description = "Version already published"), (status = 413, description = "Body too large"),
              (status = 415, description = "Not JSON"), (status = 422, description = "Invalid archive, manifest or signature"),
              (status = 429, description = "Rate limited")))]
async fn publish_package(
    State(state): State<AppState>,
    Extension(ClientAddr(peer)): Extension<ClientAddr>,
    request: axum::extract::Request,
) -> Result<Response, ApiError> {
    // The token is checked before the body is read: an anonymous client cannot
    // make the server receive tens of megabytes.
    let headers = request.headers().clone();
    let token = authorize(&state, &headers, Scope::Publish)?;
    let permit = state.expensive_permit()?;
    // A declared length over the limit is refused at once, without reading any
    // of the body (the extractor's own limit would read up to it first).
    let declared = headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if let Some(n) = declared.filter(|&n| n > state.options.max_body_bytes) {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!(
                "the request body is {n} bytes; this server accepts at most {}",
                state.options.max_body_bytes
            ),
        ));
    }
    let body =
        <Json<PublishBody> as axum::extract::FromRequest<AppState>>::from_request(request, &state)
            .await;
    let Json(body) = body.map_err(|e| {
        let code = match e.status() {
            StatusCode::PAYLOAD_TOO_LARGE => "too_large",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
            _ => "bad_request",
        };
        ApiError::new(e.status(), code, e.body_text())
    })?;
    let archive = base64::engine::general_purpose::STANDARD
        .decode(body.archive.as_bytes())
        .map_err(|e| ApiError::bad_request(format!("`archive` is not base64: {e}")))?;
    let subject = subject(&headers, peer);
    blocking(move || {
        let _permit = permit;
        let prepared = publish::prepare_upload(archive, body.signature)?;
        let name = prepared.release.name.clone();
        if !token.allows(Scope::Publish, Some(&name), Utc::now()) {
            return Err(ApiError::forbidden(format!(
                "token {} may publish `{}` only, not `{name}`",
                token.id, token.packages
            )));
        }
        state.limits.check_token(&token.id)?;
        let backend = state.mp.backend_for_subject(Operation::Publish, &subject)?;
        // The same policy as a local publish, with the token's owner as writer.
        let policy = state.mp.publish_policy(Writer::Owner(token.owner()));
        publish::publish(backend.as_ref(), &prepared, &policy, false)?;
        let r = &prepared.release;
        tracing::info!(package = %r.id(), token = %token.id, "published");
        Ok((
            StatusCode::CREATED,
            Json(json!({
                "name": r.name,
                "version": r.version.to_string(),
                "checksum": r.checksum,
                "size": r.size,
                "signed": r.signature.is_some(),
                "warnings": prepared.manifest.warnings,
                "backend_used": backend.last_used().as_str(),
            })),
        )
            .into_response())
    })
    .await
}

async fn set_yanked(
    state: AppState,
    peer: IpAddr,
    headers: HeaderMap,
    name: String,
    version: String,
    yanked: bool,
) -> Result<Json<Value>, ApiError> {
    let token = authorize(&state, &headers, Scope::Yank)?;
    valid_name(&name)?;
    let version = parse_version(&version)?;
    if !token.allows(Scope::Yank, Some(&name), Utc::now()) {
        return Err(ApiError::forbidden(format!(
            "token {} may yank `{}` only, not `{name}`",
            token.id, token.packages
        )));
    }
    state.limits.check_token(&token.id)?;
    let subject = subject(&headers, peer);
    blocking(move || {
        ggen_marketplace::access::authorize_yank(
            &ggen_marketplace::access::Owners::new(&state.mp.paths.registry),
            &Writer::Owner(token.owner()),
            &name,
        )?;
        let backend = state.mp.backend_for_subject(Operation::Publish, &subject)?;
        backend.yank(&name, &version, yanked)?;
        Ok(Json(json!({
            "name": name, "version": version.to_string(), "yanked": yanked,
            "backend_used": backend.last_used().as_str(),
        })))
    })
    .await
}

/// Yank a version: new resolutions skip it; lockfiles still install it (scope `yank`).
#[utoipa::path(post, path = "/api/v1/packages/{name}/{version}/yank", tag = "packages",
    params(("name" = String, Path, description = "Package name"), ("version" = String, Path, description = "Exact version")),
    security(("bearer" = [])),
    responses((status = 200, description = "Yanked"), (status = 401, description = "No or unknown token"),
              (status = 403, description = "Token not allowed"), (status = 404, description = "No such version")))]
async fn yank(
    State(state): State<AppState>,
    Extension(ClientAddr(peer)): Extension<ClientAddr>,
    headers: HeaderMap,
    Path((name, version)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    set_yanked(state, peer, headers, name, version, true).await
}

/// Undo a yank (scope `yank`).
#[utoipa::path(post, path = "/api/v1/packages/{name}/{version}/unyank", tag = "packages",
    params(("name" = String, Path, description = "Package name"), ("version" = String, Path, description = "Exact version")),
    security(("bearer" = [])),
    responses((status = 200, description = "Yank undone"), (status = 401, description = "No or unknown token"),
              (status = 403, description = "Token not allowed"), (status = 404, description = "No such version")))]
async fn unyank(
    State(state): State<AppState>,
    Extension(ClientAddr(peer)): Extension<ClientAddr>,
    headers: HeaderMap,
    Path((name, version)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    set_yanked(state, peer, headers, name, version, false).await
}

// ---- operations ----------------------------------------------------------------

async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// Every compiled backend answers a cheap call within 2 s. 200 when all do
/// (`status: ok`) or some do (`status: degraded`, naming the failing ones,
/// since fallback still serves); 503 when none does.
/// Asks every compiled backend for its metadata (2 s each at most), records
/// `marketplace_backend_up`, and describes each for `/readyz`.
async fn check_backends(state: &AppState) -> Vec<(BackendKind, bool, Value)> {
    let mut out = Vec::new();
    let compiled = ggen_marketplace::config::Compiled::this_build();
    for (kind, present) in [
        (BackendKind::V1, compiled.v1),
        (BackendKind::V2, compiled.v2),
    ] {
        if !present {
            continue;
        }
        let st = state.clone();
        let check = tokio::time::timeout(
            std::time::Duration::from_secs(2),
            blocking(move || Ok(st.mp.single(kind)?.metadata()?)),
        )
        .await;
        let breaker = serde_json::to_value(state.mp.breaker(kind).state()).unwrap_or_default();
        let (ok, entry) = match check {
            Ok(Ok(meta)) => (
                true,
                json!({"ready": true, "packages": meta.package_count, "circuit": breaker}),
            ),
            Ok(Err(e)) => (
                false,
                json!({"ready": false, "error": e.message, "circuit": breaker}),
            ),
            Err(_) => (
                false,
                json!({"ready": false, "error": "no answer within 2 s", "circuit": breaker}),
            ),
        };
        metrics::gauge!(ggen_marketplace::metrics::BACKEND_UP, "backend" => kind.as_str())
            .set(if ok { 1.0 } else { 0.0 });
        out.push((kind, ok, entry));
    }
    out
}

async fn readyz(State(state): State<AppState>) -> Response {
    let mut backends = serde_json::Map::new();
    let checks = check_backends(&state).await;
    let total = checks.len();
    let up = checks.iter().filter(|c| c.1).count();
    for (kind, _, entry) in checks {
        backends.insert(kind.as_str().into(), entry);
    }
    let (status, word) = match up {
        0 => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
        n if n == total => (StatusCode::OK, "ok"),
        _ => (StatusCode::OK, "degraded"),
    };
    (status, Json(json!({"status": word, "backends": backends}))).into_response()
}

/// `/metrics` on the main listener: with `--auth-required` it needs a token
/// like every other read (metrics name packages and show traffic).
async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Err(e) = authorize_read(&state, &headers) {
        return e.into_response();
    }
    metrics_open(State(state)).await
}

async fn metrics_open(State(state): State<AppState>) -> Response {
    let Some(handle) = state.metrics.clone() else {
        return ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "metrics are not enabled in this process",
        )
        .into_response();
    };
    // Backend health and catalogue gauges are read at scrape time.
    check_backends(&state).await;
    let st = state.clone();
    let _ = blocking(move || {
        let list = st.mp.backend_for(Operation::List)?.list()?;
        let signed = list.iter().filter(|p| p.signed).count();
        metrics::gauge!(ggen_marketplace::metrics::TOTAL_PACKAGES).set(list.len() as f64);
        metrics::gauge!(ggen_marketplace::metrics::SIGNED_PACKAGES).set(signed as f64);
        Ok(())
    })
    .await;
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        handle.render(),
    )
        .into_response()
}
