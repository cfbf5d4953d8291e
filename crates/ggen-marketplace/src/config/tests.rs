use super::*;
use crate::error::Error;

const BOTH: Compiled = Compiled { v1: true, v2: true };

fn resolve(yaml: &str, env: &[(&str, &str)], flags: Flags, compiled: Compiled) -> Result<Settings> {
    let file = if yaml.is_empty() {
        None
    } else {
        Some(serde_norway::from_str(yaml).map_err(|e| Error::Config {
            path: "c.yaml".into(),
            message: e.to_string(),
            fix: None,
        })?)
    };
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let lookup = move |k: &str| env.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
    Settings::resolve(file, Path::new("c.yaml"), &lookup, &flags, compiled)
}

#[test]
fn a_v2_config_works_in_a_v2_only_build() {
    let v2_only = Compiled {
        v1: false,
        v2: true,
    };
    let s = resolve(
        "marketplace:\n  backend: v2\n  fallback: { enabled: true }\n",
        &[],
        Flags::default(),
        v2_only,
    )
    .unwrap();
    assert_eq!(s.strategy(Operation::Search), BackendStrategy::V2Only);
    let s = resolve(
        "",
        &[("GGEN_MARKETPLACE_BACKEND", "v2")],
        Flags::default(),
        v2_only,
    )
    .unwrap();
    assert_eq!(s.strategy(Operation::Publish), BackendStrategy::V2Only);
    let s = resolve(
        "",
        &[("GGEN_MARKETPLACE_BACKEND", "v2")],
        Flags::default(),
        BOTH,
    )
    .unwrap();
    assert_eq!(
        s.strategy(Operation::Publish),
        BackendStrategy::V2WithFallback
    );
}

#[test]
fn defaults_follow_the_build() {
    let s = resolve("", &[], Flags::default(), BOTH).unwrap();
    assert_eq!(
        s.strategy(Operation::Search),
        BackendStrategy::V2WithFallback
    );
    assert_eq!(s.strategies[&Operation::Search].source, Source::Default);
    let s = resolve(
        "",
        &[],
        Flags::default(),
        Compiled {
            v1: true,
            v2: false,
        },
    )
    .unwrap();
    assert_eq!(s.strategy(Operation::Install), BackendStrategy::V1Only);
    let s = resolve(
        "",
        &[],
        Flags::default(),
        Compiled {
            v1: false,
            v2: true,
        },
    )
    .unwrap();
    assert_eq!(s.strategy(Operation::Install), BackendStrategy::V2Only);
}

#[test]
fn a_per_operation_rollout_config_is_understood() {
    let yaml = "marketplace:\n  backend: ab-test\n  operations:\n    search: v2\n    install:\n      ab_testing:\n        v2_percentage: 10\n  ab_testing:\n    enabled: true\n    v2_percentage: 25\n";
    let s = resolve(yaml, &[], Flags::default(), BOTH).unwrap();
    assert_eq!(
        s.strategy(Operation::Search),
        BackendStrategy::V2WithFallback
    );
    assert_eq!(
        s.strategy(Operation::Install),
        BackendStrategy::AbTest { v2_percentage: 10 }
    );
    assert_eq!(
        s.strategy(Operation::List),
        BackendStrategy::AbTest { v2_percentage: 25 }
    );
    // Seed aliases.
    let s = resolve(
        "marketplace:\n  backend: v2\n  fallback_on_error: false\n",
        &[],
        Flags::default(),
        BOTH,
    )
    .unwrap();
    assert_eq!(s.strategy(Operation::Info), BackendStrategy::V2Only);
}

#[test]
fn precedence_is_flag_env_file_default() {
    let yaml = "marketplace:\n  backend: v1\n";
    let s = resolve(
        yaml,
        &[("GGEN_MARKETPLACE_BACKEND", "compare")],
        Flags::default(),
        BOTH,
    )
    .unwrap();
    assert_eq!(s.strategy(Operation::Search), BackendStrategy::Compare);
    assert_eq!(
        s.strategies[&Operation::Search].source,
        Source::Env("GGEN_MARKETPLACE_BACKEND".into())
    );
    let flags = Flags {
        backend: Some(ggen_marketplace_core::BackendKind::V2),
        ..Flags::default()
    };
    let s = resolve(
        yaml,
        &[("GGEN_MARKETPLACE_BACKEND", "compare")],
        flags,
        BOTH,
    )
    .unwrap();
    assert_eq!(s.strategy(Operation::Search), BackendStrategy::V2Only);
}

#[test]
fn bad_input_names_the_key() {
    let e = resolve("marketplace:\n  bakend: v1\n", &[], Flags::default(), BOTH)
        .unwrap_err()
        .to_string();
    assert!(e.contains("bakend") && e.contains("c.yaml"), "{e}");
    let e = resolve("marketplace:\n  backend: v3\n", &[], Flags::default(), BOTH)
        .unwrap_err()
        .to_string();
    assert!(e.contains("v3"), "{e}");
    let e = resolve(
        "marketplace:\n  ab_testing:\n    v2_percentage: 150\n",
        &[],
        Flags::default(),
        BOTH,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("v2_percentage") && e.contains("150"), "{e}");
    let e = resolve(
        "marketplace:\n  operations:\n    serch: v2\n",
        &[],
        Flags::default(),
        BOTH,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("serch"), "{e}");
    let e = resolve(
        "",
        &[("GGEN_MARKETPLACE_V2_PERCENTAGE", "-1")],
        Flags::default(),
        BOTH,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("GGEN_MARKETPLACE_V2_PERCENTAGE"), "{e}");
    let e = resolve(
        "",
        &[("GGEN_MARKETPLACE_BACKEND", "v9")],
        Flags::default(),
        BOTH,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("v9"), "{e}");
}

#[test]
fn endpoint_update_url_is_derived() {
    let s = resolve(
        "",
        &[(
            "GGEN_MARKETPLACE_V2_ENDPOINT",
            "http://127.0.0.1:7878/query",
        )],
        Flags::default(),
        BOTH,
    )
    .unwrap();
    assert_eq!(
        s.v2_update_endpoint.as_deref(),
        Some("http://127.0.0.1:7878/update")
    );
}

#[test]
fn durations_parse() {
    assert_eq!(
        parse_duration("1h"),
        Some(std::time::Duration::from_secs(3600))
    );
    assert_eq!(
        parse_duration("30s"),
        Some(std::time::Duration::from_secs(30))
    );
    assert_eq!(
        parse_duration("45"),
        Some(std::time::Duration::from_secs(45))
    );
    assert_eq!(
        parse_duration("7d"),
        Some(std::time::Duration::from_secs(7 * 86400))
    );
    assert_eq!(parse_duration("h"), None);
    assert_eq!(parse_duration("5y"), None);
}

#[test]
fn endpoint_options_resolve_with_the_environment_first() {
    let yaml = "marketplace:\n  v2:\n    endpoint: http://h/sparql\n    graph: https://example.org/g\n    protocol: get\n    user: file-user\n    password: file-pw\n    ca_file: /etc/ca.pem\n    lock_url: http://etcd-file:2379\n";
    let s = resolve(yaml, &[], Flags::default(), BOTH).unwrap();
    let o = &s.v2_options;
    assert_eq!(o.lock_url.as_ref().unwrap().value, "http://etcd-file:2379");
    assert_eq!(o.graph.as_ref().unwrap().value, "https://example.org/g");
    assert_eq!(o.protocol.as_ref().unwrap().value, EndpointProtocol::Get);
    assert_eq!(
        o.auth,
        EndpointAuth::Basic {
            user: "file-user".into(),
            password: "file-pw".into()
        }
    );
    assert_eq!(o.ca_file.as_deref(), Some(Path::new("/etc/ca.pem")));
    let s = resolve(
        yaml,
        &[
            ("GGEN_MARKETPLACE_V2_GRAPH", "default"),
            ("GGEN_MARKETPLACE_V2_PASSWORD", "env-pw"),
            ("GGEN_MARKETPLACE_V2_LOCK_URL", "http://etcd-env:2379"),
        ],
        Flags::default(),
        BOTH,
    )
    .unwrap();
    assert_eq!(
        s.v2_options.lock_url.as_ref().unwrap().value,
        "http://etcd-env:2379"
    );
    assert_eq!(s.v2_options.graph.as_ref().unwrap().value, "default");
    assert_eq!(
        s.v2_options.auth,
        EndpointAuth::Basic {
            user: "file-user".into(),
            password: "env-pw".into()
        }
    );
}

#[test]
fn endpoint_secrets_are_never_serialized_or_debug_printed() {
    let s = resolve(
        "",
        &[
            ("GGEN_MARKETPLACE_V2_ENDPOINT", "http://h/sparql"),
            ("GGEN_MARKETPLACE_V2_USER", "alice"),
            ("GGEN_MARKETPLACE_V2_PASSWORD", "pw-s3cret"),
        ],
        Flags::default(),
        BOTH,
    )
    .unwrap();
    let json = serde_json::to_string(&s).unwrap();
    let debug = format!("{s:?}");
    for shown in [&json, &debug] {
        assert!(!shown.contains("pw-s3cret"), "{shown}");
        assert!(shown.contains("basic (user alice)"), "{shown}");
    }
    let s = resolve(
        "",
        &[("GGEN_MARKETPLACE_V2_TOKEN", "tok-s3cret")],
        Flags::default(),
        BOTH,
    )
    .unwrap();
    assert!(!format!("{s:?}{}", serde_json::to_string(&s).unwrap()).contains("tok-s3cret"));
}

#[test]
fn bad_endpoint_options_are_refused_naming_the_setting() {
    /// `config.yaml`, the environment, and what the error must say.
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);
    let cases: &[Case] = &[
        (
            "marketplace:\n  v2:\n    graph: not an iri\n",
            &[],
            "marketplace.v2.graph",
        ),
        (
            "",
            &[("GGEN_MARKETPLACE_V2_GRAPH", "<urn:x>")],
            "GGEN_MARKETPLACE_V2_GRAPH",
        ),
        (
            "marketplace:\n  v2:\n    protocol: soap\n",
            &[],
            "form, direct or get",
        ),
        (
            "",
            &[("GGEN_MARKETPLACE_V2_USER", "alice")],
            "GGEN_MARKETPLACE_V2_PASSWORD",
        ),
        (
            "",
            &[("GGEN_MARKETPLACE_V2_PASSWORD", "pw")],
            "GGEN_MARKETPLACE_V2_USER",
        ),
        (
            "",
            &[
                ("GGEN_MARKETPLACE_V2_USER", "a"),
                ("GGEN_MARKETPLACE_V2_PASSWORD", "pw"),
                ("GGEN_MARKETPLACE_V2_TOKEN", "t"),
            ],
            "keep one kind",
        ),
        (
            "",
            &[(
                "GGEN_MARKETPLACE_V2_ENDPOINT",
                "http://bob:pw-s3cret@h/sparql",
            )],
            "carries credentials",
        ),
    ];
    for (yaml, env, says) in cases {
        let e = resolve(yaml, env, Flags::default(), BOTH)
            .unwrap_err()
            .to_string();
        assert!(e.contains(says), "{yaml} {env:?}: {e}");
        assert!(!e.contains("pw-s3cret"), "{e}");
    }
}

#[cfg(feature = "marketplace-v2")]
#[test]
fn blob_settings_layer_env_over_file_and_keep_the_secret_out_of_json() {
    let yaml = "marketplace:\n  blobs:\n    url: s3://from-file/p\n    endpoint: http://127.0.0.1:3900\n    access_key_id: GKfile\n    secret_access_key: file-secret\n";
    let s = resolve(yaml, &[], Flags::default(), BOTH).unwrap();
    let b = s.blobs.clone().unwrap();
    assert_eq!(b.url.value, "s3://from-file/p");
    assert_eq!(b.region, "us-east-1");
    let s = resolve(
        yaml,
        &[
            ("GGEN_MARKETPLACE_BLOBS_URL", "s3://from-env"),
            ("GGEN_MARKETPLACE_BLOBS_SECRET_ACCESS_KEY", "env-secret"),
        ],
        Flags::default(),
        BOTH,
    )
    .unwrap();
    let b = s.blobs.clone().unwrap();
    assert_eq!(
        b.url.source,
        Source::Env("GGEN_MARKETPLACE_BLOBS_URL".into())
    );
    assert_eq!(b.secret_access_key.as_deref(), Some("env-secret"));
    assert_eq!(b.access_key_id.as_deref(), Some("GKfile"));
    let json = serde_json::to_string(&s).unwrap();
    let debug = format!("{s:?}");
    for secret in ["env-secret", "file-secret"] {
        assert!(
            !json.contains(secret) && !debug.contains(secret),
            "{json}\n{debug}"
        );
    }
    // Not a fleet without a shared endpoint; with one, V1 in the routing is refused.
    assert!(s.fleet_conflict().is_none());
    let fleet = [
        ("GGEN_MARKETPLACE_BLOBS_URL", "s3://bucket"),
        (
            "GGEN_MARKETPLACE_V2_ENDPOINT",
            "http://127.0.0.1:7878/query",
        ),
    ];
    let s = resolve("", &fleet, Flags::default(), BOTH).unwrap();
    let why = s.fleet_conflict().expect("V2 with fallback in a fleet");
    assert!(
        why.contains("every operation is routed v2 (fallback to v1) (default)"),
        "{why}"
    );
    let s = resolve("marketplace:\n  backend: v2\n  fallback: { enabled: false }\n  operations: { search: v1 }\n", &fleet, Flags::default(), BOTH).unwrap();
    let why = s.fleet_conflict().expect("search on V1 in a fleet");
    assert!(why.contains("search is routed v1 (file c.yaml)"), "{why}");
    let s = resolve(
        "marketplace: { backend: v2, fallback: { enabled: false } }\n",
        &fleet,
        Flags::default(),
        BOTH,
    )
    .unwrap();
    assert_eq!(s.fleet_conflict(), None);
}

#[test]
fn blob_settings_that_cannot_work_name_their_key() {
    let err = refused("marketplace:\n  blobs:\n    region: garage\n", &[]);
    assert!(
        err.contains("marketplace.blobs.region") && err.contains("url"),
        "{err}"
    );
    let v1_only = Compiled {
        v1: true,
        v2: false,
    };
    let err = resolve(
        "",
        &[("GGEN_MARKETPLACE_BLOBS_URL", "s3://bucket")],
        Flags::default(),
        v1_only,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("GGEN_MARKETPLACE_BLOBS_URL") && err.contains("no V2"),
        "{err}"
    );
}

#[cfg(feature = "marketplace-v2")]
#[test]
fn blob_urls_and_endpoints_are_checked_before_use() {
    for (yaml, key) in [
        (
            "marketplace:\n  blobs:\n    url: http://bucket\n",
            "marketplace.blobs.url",
        ),
        (
            "marketplace:\n  blobs:\n    url: s3://b/../x\n",
            "marketplace.blobs.url",
        ),
        (
            "marketplace:\n  blobs:\n    url: s3://bucket\n    endpoint: http://h/p?q\n",
            "marketplace.blobs.endpoint",
        ),
        (
            "marketplace:\n  blobs:\n    url: s3://bucket\n    access_key_id: GK1\n",
            "marketplace.blobs.secret_access_key",
        ),
    ] {
        let err = resolve(yaml, &[], Flags::default(), BOTH)
            .unwrap_err()
            .to_string();
        assert!(err.contains(key), "{yaml}: {err}");
    }
}

/// The error resolving `yaml` with `env` gives (both backends compiled).
fn refused(yaml: &str, env: &[(&str, &str)]) -> String {
    resolve(yaml, env, Flags::default(), BOTH)
        .unwrap_err()
        .to_string()
}

#[test]
fn a_writers_lock_without_an_endpoint_is_refused() {
    let err = refused("marketplace:\n  v2:\n    lock_url: http://etcd:2379\n", &[]);
    assert!(
        err.contains("marketplace.v2.lock_url") && err.contains("endpoint"),
        "{err}"
    );
    let err = refused("", &[("GGEN_MARKETPLACE_V2_LOCK_URL", "http://etcd:2379")]);
    assert!(err.contains("GGEN_MARKETPLACE_V2_LOCK_URL"), "{err}");
}
