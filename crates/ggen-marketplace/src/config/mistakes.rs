//! The configuration mistakes people make, and what to tell them: a key in
//! the wrong section or misspelt, a file that is not YAML, a server's base
//! URL where an endpoint belongs, a number out of range. Each error names the
//! key and the file; the fix here says what to write instead.
//!
//! Kept apart from reading and resolving, which only decide whether a value
//! is acceptable (the shape of uv's failure reports, apart from solving).

/// Every key `config.yaml` accepts, as a dotted path (`OP` stands for an
/// operation name under `marketplace.operations`), with a value it accepts:
/// the unit test reads each one back, so this list cannot drift from the file's
/// structs.
pub(super) const KEYS: &[(&str, &str)] = &[
    ("marketplace.backend", "v2"),
    ("marketplace.fallback.enabled", "true"),
    ("marketplace.fallback.fallback_to_v1", "true"),
    ("marketplace.fallback_on_error", "true"),
    ("marketplace.v2_percentage", "10"),
    ("marketplace.enable_ab_testing", "true"),
    ("marketplace.log_backend_selection", "true"),
    ("marketplace.ab_testing.enabled", "true"),
    ("marketplace.ab_testing.v2_percentage", "10"),
    ("marketplace.ab_testing.log_backend_selection", "true"),
    ("marketplace.ab_testing.compare_results", "true"),
    ("marketplace.operations.OP.backend", "v2"),
    ("marketplace.operations.OP.ab_testing.v2_percentage", "10"),
    ("marketplace.operations.OP.fallback.enabled", "true"),
    ("marketplace.publishing.signing.enabled", "true"),
    ("marketplace.publishing.signing.required", "true"),
    ("marketplace.v2.endpoint", "http://127.0.0.1:7878/query"),
    (
        "marketplace.v2.update_endpoint",
        "http://127.0.0.1:7878/update",
    ),
    ("marketplace.v2.graph", "https://example.org/ggen/registry"),
    ("marketplace.v2.protocol", "form"),
    ("marketplace.v2.user", "ggen"),
    ("marketplace.v2.password", "secret"),
    ("marketplace.v2.token", "secret"),
    ("marketplace.v2.ca_file", "/etc/ggen/endpoint-ca.pem"),
    ("marketplace.v2.lock_url", "http://127.0.0.1:2379"),
    ("marketplace.circuit_breaker.window", "20"),
    ("marketplace.circuit_breaker.minimum_calls", "5"),
    ("marketplace.circuit_breaker.failure_rate", "0.5"),
    ("marketplace.circuit_breaker.slow_call_ms", "2000"),
    ("marketplace.circuit_breaker.open_seconds", "30"),
    ("marketplace.circuit_breaker.half_open_probes", "1"),
    ("marketplace.retry.attempts", "3"),
    ("marketplace.retry.initial_ms", "50"),
    ("marketplace.retry.factor", "2.0"),
    ("marketplace.retry.max_ms", "1000"),
    ("marketplace.timeouts.search_ms", "5000"),
    ("marketplace.timeouts.install_ms", "30000"),
    ("marketplace.timeouts.compare_ms", "500"),
    ("install.require_signatures", "true"),
    ("registry.url", "https://registry.example.com"),
    ("registry.allow_insecure_http", "false"),
];

/// What to write instead, for a message of the YAML reader about `text`.
pub(super) fn fix_for_parse_error(message: &str, text: &str) -> String {
    if let Some(key) = unknown_key(message) {
        return fix_for_unknown_key(key);
    }
    if looks_like_toml_or_ini(text) {
        return "config.yaml is YAML, not TOML or INI: a section is a line `marketplace:` and its keys are indented below it (`  backend: v2`); see docs/configuration.md".into();
    }
    "config.yaml is YAML with the sections `marketplace:`, `install:` and `registry:`; fix the line named above (docs/configuration.md shows every key), or move the file away to use the defaults".into()
}

/// The key named by a YAML reader's "unknown field `KEY`" message.
fn unknown_key(message: &str) -> Option<&str> {
    let rest = message.split_once("unknown field `")?.1;
    Some(&rest[..rest.find('`')?])
}

/// Where an unknown key belongs: the sections that have a key of that name,
/// else the nearest spelling of a key, else the list of sections.
fn fix_for_unknown_key(key: &str) -> String {
    let homes: Vec<&str> = KEYS
        .iter()
        .map(|(path, _)| *path)
        .filter(|path| path.rsplit('.').next() == Some(key))
        .collect();
    if !homes.is_empty() {
        return format!(
            "`{key}` belongs under a section: write it as {}",
            homes
                .iter()
                .map(|p| format!("`{p}`"))
                .collect::<Vec<_>>()
                .join(" or ")
        );
    }
    let names = KEYS
        .iter()
        .flat_map(|(path, _)| path.split('.'))
        .filter(|n| *n != "OP");
    if let Some(near) = names
        .filter(|n| strsim::levenshtein(n, key) <= 2)
        .min_by_key(|n| strsim::levenshtein(n, key))
    {
        return format!("`{key}` is not a key; did you mean `{near}`?");
    }
    format!(
        "`{key}` is not a key ggen reads; the sections are `marketplace:`, `install:` and `registry:` (docs/configuration.md lists every key)"
    )
}

fn looks_like_toml_or_ini(text: &str) -> bool {
    text.lines().map(str::trim).any(|l| {
        (l.starts_with('[') && l.ends_with(']') && !l.contains(','))
            || l.split_once('=')
                .is_some_and(|(k, _)| !k.trim().is_empty() && !k.contains(':'))
    })
}

/// The fix for an endpoint URL without a path: SPARQL servers answer at one.
/// `kind` is `query` or `update`.
pub(super) fn fix_for_endpoint_without_path(key: &str, url: &str, kind: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.trim_end_matches('/');
    if authority.is_empty() || authority.contains('/') {
        return None;
    }
    let base = format!("{scheme}://{authority}");
    Some(format!(
        "set {key} to the server's {kind} endpoint, not its base URL: {base}/{kind} for `oxigraph serve`, {base}/DATASET/{kind} for Fuseki, {base}/sparql for Virtuoso"
    ))
}

/// The fix for a percentage out of range.
pub(super) fn fix_for_percentage(key: &str) -> String {
    format!("set {key} to a whole number from 0 (every request to V1) to 100 (every request to V2)")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every listed key, written as nested YAML with its sample value, is read.
    #[test]
    fn every_listed_key_is_a_key_of_the_file() {
        for (path, value) in KEYS {
            let path = path.replace("OP", "search");
            let mut yaml = String::new();
            for (depth, part) in path.split('.').enumerate() {
                yaml.push_str(&format!("\n{}{part}:", "  ".repeat(depth)));
            }
            yaml.push_str(&format!(" {value}\n"));
            serde_norway::from_str::<super::super::ConfigFile>(&yaml)
                .unwrap_or_else(|e| panic!("{path}: {e}\n{yaml}"));
        }
    }

    #[test]
    fn a_key_in_the_wrong_section_is_sent_home() {
        let fix = fix_for_unknown_key("endpoint");
        assert!(fix.contains("`marketplace.v2.endpoint`"), "{fix}");
        let fix = fix_for_unknown_key("marketplce");
        assert!(fix.contains("did you mean `marketplace`"), "{fix}");
        let fix = fix_for_unknown_key("zzzzzzzzzz");
        assert!(fix.contains("docs/configuration.md"), "{fix}");
    }

    #[test]
    fn base_urls_are_told_apart_from_endpoints() {
        let key = "marketplace.v2.endpoint";
        let fix = fix_for_endpoint_without_path(key, "http://127.0.0.1:7878/", "query").unwrap();
        assert!(fix.contains("http://127.0.0.1:7878/query"), "{fix}");
        let fix = fix_for_endpoint_without_path(key, "http://h:7878", "update").unwrap();
        assert!(fix.contains("http://h:7878/update"), "{fix}");
        assert!(fix_for_endpoint_without_path(key, "http://h:7878/query", "query").is_none());
        assert!(fix_for_endpoint_without_path(key, "http://h/ds/sparql", "query").is_none());
    }

    #[test]
    fn toml_is_recognised() {
        assert!(looks_like_toml_or_ini("[marketplace]\nbackend = \"v2\"\n"));
        assert!(!looks_like_toml_or_ini("marketplace:\n  backend: v2\n"));
    }
}
