//! Rate limits (GCRA, via `governor`): requests per second per client address,
//! and writes per minute per token. Over the limit is `429` with `Retry-After`.
//! And the deadline of every request: past it, `408` with the error body.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::AppState;
use crate::error::ApiError;

pub struct Limits {
    per_address: Option<DefaultKeyedRateLimiter<IpAddr>>,
    per_token: Option<DefaultKeyedRateLimiter<String>>,
    seen: AtomicU64,
}

impl Limits {
    pub fn new(per_address_rps: u32, writes_per_token_per_minute: u32) -> Self {
        Self {
            // Bursts of twice the rate absorb a page load's parallel requests.
            per_address: NonZeroU32::new(per_address_rps).map(|n| {
                RateLimiter::keyed(
                    Quota::per_second(n).allow_burst(n.saturating_mul(NonZeroU32::new(2).unwrap())),
                )
            }),
            per_token: NonZeroU32::new(writes_per_token_per_minute)
                .map(|n| RateLimiter::keyed(Quota::per_minute(n))),
            seen: AtomicU64::new(0),
        }
    }

    /// Checks a write by token `id`; the error is the 429 to send.
    pub fn check_token(&self, id: &str) -> Result<(), ApiError> {
        let Some(l) = &self.per_token else {
            return Ok(());
        };
        l.check_key(&id.to_string()).map_err(|n| {
            ApiError::rate_limited(
                secs(n.wait_time_from(DefaultClock::default().now())),
                "token",
            )
        })
    }
}

fn secs(d: std::time::Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

/// Keyed on the client address [`crate::client::identify`] found (the peer,
/// or behind a trusted proxy the client it names).
pub async fn per_address(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
    next: Next,
) -> Response {
    let client = req
        .extensions()
        .get::<crate::client::ClientAddr>()
        .map_or(peer.ip(), |c| c.0);
    if let Some(l) = &state.limits.per_address {
        // Forget idle addresses now and then, so the table stays small.
        if state.limits.seen.fetch_add(1, Ordering::Relaxed) % 10_000 == 9_999 {
            l.retain_recent();
        }
        if let Err(n) = l.check_key(&client) {
            let wait = n.wait_time_from(DefaultClock::default().now());
            return ApiError::rate_limited(secs(wait), "address").into_response();
        }
    }
    next.run(req).await
}

/// Answers `408 timeout` when a request (reading its body included) takes
/// longer than `request_timeout`; the handler's work is dropped with it.
pub async fn deadline(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let limit = state.options.request_timeout;
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::new(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            ggen_registry_api::codes::TIMEOUT,
            format!(
                "the request took longer than the {} s this server allows",
                limit.as_secs_f64()
            ),
        )
        .hint("send the request faster (a slow upload counts), or ask the operator to raise the limit")
        .into_response(),
    }
}
