//! HTTP routes.

use axum::extract::Path;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use tower_http::trace::TraceLayer;

/// Builds the application router. Kept separate from `main` so tests can
/// drive it without opening a socket.
pub fn router() -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/hello/{name}", get(hello))
        .route("/echo", post(echo))
        .layer(TraceLayer::new_for_http())
}

#[derive(Debug, Serialize)]
struct Health {
    status: &'static str,
    version: &'static str,
}

async fn health() -> Json<Health> {
    Json(Health {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
    })
}

async fn hello(Path(name): Path<String>) -> String {
    format!("Hello, {name}!")
}

#[derive(Debug, Serialize, Deserialize)]
struct Message {
    message: String,
}

async fn echo(Json(body): Json<Message>) -> Json<Message> {
    Json(body)
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::{header, Request, StatusCode};
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    use super::router;

    async fn body_text(response: axum::response::Response) -> String {
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn health_reports_ok() {
        let response = router()
            .oneshot(Request::get("/health").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert!(body_text(response).await.contains(r#""status":"ok""#));
    }

    #[tokio::test]
    async fn hello_uses_path_parameter() {
        let response = router()
            .oneshot(Request::get("/hello/ferris").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(body_text(response).await, "Hello, ferris!");
    }

    #[tokio::test]
    async fn echo_returns_body() {
        let request = Request::post("/echo")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(r#"{"message":"hi"}"#))
            .unwrap();
        let response = router().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(body_text(response).await, r#"{"message":"hi"}"#);
    }

    #[tokio::test]
    async fn unknown_route_is_404() {
        let response = router()
            .oneshot(Request::get("/nope").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
    }
}
