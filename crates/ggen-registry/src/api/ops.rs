//! The operations endpoints: `/healthz` (the process is up), `/readyz` (each
//! backend answers), `/metrics` (Prometheus text).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use ggen_marketplace::core::BackendKind;
use ggen_marketplace::{Compiled, Operation};
use serde_json::{Value, json};

use super::{authorize_read, blocking};
use crate::AppState;
use crate::error::ApiError;

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
    let compiled = Compiled::this_build();
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

pub(super) async fn metrics_open(State(state): State<AppState>) -> Response {
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
        ggen_marketplace::metrics::record_index_refreshes(&st.mp);
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
