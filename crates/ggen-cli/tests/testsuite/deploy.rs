//! deploy/k8s and the Dockerfile against the binary: flags the server really
//! takes, ports and probe paths it really serves, environment keys it really
//! reads, and the Oxigraph service the V2 endpoint points at.

use crate::common;

use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

pub(crate) fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .parent()
        .unwrap()
}

pub(crate) fn documents(file: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(root().join("deploy/k8s").join(file)).unwrap();
    serde_norway::Deserializer::from_str(&text)
        .map(|d| Value::deserialize(d).unwrap())
        .collect()
}

pub(crate) fn kind<'a>(docs: &'a [Value], kind: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind}"))
}

/// Every `GGEN_*` key must be read somewhere in the binary's sources.
pub(crate) fn read_by_the_binary(key: &str) -> bool {
    fn walk(dir: &Path, key: &str) -> bool {
        std::fs::read_dir(dir).unwrap().flatten().any(|e| {
            let p = e.path();
            if p.is_dir() {
                walk(&p, key)
            } else {
                p.extension().is_some_and(|x| x == "rs")
                    && std::fs::read_to_string(&p)
                        .unwrap()
                        .contains(&format!("\"{key}\""))
            }
        })
    }
    std::fs::read_dir(root().join("crates"))
        .unwrap()
        .flatten()
        .any(|c| c.path().join("src").is_dir() && walk(&c.path().join("src"), key))
}

/// A manifest container's `args`, as strings.
pub(crate) fn container_args(c: &Value) -> Vec<&str> {
    c["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect()
}

/// The argument right after `flag` in `args`.
pub(crate) fn flag_value<'a>(args: &[&'a str], flag: &str) -> &'a str {
    args[args.iter().position(|a| *a == flag).unwrap() + 1]
}

pub(crate) fn port_of(addr: &str) -> u64 {
    addr.rsplit(':').next().unwrap().parse().unwrap()
}

#[test]
fn registry_manifest_matches_the_binary() {
    let docs = documents("v2-registry.yaml");
    let deploy = kind(&docs, "Deployment");
    let pod = &deploy["spec"]["template"];
    let c = &pod["spec"]["containers"][0];
    let args = container_args(c);
    assert_eq!(&args[..2], ["registry", "serve"]);

    // Every flag is one `ggen registry serve` takes.
    let help = common::Home::new()
        .bin()
        .args(["registry", "serve", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    for flag in args.iter().filter(|a| a.starts_with("--")) {
        assert!(
            help.contains(flag),
            "`{flag}` is not a flag of ggen registry serve"
        );
    }
    let port = port_of(flag_value(&args, "--addr"));
    let ports = c["ports"].as_array().unwrap();
    assert_eq!(ports[0]["containerPort"], port);
    let port_name = ports[0]["name"].as_str().unwrap();
    assert_eq!(
        pod["metadata"]["annotations"]["prometheus.io/port"],
        port.to_string()
    );
    assert_eq!(
        pod["metadata"]["annotations"]["prometheus.io/path"],
        "/metrics"
    );

    // Probes on the server's operations endpoints.
    assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/readyz");
    for probe in ["livenessProbe", "readinessProbe"] {
        assert_eq!(c[probe]["httpGet"]["port"], port_name, "{probe}");
    }
    let service = kind(&docs, "Service");
    assert_eq!(service["spec"]["ports"][0]["targetPort"], port_name);

    // Environment: keys the binary reads, values it accepts.
    for e in c["env"].as_array().unwrap() {
        let name = e["name"].as_str().unwrap();
        assert!(
            name == "RUST_LOG" || read_by_the_binary(name),
            "{name} is not read by the binary"
        );
    }
    let env = |k: &str| {
        c["env"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == k)
            .and_then(|e| e["value"].as_str())
            .unwrap_or_else(|| panic!("{k} not set"))
            .to_string()
    };
    // The values are accepted (a build with both backends, as the image has).
    let home = common::Home::new();
    let status = home
        .ggen()
        .env("GGEN_MARKETPLACE_BACKEND", env("GGEN_MARKETPLACE_BACKEND"))
        .env(
            "GGEN_MARKETPLACE_FALLBACK",
            env("GGEN_MARKETPLACE_FALLBACK"),
        )
        .args(["status", "--json"])
        .output()
        .unwrap();
    assert!(
        status.status.success() || !cfg!(feature = "marketplace-parallel"),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );

    // The V2 endpoint is the Oxigraph service of rdf-store.yaml, at /query.
    let endpoint = env("GGEN_MARKETPLACE_V2_ENDPOINT");
    let store = documents("rdf-store.yaml");
    let svc = kind(&store, "Service");
    let expected = format!(
        "http://{}:{}/query",
        svc["metadata"]["name"].as_str().unwrap(),
        svc["spec"]["ports"][0]["port"]
    );
    assert_eq!(endpoint, expected);
}

#[test]
fn rdf_store_manifest_serves_sparql_on_its_port() {
    let docs = documents("rdf-store.yaml");
    let set = kind(&docs, "StatefulSet");
    let c = &set["spec"]["template"]["spec"]["containers"][0];
    let args = container_args(c);
    assert_eq!(args[0], "serve");
    let bind = flag_value(&args, "--bind");
    assert_eq!(c["ports"][0]["containerPort"], port_of(bind));
    let location = flag_value(&args, "--location");
    assert_eq!(c["volumeMounts"][0]["mountPath"], location);
    assert_eq!(
        set["spec"]["volumeClaimTemplates"][0]["metadata"]["name"],
        c["volumeMounts"][0]["name"]
    );
    let svc = kind(&docs, "Service");
    assert_eq!(svc["spec"]["ports"][0]["targetPort"], c["ports"][0]["name"]);
}

#[test]
fn dockerfile_serves_on_the_port_it_exposes() {
    let text = std::fs::read_to_string(root().join("Dockerfile")).unwrap();
    let exposed: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("EXPOSE "))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let cmd = text.lines().find(|l| l.starts_with("CMD ")).unwrap();
    let cmd: Vec<String> = serde_json::from_str(cmd.trim_start_matches("CMD ")).unwrap();
    assert_eq!(&cmd[..2], ["registry", "serve"]);
    let addr = &cmd[cmd.iter().position(|a| a == "--addr").unwrap() + 1];
    assert_eq!(port_of(addr), exposed);
    assert!(text.contains("ENTRYPOINT [\"ggen\"]"));
    assert!(text.contains("-p ggen-cli"), "builds the ggen binary");
}
