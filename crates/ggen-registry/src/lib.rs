//! `ggen registry serve`: the marketplace facade behind HTTP.
//!
//! The same routing strategies, fallback and config as the CLI apply, per
//! request: the A/B subject is the `X-Ggen-Client-Id` header, else the client
//! address. Backends are synchronous, so handlers run them on tokio's blocking
//! pool.
//!
//! Every request is untrusted. The server reads each request's headers within
//! a deadline and holds a bounded number of connections (in all, and per
//! client address), so half-sent requests cannot pile up; expensive routes
//! (whole listings, the web index, uploads) run a bounded number at a time and
//! answer 503 beyond it; downloads are streamed, never held whole; the client
//! address comes from `X-Forwarded-For` only when the peer is a configured
//! trusted proxy ([`client`]).

#![warn(missing_docs)]

mod api;
pub mod client;
mod error;
mod limit;
mod listen;
mod web;

pub use error::ApiError;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use ggen_marketplace::{MAX_ARCHIVE_BYTES, Marketplace, TokenStore};
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::net::TcpListener;

use crate::client::TrustedProxies;
use crate::limit::Limits;

/// How the server behaves; the CLI fills it from flags and config.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Where to listen.
    pub addr: SocketAddr,
    /// Reads need a token too (scope `read`, or any scope); so does
    /// `/metrics` unless it has its own listener (`metrics_addr`).
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
    /// A request's headers must arrive within this (and an idle kept-alive
    /// connection is closed after it).
    pub header_read_timeout: Duration,
    /// Open connections in all; more wait in the kernel's accept queue.
    pub max_connections: usize,
    /// Open connections per client address; more are closed at once.
    pub max_connections_per_address: usize,
    /// Expensive requests (whole listings, the web index, uploads) served at
    /// once; more are answered 503 with `Retry-After`.
    pub max_expensive_requests: usize,
    /// Serve `/metrics` on this address alone (not on `addr`).
    pub metrics_addr: Option<SocketAddr>,
    /// Peers whose `X-Forwarded-For` names the client (reverse proxies).
    pub trusted_proxies: TrustedProxies,
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
            header_read_timeout: Duration::from_secs(10),
            max_connections: 1024,
            max_connections_per_address: 64,
            max_expensive_requests: 8,
            metrics_addr: None,
            trusted_proxies: TrustedProxies::default(),
        }
    }
}

/// What every request shares.
pub struct Inner {
    /// The marketplace the server fronts.
    pub mp: Marketplace,
    /// The registry's API tokens.
    pub tokens: TokenStore,
    /// How it serves.
    pub options: ServeOptions,
    /// The metrics recorder, when this process installed one.
    pub metrics: Option<PrometheusHandle>,
    limits: Limits,
    /// Permits for expensive requests ([`ServeOptions::max_expensive_requests`]).
    expensive: Arc<tokio::sync::Semaphore>,
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
    /// The state of a server over `mp`.
    pub fn new(mp: Marketplace, options: ServeOptions, metrics: Option<PrometheusHandle>) -> Self {
        let tokens = TokenStore::new(&mp.paths.registry);
        let limits = Limits::new(options.per_address_rps, options.writes_per_token_per_minute);
        let expensive = Arc::new(tokio::sync::Semaphore::new(
            options.max_expensive_requests.max(1),
        ));
        Self(Arc::new(Inner {
            mp,
            tokens,
            options,
            metrics,
            limits,
            expensive,
        }))
    }

    /// A permit to run an expensive request now, or the 503 to answer. The
    /// handlers of expensive routes hold one while they work; an embedder (or
    /// a test) may hold some to reserve capacity.
    pub fn expensive_permit(
        &self,
    ) -> Result<tokio::sync::OwnedSemaphorePermit, crate::error::ApiError> {
        self.expensive.clone().try_acquire_owned().map_err(|_| {
            crate::error::ApiError::busy(
                "the server is handling as many listings and uploads as it allows at once",
            )
        })
    }
}

/// The whole application: API, OpenAPI document, operations endpoints, web pages.
pub fn app(state: AppState) -> Router {
    let (api, openapi) = api::router().split_for_parts();
    let openapi = Arc::new(api::completed_document(openapi));
    let max_body = state.options.max_body_bytes;
    let metrics_here = state.options.metrics_addr.is_none();
    Router::new()
        .merge(api)
        .route(
            "/api/openapi.json",
            axum::routing::get(move || {
                let doc = openapi.clone();
                async move { axum::Json(doc.as_ref().clone()) }
            }),
        )
        .merge(api::ops_router(metrics_here))
        .merge(web::router())
        .fallback(api::not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            limit::per_address,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            client::identify,
        ))
        .layer(DefaultBodyLimit::max(max_body))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            limit::deadline,
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
    let metrics = match state.options.metrics_addr {
        Some(a) => Some(TcpListener::bind(a).await?),
        None => None,
    };
    if let Some(m) = &metrics {
        tracing::info!(addr = %m.local_addr()?, "metrics listening");
    }
    ready(addr);
    tracing::info!(%addr, "registry listening");
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(());
    let limits = listen::ConnectionLimits {
        header_read_timeout: state.options.header_read_timeout,
        max_connections: state.options.max_connections,
        max_per_address: state.options.max_connections_per_address,
        trusted_proxies: state.options.trusted_proxies.clone(),
    };
    let main = listen::serve(
        listener,
        app(state.clone()),
        limits.clone(),
        stop_rx.clone(),
    );
    let metrics_server = async {
        match metrics {
            Some(l) => listen::serve(l, api::metrics_router(state.clone()), limits, stop_rx).await,
            None => Ok(()),
        }
    };
    let stop = async move {
        shutdown.await;
        let _ = stop_tx.send(());
    };
    let (a, b, ()) = tokio::join!(main, metrics_server, stop);
    a.and(b)
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
