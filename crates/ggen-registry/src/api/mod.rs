//! `/api/v1`: the REST API, and the operations endpoints (`/healthz`, `/readyz`,
//! `/metrics`). Routes and the OpenAPI document come from the same
//! `#[utoipa::path]` annotations, so they cannot drift apart; request and
//! answer bodies are `ggen-registry-api`'s types, the ones the remote client
//! reads.
//!
//! | module | routes |
//! |---|---|
//! | `read` | search, list, info, versions, download, signature, statement |
//! | `write` | publish, yank, unyank, key rotation |
//! | `ops` | health, readiness, metrics |
//! | `doc` | what the OpenAPI document says of every route |

mod doc;
mod ops;
mod read;
mod write;

use std::net::IpAddr;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use chrono::Utc;
use ggen_marketplace::core::MarketplaceBackend;
use ggen_marketplace::{Operation, Scope, TokenRecord};
use ggen_registry_api::{codes, headers};
use semver::Version;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use ops::{metrics_router, ops_router};

use crate::AppState;
use crate::client::ClientAddr;
use crate::error::ApiError;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "ggen registry",
        description = "Search, inspect, download and publish ggen template packages."
    ),
    tags((name = "packages", description = "Package metadata and archives")),
    // The error body (added to routes by `doc`) and the string formats
    // parameters name (utoipa collects only what bodies name).
    components(schemas(
        ggen_registry_api::ErrorBody,
        ggen_registry_api::ErrorFields,
        ggen_marketplace::core::openapi::PackageName,
        ggen_marketplace::core::openapi::SemVer,
        ggen_registry_api::openapi::SearchText,
        ggen_registry_api::openapi::CategoryFilter,
        ggen_registry_api::openapi::TagFilter,
        ggen_marketplace::core::SortOrder,
    ))
)]
struct ApiDoc;

pub use doc::completed as completed_document;

/// Every `/api/v1` route, with its OpenAPI description (see
/// [`completed_document`] for what all routes share).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(read::search))
        .routes(routes!(read::list_packages, write::publish_package))
        .routes(routes!(read::package_info))
        .routes(routes!(read::package_versions))
        .routes(routes!(read::download))
        .routes(routes!(read::signature))
        .routes(routes!(read::statement))
        .routes(routes!(write::yank))
        .routes(routes!(write::unyank))
        .routes(routes!(write::rotate_key))
}

/// Any route not above.
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

/// Who asks: the server's state, the request's headers and its client
/// address, extracted once for every handler that reads or writes.
pub(super) struct Caller {
    state: AppState,
    headers: HeaderMap,
    peer: IpAddr,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let peer = parts
            .extensions
            .get::<ClientAddr>()
            .map(|c| c.0)
            .ok_or_else(|| ApiError::internal("the request has no client address"))?;
        Ok(Self {
            state: state.clone(),
            headers: parts.headers.clone(),
            peer,
        })
    }
}

impl Caller {
    /// The request's A/B subject.
    fn subject(&self) -> String {
        subject(&self.headers, self.peer)
    }

    /// The shape every read shares: check access, route by the request's A/B
    /// subject, and run `f` on the routed backend on the blocking pool.
    async fn read<T: Send + 'static>(
        self,
        op: Operation,
        f: impl FnOnce(&dyn MarketplaceBackend) -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        authorize_read(&self.state, &self.headers)?;
        let subject = self.subject();
        let state = self.state;
        blocking(move || f(state.mp.backend_for_subject(op, &subject)?.as_ref())).await
    }
}

/// The A/B subject of a request: its client id header, else its address.
pub(crate) fn subject(headers: &HeaderMap, peer: IpAddr) -> String {
    headers
        .get(headers::CLIENT_ID)
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
            codes::INVALID_VERSION,
            format!("`{}` is not a semver version: {e}", v.escape_debug()),
        )
    })
}
