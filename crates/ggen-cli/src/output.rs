//! Presentation: tables for people, JSON for scripts, errors with a next step.

/// Text from a registry (descriptions, names, a server's error message) made
/// safe for a terminal: control characters, which include the escape
/// sequences that move the cursor, rewrite the window title or hide text, are
/// shown as `\u{1b}` instead of acted on; so are the bidirectional overrides
/// that make text read differently from what it is. Line breaks and tabs
/// become spaces. Every human-readable line that carries such text goes
/// through here; JSON output needs nothing, as JSON escapes control characters.
pub fn safe(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' | '\r' | '\t' => out.push(' '),
            c if c.is_control()
                || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}') =>
            {
                out.push_str(&c.escape_unicode().to_string())
            }
            c => out.push(c),
        }
    }
    out
}

/// Prints `error: ...` and, when known, what to do next.
pub fn print_error(e: &crate::failure::Failure) {
    eprintln!("error: {}", safe(&e.message));
    if let Some(h) = &e.hint {
        eprintln!("  hint: {}", safe(h));
    }
}

/// Prints a report as one JSON document (see [`json`]).
pub fn report(value: &impl serde::Serialize) {
    json(&serde_json::to_value(value).expect("reports serialize"));
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
/// Every cell goes through [`safe`].
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
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(|c| safe(c)).collect())
        .collect();
    let rows = &rows;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_never_reach_the_terminal_raw() {
        let hostile = "ok\u{1b}[2J\u{1b}]0;owned\u{7} \u{9b}31m \u{202e}txt.exe\nnext";
        let shown = safe(hostile);
        assert!(!shown.chars().any(|c| c.is_control()), "{shown:?}");
        assert!(
            shown.contains("\\u{1b}[2J") && shown.contains("\\u{202e}"),
            "{shown}"
        );
        assert!(shown.ends_with("txt.exe next"), "{shown}");
        assert_eq!(safe("plain text"), "plain text");
    }
}
