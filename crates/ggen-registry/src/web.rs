//! The browsable pages: `/` (search with a category filter) and
//! `/packages/{name}`. Server-rendered, no JavaScript; every value from the
//! registry goes through [`esc`].

use axum::extract::{Extension, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use ggen_marketplace::Operation;
use ggen_marketplace::core::{Package, SearchQuery};
use serde::Deserialize;
use std::fmt::Write;

use crate::AppState;
use crate::client::ClientAddr;

pub fn router() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/", get(index))
        .route("/packages/{name}", get(package_page))
}

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Percent-encodes a path segment or query value.
fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

const STYLE: &str = "body{font:16px/1.5 system-ui,sans-serif;max-width:58rem;margin:2rem auto;padding:0 1rem;color:#1d2127}\
a{color:#0b5cad;text-decoration:none}a:hover{text-decoration:underline}\
header{display:flex;align-items:baseline;gap:1rem;border-bottom:1px solid #dde;margin-bottom:1rem}\
header h1{font-size:1.4rem;margin:.5rem 0}form{display:flex;gap:.5rem;margin:1rem 0}\
input[type=search]{flex:1;padding:.45rem .6rem;font-size:1rem;border:1px solid #aab;border-radius:4px}\
select,button{padding:.45rem .6rem;font-size:1rem;border:1px solid #aab;border-radius:4px;background:#fff}\
button{background:#0b5cad;color:#fff;border-color:#0b5cad}ul.hits{list-style:none;padding:0}\
ul.hits li{padding:.7rem 0;border-bottom:1px solid #eef}.ver{color:#667;font-size:.9rem}\
.tag{display:inline-block;background:#eef3fa;border-radius:3px;padding:0 .4rem;margin-right:.3rem;font-size:.85rem}\
pre{background:#f4f6f8;padding:.6rem;border-radius:4px;overflow:auto}table{border-collapse:collapse}\
td,th{padding:.25rem .8rem .25rem 0;text-align:left}.ok{color:#17702b}.no{color:#8a1c1c}";

fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
<title>{} · ggen registry</title><style>{STYLE}</style></head><body>\
<header><h1><a href=\"/\">ggen registry</a></h1><span>template packages for ggen</span></header>\
{body}</body></html>",
        esc(title)
    ))
}

#[derive(Debug, Default, Deserialize)]
struct IndexParams {
    q: Option<String>,
    category: Option<String>,
}

async fn index(
    State(state): State<AppState>,
    Extension(ClientAddr(peer)): Extension<ClientAddr>,
    headers: HeaderMap,
    params: Result<Query<IndexParams>, axum::extract::rejection::QueryRejection>,
) -> Response {
    if state.options.auth_required {
        return closed();
    }
    // The index lists every package: an expensive page, a bounded number at once.
    let _permit = match state.expensive_permit() {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let p = params.map(|Query(p)| p).unwrap_or_default();
    let subject = crate::api::subject(&headers, peer);
    let q = p.q.clone().unwrap_or_default();
    let category = p.category.clone().filter(|c| !c.is_empty());
    let result = tokio::task::spawn_blocking(move || {
        let list = state
            .mp
            .backend_for_subject(Operation::List, &subject)?
            .list()?;
        let query = SearchQuery {
            text: q,
            category,
            limit: 50,
            ..SearchQuery::default()
        };
        query.validate()?;
        let hits = state
            .mp
            .backend_for_subject(Operation::Search, &subject)?
            .search(&query)?;
        Ok::<_, ggen_marketplace::Error>((list, hits))
    })
    .await;
    let (list, hits) = match result {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => return error_page(StatusCode::BAD_REQUEST, &e.to_string()),
        Err(e) => return error_page(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    let mut categories: Vec<&str> = list.iter().filter_map(|s| s.category.as_deref()).collect();
    categories.sort_unstable();
    categories.dedup();
    let q = p.q.unwrap_or_default();
    let selected = p.category.unwrap_or_default();
    let mut body = String::new();
    let _ = write!(
        body,
        "<form action=\"/\" method=\"get\" role=\"search\">\
<input type=\"search\" name=\"q\" value=\"{}\" placeholder=\"Search {} packages\" aria-label=\"Search\" autofocus>\
<select name=\"category\" aria-label=\"Category\"><option value=\"\">All categories</option>",
        esc(&q),
        list.len()
    );
    for c in &categories {
        let sel = if *c == selected { " selected" } else { "" };
        let _ = write!(body, "<option value=\"{0}\"{sel}>{0}</option>", esc(c));
    }
    body.push_str("</select><button type=\"submit\">Search</button></form>");
    let _ = write!(
        body,
        "<p class=\"ver\">{} package{} found (answered by {})</p><ul class=\"hits\">",
        hits.total,
        if hits.total == 1 { "" } else { "s" },
        hits.backend_used
    );
    for h in &hits.hits {
        let _ = write!(
            body,
            "<li><a href=\"/packages/{}\"><strong>{}</strong></a> <span class=\"ver\">{}</span>",
            enc(&h.name),
            esc(&h.name),
            esc(&h.version.to_string())
        );
        if let Some(c) = &h.category {
            let _ = write!(body, " <span class=\"ver\">· {}</span>", esc(c));
        }
        let _ = write!(body, "<br>{}<br>", esc(&h.description));
        for t in &h.tags {
            let _ = write!(body, "<span class=\"tag\">{}</span>", esc(t));
        }
        body.push_str("</li>");
    }
    body.push_str("</ul>");
    page(if q.is_empty() { "Packages" } else { &q }, &body).into_response()
}

async fn package_page(
    State(state): State<AppState>,
    Extension(ClientAddr(peer)): Extension<ClientAddr>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Response {
    if state.options.auth_required {
        return closed();
    }
    let subject = crate::api::subject(&headers, peer);
    let lookup = name.clone();
    let result = tokio::task::spawn_blocking(move || {
        ggen_marketplace::core::name::validate_name(&lookup)?;
        state
            .mp
            .backend_for_subject(Operation::Info, &subject)?
            .package(&lookup)
            .map_err(ggen_marketplace::Error::from)
    })
    .await;
    match result {
        Ok(Ok(pkg)) => page(&pkg.name, &package_body(&pkg)).into_response(),
        Ok(Err(ggen_marketplace::Error::Marketplace(
            e @ (ggen_marketplace::core::MarketplaceError::NotFound { .. }
            | ggen_marketplace::core::MarketplaceError::InvalidName { .. }),
        ))) => error_page(StatusCode::NOT_FOUND, &e.to_string()),
        Ok(Err(e)) => error_page(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
        Err(e) => error_page(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

fn package_body(pkg: &Package) -> String {
    let v = pkg.latest();
    let mut b = String::new();
    let _ = write!(
        b,
        "<h2>{} <span class=\"ver\">{}</span></h2><p>{}</p>",
        esc(&pkg.name),
        esc(&v.version.to_string()),
        esc(&v.description)
    );
    for t in &v.tags {
        let _ = write!(b, "<span class=\"tag\">{}</span>", esc(t));
    }
    let _ = write!(
        b,
        "<h3>Install</h3><pre>ggen marketplace install {}@{}</pre>",
        esc(&pkg.name),
        esc(&v.version.to_string())
    );
    b.push_str("<table>");
    let row = |b: &mut String, k: &str, val: Option<&str>| {
        if let Some(val) = val {
            let _ = write!(b, "<tr><th>{k}</th><td>{}</td></tr>", esc(val));
        }
    };
    row(&mut b, "Category", v.category.as_deref());
    row(&mut b, "License", v.license.as_deref());
    row(&mut b, "Repository", v.repository.as_deref());
    let authors = v.authors.join(", ");
    row(
        &mut b,
        "Authors",
        Some(&authors).filter(|a| !a.is_empty()).map(|s| s.as_str()),
    );
    let downloads = pkg.downloads.to_string();
    row(&mut b, "Downloads", Some(&downloads));
    match &v.signature {
        Some(sig) => {
            let _ = write!(
                b,
                "<tr><th>Signature</th><td class=\"ok\">signed (Ed25519, key {})</td></tr>",
                esc(&sig.key_id)
            );
        }
        None => b.push_str("<tr><th>Signature</th><td class=\"no\">not signed</td></tr>"),
    }
    b.push_str("</table><h3>Dependencies</h3>");
    if v.dependencies.is_empty() {
        b.push_str("<p>None.</p>");
    } else {
        b.push_str("<ul>");
        for d in &v.dependencies {
            let _ = write!(
                b,
                "<li><a href=\"/packages/{}\">{}</a> {}{}</li>",
                enc(&d.name),
                esc(&d.name),
                esc(&d.req.to_string()),
                if d.optional { " (optional)" } else { "" }
            );
        }
        b.push_str("</ul>");
    }
    b.push_str("<h3>Versions</h3><ul>");
    for ver in pkg.versions.iter().rev() {
        let _ = write!(
            b,
            "<li>{}{}{} · <a href=\"/api/v1/packages/{}/{}/download\">download</a></li>",
            esc(&ver.version.to_string()),
            ver.published_at
                .map(|t| format!(" <span class=\"ver\">{}</span>", t.format("%Y-%m-%d")))
                .unwrap_or_default(),
            if ver.yanked {
                " <span class=\"no\">yanked</span>"
            } else {
                ""
            },
            enc(&pkg.name),
            enc(&ver.version.to_string())
        );
    }
    b.push_str("</ul>");
    b
}

/// Browsers send no bearer token, so a registry that requires one has no pages.
fn closed() -> Response {
    error_page(
        StatusCode::UNAUTHORIZED,
        "this registry requires a token for every read, so its web pages are off; use the API with `Authorization: Bearer TOKEN`",
    )
}

fn error_page(status: StatusCode, message: &str) -> Response {
    (
        status,
        page(
            "Error",
            &format!(
                "<h2>{}</h2><p>{}</p><p><a href=\"/\">Back to search</a></p>",
                status,
                esc(message)
            ),
        ),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping() {
        assert_eq!(
            esc("<script>\"x\"&'"),
            "&lt;script&gt;&quot;x&quot;&amp;&#39;"
        );
        assert_eq!(enc("a b/ü"), "a%20b%2F%C3%BC");
    }
}
