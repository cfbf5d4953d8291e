//! The write routes: publish, yank, unyank and key rotation, each for a
//! token's owner, held to the facade's one policy.

use axum::Json;
use axum::extract::{Extension, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use ggen_marketplace::{Scope, Writer};
use ggen_registry_api::{
    KeyRotationAnswer, KeyRotationRequest, PublishAnswer, PublishRequest, YankAnswer, codes,
};

use super::{Caller, authorize, blocking, parse_version, subject, valid_name};
use crate::AppState;
use crate::client::ClientAddr;
use crate::error::ApiError;
use ggen_marketplace::core::openapi::{PackageName, SemVer};

/// Publish a package version (token scope `publish`).
#[utoipa::path(post, path = "/api/v1/packages", tag = "packages", request_body = PublishRequest,
    security(("bearer" = [])),
    responses((status = 201, description = "Published", body = PublishAnswer),
              (status = 400, description = "Not JSON of this shape, or `archive` is not base64"),
              (status = 401, description = "No or unknown token"), (status = 403, description = "Token not allowed"),
              (status = 409, description = "Version already published, or a confusable name"), (status = 413, description = "Body too large"),
              (status = 415, description = "Not JSON"), (status = 422, description = "Invalid archive, manifest or signature, or refused by policy")))]
pub(super) async fn publish_package(
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
    let body = <Json<PublishRequest> as axum::extract::FromRequest<AppState>>::from_request(
        request, &state,
    )
    .await;
    let Json(body) = body.map_err(|e| json_rejected(e.status(), e.body_text()))?;
    let archive = base64::engine::general_purpose::STANDARD
        .decode(body.archive.as_bytes())
        .map_err(|e| ApiError::bad_request(format!("`archive` is not base64: {e}")))?;
    let subject = subject(&headers, peer);
    blocking(move || {
        let _permit = permit;
        state.limits.check_token(&token.id)?;
        // The same policy as a local publish, the token as writer (its
        // pattern is checked against the name inside the archive).
        let id = token.id.clone();
        let r = state
            .mp
            .publish_upload(archive, body.signature, Writer::Token(token), &subject)?;
        tracing::info!(package = %format!("{}@{}", r.name, r.version), token = %id, "published");
        Ok((
            StatusCode::CREATED,
            Json(PublishAnswer {
                name: r.name,
                version: r.version,
                sha256: r.sha256,
                size: r.size,
                signed: r.signed,
                warnings: r.warnings,
                backend_used: r.backend_used,
            }),
        )
            .into_response())
    })
    .await
}

/// A body the JSON extractor refused: too large (413), not JSON (415), or
/// not of the request's shape (axum answers 422 for that; it is a malformed
/// request like any other here, 400).
fn json_rejected(status: StatusCode, text: String) -> ApiError {
    match status {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(status, codes::TOO_LARGE, text),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            ApiError::new(status, codes::UNSUPPORTED_MEDIA_TYPE, text)
        }
        _ => ApiError::bad_request(text),
    }
}

async fn set_yanked(
    caller: Caller,
    name: String,
    version: String,
    yanked: bool,
) -> Result<Json<YankAnswer>, ApiError> {
    let token = authorize(&caller.state, &caller.headers, Scope::Yank)?;
    valid_name(&name)?;
    let version = parse_version(&version)?;
    caller.state.limits.check_token(&token.id)?;
    let subject = caller.subject();
    let state = caller.state;
    blocking(move || {
        let r = state
            .mp
            .yank_version(&name, &version, yanked, &Writer::Token(token), &subject)?;
        Ok(Json(YankAnswer {
            name: r.name,
            version: r.version,
            yanked: r.yanked,
            backend_used: r.backend_used,
        }))
    })
    .await
}

/// Yank a version: new resolutions skip it; lockfiles still install it (scope `yank`).
#[utoipa::path(post, path = "/api/v1/packages/{name}/{version}/yank", tag = "packages",
    params(("name" = PackageName, Path, description = "Package name"), ("version" = SemVer, Path, description = "Exact version")),
    security(("bearer" = [])),
    responses((status = 200, description = "Yanked", body = YankAnswer),
              (status = 400, description = "Not a valid package name or version"),
              (status = 401, description = "No or unknown token"),
              (status = 403, description = "Token not allowed"), (status = 404, description = "No such version"),
              (status = 422, description = "Refused by policy")))]
pub(super) async fn yank(
    caller: Caller,
    Path((name, version)): Path<(String, String)>,
) -> Result<Json<YankAnswer>, ApiError> {
    set_yanked(caller, name, version, true).await
}

/// Undo a yank (scope `yank`).
#[utoipa::path(post, path = "/api/v1/packages/{name}/{version}/unyank", tag = "packages",
    params(("name" = PackageName, Path, description = "Package name"), ("version" = SemVer, Path, description = "Exact version")),
    security(("bearer" = [])),
    responses((status = 200, description = "Yank undone", body = YankAnswer),
              (status = 400, description = "Not a valid package name or version"),
              (status = 401, description = "No or unknown token"),
              (status = 403, description = "Token not allowed"), (status = 404, description = "No such version"),
              (status = 422, description = "Refused by policy")))]
pub(super) async fn unyank(
    caller: Caller,
    Path((name, version)): Path<(String, String)>,
) -> Result<Json<YankAnswer>, ApiError> {
    set_yanked(caller, name, version, false).await
}

/// Endorse a new signing key for a package with a current one (scope
/// `publish`, an owner's token): the endorsing key is retired, the new one
/// signs from now on.
#[utoipa::path(post, path = "/api/v1/packages/{name}/keys", tag = "packages",
    params(("name" = PackageName, Path, description = "Package name")),
    request_body = KeyRotationRequest,
    security(("bearer" = [])),
    responses((status = 200, description = "The package's keys now", body = KeyRotationAnswer),
              (status = 400, description = "Not JSON of this shape"),
              (status = 401, description = "No or unknown token"),
              (status = 403, description = "Not an owner, or the endorsing key is not the package's"),
              (status = 404, description = "No such package"),
              (status = 413, description = "Body too large"), (status = 415, description = "Not JSON"),
              (status = 422, description = "The endorsement is for another package or does not verify")))]
pub(super) async fn rotate_key(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
    body: Result<Json<KeyRotationRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<KeyRotationAnswer>, ApiError> {
    let token = authorize(&state, &headers, Scope::Publish)?;
    valid_name(&name)?;
    let Json(body) = body.map_err(|e| json_rejected(e.status(), e.body_text()))?;
    if body.rotation.package != name {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            codes::INVALID_SIGNATURE,
            format!(
                "the endorsement is for `{}`, not `{name}`",
                body.rotation.package.escape_debug()
            ),
        ));
    }
    state.limits.check_token(&token.id)?;
    blocking(move || {
        state
            .mp
            .accept_rotation(&body.rotation, &Writer::Token(token))?;
        let keys = state.mp.signing_keys(&name)?;
        Ok(Json(KeyRotationAnswer { name, keys }))
    })
    .await
}
