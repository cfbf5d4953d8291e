//! Presentation: tables for people, JSON for scripts, errors with a next step.

use ggen_marketplace::Error;

/// Prints `error: ...` and, when known, what to do next.
pub fn print_error(e: &anyhow::Error) {
    eprintln!("error: {e}");
    let mut hint = None;
    for cause in e.chain() {
        if let Some(err) = cause.downcast_ref::<Error>() {
            hint = err.hint();
            break;
        }
        if let Some(err) = cause.downcast_ref::<ggen_marketplace_core::MarketplaceError>() {
            hint = err.hint();
            break;
        }
        if let Some(err) = cause.downcast_ref::<ggen_marketplace_core::signing::SigningError>() {
            hint = err.hint();
            break;
        }
        if let Some(err) = cause.downcast_ref::<ggen_marketplace_core::resolve::ResolveError>() {
            hint = err.hint();
            break;
        }
    }
    if let Some(h) = hint {
        eprintln!("  hint: {h}");
    }
}

/// Prints one JSON document. Every object answer carries `backend_used`
/// (README "JSON output"); commands that consult no backend (keys, trust,
/// tokens, validate, cache, a backup file's listing) report `null`.
pub fn json(value: &serde_json::Value) {
    let mut value = value.clone();
    if let Some(o) = value.as_object_mut() {
        o.entry("backend_used").or_insert(serde_json::Value::Null);
    }
    println!("{}", serde_json::to_string_pretty(&value).expect("json"));
}

/// A plain aligned table; the last column is truncated to keep lines readable.
pub fn table(headers: &[&str], rows: &[Vec<String>]) {
    if rows.is_empty() {
        return;
    }
    let n = headers.len();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate().take(n - 1) {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let mut out = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == n {
                out.push_str(&truncate(c, 70));
            } else {
                out.push_str(&format!("{c:<w$}  ", w = widths[i]));
            }
        }
        println!("{}", out.trim_end());
    };
    line(headers.iter().map(|h| h.to_uppercase()).collect());
    for r in rows {
        line(r.clone());
    }
}

pub fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max - 1).collect();
        t.push('…');
        t
    }
}
