//! `ggen registry serve`: the marketplace facade behind HTTP (DESIGN.md §9).
//!
//! The same routing strategies, fallback and config as the CLI apply, per
//! request: the A/B subject is the `X-Ggen-Client-Id` header, else the peer
//! address. Backends are synchronous, so handlers run them on tokio's blocking
//! pool.

pub mod api;
pub mod auth;
pub mod error;
mod limit;
mod web;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use ggen_marketplace::Marketplace;
use ggen_marketplace::publish::MAX_ARCHIVE_BYTES;
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::net::TcpListener;

use crate::auth::TokenStore;
use crate::limit::Limits;

/// How the server behaves; the CLI fills it from flags and config.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub addr: SocketAddr,
    /// Reads need a token too (scope `read`, or any scope).
    pub auth_required: bool,
    /// Requests per second per client address; 0 turns the limit off.
    pub per_address_rps: u32,
    /// Publishes and yanks per minute per token; 0 turns the limit off.
    pub writes_per_token_per_minute: u32,
    /// Largest accepted request body. The default fits the largest archive
    /// (base64 adds a third) plus its signature.
    pub max_body_bytes: usize,
    /// A request (reading its body included) must finish within this.
    pub request_timeout: Duration,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            auth_required: false,
            per_address_rps: 200,
            writes_per_token_per_minute: 60,
            max_body_bytes: MAX_ARCHIVE_BYTES / 3 * 4 + 1024 * 1024,
            request_timeout: Duration::from_secs(60),
        }
    }
}

pub struct Inner {
    pub mp: Marketplace,
    pub tokens: TokenStore,
    pub options: ServeOptions,
    pub metrics: Option<PrometheusHandle>,
    limits: Limits,
}

/// Shared by every request.
#[derive(Clone)]
pub struct AppState(pub Arc<Inner>);

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    pub fn new(mp: Marketplace, options: ServeOptions, metrics: Option<PrometheusHandle>) -> Self {
        let tokens = TokenStore::new(&mp.paths.registry);
        let limits = Limits::new(options.per_address_rps, options.writes_per_token_per_minute);
        Self(Arc::new(Inner {
            mp,
            tokens,
            options,
            metrics,
            limits,
        }))
    }
}

/// The whole application: API, OpenAPI document, operations endpoints, web pages.
pub fn app(state: AppState) -> Router {
    let (api, openapi) = api::router().split_for_parts();
    let openapi = Arc::new(openapi);
    let max_body = state.options.max_body_bytes;
    let timeout = state.options.request_timeout;
    Router::new()
        .merge(api)
        .route(
            "/api/openapi.json",
            axum::routing::get(move || {
                let doc = openapi.clone();
                async move { axum::Json(doc.as_ref().clone()) }
            }),
        )
        .merge(api::ops_router())
        .merge(web::router())
        .fallback(api::not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            limit::per_address,
        ))
        .layer(DefaultBodyLimit::max(max_body))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
        .with_state(state)
}

/// Binds, serves until SIGTERM or Ctrl-C, then lets in-flight requests finish.
/// `ready` gets the bound address (useful with port 0).
pub async fn serve(state: AppState, ready: impl FnOnce(SocketAddr)) -> std::io::Result<()> {
    serve_until(state, ready, shutdown_signal()).await
}

/// [`serve`] until `shutdown` completes instead of a signal (tests, embedding).
pub async fn serve_until(
    state: AppState,
    ready: impl FnOnce(SocketAddr),
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let listener = TcpListener::bind(state.options.addr).await?;
    let addr = listener.local_addr()?;
    ready(addr);
    tracing::info!(%addr, "registry listening");
    axum::serve(
        listener,
        app(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down; finishing requests in flight");
}
