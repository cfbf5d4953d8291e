//! The one error shape of the API:
//! `{"error": {"code": "...", "message": "...", "hint": "..."|null, ...details}}`.
//! `code` is stable and meant for programs; `message` and `hint` for people.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ggen_marketplace::core::MarketplaceError;
use ggen_marketplace::{Error, Hint};
use serde_json::{Map, Value, json};

/// An error answer: its status, its stable `code` (one of
/// `ggen_registry_api::codes`), and the words for people.
#[derive(Debug)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The stable code, for programs.
    pub code: &'static str,
    /// What went wrong.
    pub message: String,
    /// What to do about it.
    pub hint: Option<String>,
    /// Machine-readable fields (`name`, `version`, ...) the client maps back.
    pub details: Map<String, Value>,
    /// Seconds until a retry may succeed (429, 503).
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// An error with this status, machine-readable code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            hint: None,
            details: Map::new(),
            retry_after: None,
        }
    }

    /// Adds what the client should do about it.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Adds a machine-readable field the client maps back to its own error.
    pub fn detail(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.details.insert(key.to_string(), value.into());
        self
    }

    /// 400: the request itself is wrong.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// 401: no token, or one the server does not know.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
            .hint("create a token with `ggen registry token create` and send it as `Authorization: Bearer TOKEN`")
    }

    /// 403: the token may not do this.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// 404: no such package, version or route.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 500: the server failed; the message is logged, not hidden.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
    }

    /// 503 for work shed because as much is already running; retry shortly.
    pub fn busy(message: impl Into<String>) -> Self {
        metrics::counter!(ggen_marketplace::metrics::REQUESTS_SHED).increment(1);
        let mut e = Self::new(StatusCode::SERVICE_UNAVAILABLE, "busy", message).hint(
            "retry in a second; if it persists, the operator can raise --max-expensive-requests",
        );
        e.retry_after = Some(1);
        e
    }

    /// 429: this client asked too often; retry after `retry_after_secs`.
    pub fn rate_limited(retry_after_secs: u64, what: &str) -> Self {
        let mut e = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("too many requests from this {what}; retry in {retry_after_secs} s"),
        );
        e.retry_after = Some(retry_after_secs);
        e
    }
}

impl From<MarketplaceError> for ApiError {
    fn from(e: MarketplaceError) -> Self {
        use MarketplaceError as M;
        let hint = e.hint();
        let message = e.to_string();
        let mut out = match &e {
            M::NotFound { name } => {
                Self::new(StatusCode::NOT_FOUND, "not_found", message).detail("name", name.clone())
            }
            M::VersionNotFound { name, requirement } => {
                Self::new(StatusCode::NOT_FOUND, "version_not_found", message)
                    .detail("name", name.clone())
                    .detail("requirement", requirement.clone())
            }
            M::AlreadyPublished { name, version } => {
                Self::new(StatusCode::CONFLICT, "already_published", message)
                    .detail("name", name.clone())
                    .detail("version", version.clone())
            }
            M::InvalidName { .. } => Self::new(StatusCode::BAD_REQUEST, "invalid_name", message),
            M::ConfusableName { existing, .. } => {
                Self::new(StatusCode::CONFLICT, "confusable_name", message)
                    .detail("existing", existing.clone())
            }
            M::Forbidden { .. } => Self::new(StatusCode::FORBIDDEN, "forbidden", message),
            M::InvalidMetadata { .. } => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_manifest",
                message,
            ),
            M::InvalidRequirement { .. } | M::InvalidQuery { .. } => {
                Self::new(StatusCode::BAD_REQUEST, "invalid_query", message)
            }
            M::InvalidManifest { .. } => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_manifest",
                message,
            ),
            M::ChecksumMismatch { .. } | M::UnsafeArchive { .. } | M::InvalidArchive { .. } => {
                Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_archive", message)
            }
            M::ArchiveMissing { .. } => {
                Self::new(StatusCode::NOT_FOUND, "archive_missing", message)
            }
            M::Unavailable { .. } | M::Timeout { .. } => {
                Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
            }
            _ => {
                tracing::error!(error = %e, "request failed");
                Self::internal(message)
            }
        };
        out.hint = hint;
        out
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        let hint = e.hint();
        let mut out = match e {
            Error::Marketplace(m) => return m.into(),
            Error::Signing(s) => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_signature",
                s.to_string(),
            ),
            Error::Setup(m) => Self::new(StatusCode::UNPROCESSABLE_ENTITY, "refused", m),
            other => Self::internal(other.to_string()),
        };
        out.hint = hint;
        out
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = self.details;
        body.insert("code".into(), self.code.into());
        body.insert("message".into(), self.message.into());
        body.insert(
            "hint".into(),
            self.hint.map(Value::from).unwrap_or(Value::Null),
        );
        let mut resp = (self.status, axum::Json(json!({ "error": body }))).into_response();
        if let Some(secs) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        resp
    }
}
