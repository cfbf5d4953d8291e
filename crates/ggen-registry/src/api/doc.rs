//! The OpenAPI document: each route's annotations say what is particular to
//! it (its parameters, bodies and own refusals); this completes them with
//! what every route shares, so no route's list can forget one:
//!
//! - every error answer carries the one error body (`ErrorBody`);
//! - every route can answer 408 (the request took too long), 429
//!   (over the per-address rate limit) and 500 and 503 (a fault, a backend
//!   down or the server busy), 429 and 503 with `Retry-After`;
//! - reads answer 401 and 403 on a server started with `--auth-required`;
//! - the bearer-token scheme the write routes name.

use utoipa::openapi::content::Content;
use utoipa::openapi::header::Header;
use utoipa::openapi::path::Operation;
use utoipa::openapi::response::Response;
use utoipa::openapi::schema::{Object, Ref, Type};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{OpenApi, RefOr};

/// The statuses every route can answer, with what they mean.
const SHARED: &[(&str, &str)] = &[
    ("408", "The request took longer than the server allows"),
    (
        "429",
        "Over the per-address rate limit; retry after `Retry-After` seconds",
    ),
    ("500", "A fault of the server"),
    (
        "503",
        "A backend is down, or the server is as busy as it allows; see `Retry-After`",
    ),
];

/// What reads answer on a server that requires tokens for them too.
const READ_AUTH: &[(&str, &str)] = &[
    (
        "401",
        "No or unknown token (servers started with `--auth-required`)",
    ),
    (
        "403",
        "The token has expired (servers started with `--auth-required`)",
    ),
];

/// `doc` with every operation's shared answers and the error body added.
pub fn completed(mut doc: OpenApi) -> OpenApi {
    let components = doc.components.get_or_insert_with(Default::default);
    components.security_schemes.insert(
        "bearer".into(),
        SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
    );
    for item in doc.paths.paths.values_mut() {
        let operations = [
            item.get.as_mut(),
            item.post.as_mut(),
            item.put.as_mut(),
            item.delete.as_mut(),
        ];
        for op in operations.into_iter().flatten() {
            complete(op);
        }
    }
    doc
}

fn complete(op: &mut Operation) {
    let reads = op.security.is_none();
    let responses = &mut op.responses.responses;
    let shared = SHARED.iter().chain(if reads { READ_AUTH } else { &[] });
    for (status, description) in shared {
        responses
            .entry((*status).to_string())
            .or_insert_with(|| RefOr::T(Response::new(*description)));
    }
    for (status, response) in responses.iter_mut() {
        let RefOr::T(response) = response else {
            continue;
        };
        let error = status.starts_with('4') || status.starts_with('5');
        if error && response.content.is_empty() {
            response.content.insert(
                "application/json".into(),
                Content::new(Some(Ref::from_schema_name("ErrorBody"))),
            );
        }
        if status == "429" || status == "503" {
            let mut retry = Header::new(Object::with_type(Type::Integer));
            retry.description = Some("Seconds until a retry may succeed".into());
            response
                .headers
                .entry("retry-after".into())
                .or_insert(retry);
        }
    }
}
