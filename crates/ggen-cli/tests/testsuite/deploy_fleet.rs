//! The fleet manifests (deploy/k8s/fleet.yaml, deploy/compose/fleet.yaml)
//! against the binaries: three registry replicas whose flags and keys
//! `ggen` takes, pointed at the SPARQL server and the bucket the manifest
//! runs, with the keys the object store is started with; then the manifest's
//! own Garage configuration and arguments run by the real `garage`, and a
//! registry server given a replica's environment (hosts swapped for
//! loopback) starts as a servable fleet member.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ggen_test_support::{OxigraphServer, free_port, garage_available, oxigraph_available};
use serde::Deserialize;
use serde_json::Value;

use crate::common::{Home, serve_with};
use crate::deploy::{container_args, documents, flag_value, port_of, read_by_the_binary, root};

type Env = Vec<(String, String)>;

/// What a fleet manifest runs, in either format.
struct Fleet {
    /// Arguments and environment of each registry replica.
    replicas: Vec<(Vec<String>, Env)>,
    /// Where the manifest's SPARQL server and object store listen, as
    /// `http://host:port`.
    sparql: String,
    objects: String,
    /// The etcd writers take turns through, and its arguments.
    lock: String,
    lock_args: Vec<String>,
    /// The object store's arguments, environment and configuration file.
    store_args: Vec<String>,
    store_env: Env,
    garage_toml: String,
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect()
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

fn named<'a>(docs: &'a [Value], kind: &str, name: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name}"))
}

/// A k8s container's environment, secret references resolved from `secret`.
fn k8s_env(c: &Value, secret: &Value) -> Env {
    c["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let name = e["name"].as_str().unwrap().to_string();
            let value = match e["value"].as_str() {
                Some(v) => v.to_string(),
                None => {
                    let r = &e["valueFrom"]["secretKeyRef"];
                    assert_eq!(r["name"], secret["metadata"]["name"], "{name}");
                    secret["stringData"][r["key"].as_str().unwrap()]
                        .as_str()
                        .unwrap_or_else(|| panic!("{name}: no such key in the Secret"))
                        .to_string()
                }
            };
            (name, value)
        })
        .collect()
}

fn kubernetes() -> Fleet {
    let docs = documents("fleet.yaml");
    let secret = named(&docs, "Secret", "ggen-object-store");
    let set = named(&docs, "StatefulSet", "ggen-registry-fleet");
    let pod = &set["spec"]["template"]["spec"];
    let c = &pod["containers"][0];
    let replica = (strings(&c["args"]), k8s_env(c, secret));
    let replicas = vec![replica; set["spec"]["replicas"].as_u64().unwrap() as usize];

    // Reads reach every replica; writes only replica 0.
    let app = &set["spec"]["template"]["metadata"]["labels"]["app"];
    let reads = named(&docs, "Service", "ggen-registry");
    assert_eq!(&reads["spec"]["selector"]["app"], app);
    assert_eq!(reads["spec"]["selector"].as_object().unwrap().len(), 1);
    let writes = named(&docs, "Service", "ggen-registry-publish");
    assert_eq!(&writes["spec"]["selector"]["app"], app);
    assert_eq!(
        writes["spec"]["selector"]["statefulset.kubernetes.io/pod-name"],
        format!("{}-0", set["metadata"]["name"].as_str().unwrap())
    );
    for svc in [reads, writes] {
        assert_eq!(svc["spec"]["ports"][0]["targetPort"], c["ports"][0]["name"]);
    }
    let port = port_of(flag_value(&container_args(c), "--addr"));
    assert_eq!(c["ports"][0]["containerPort"], port);
    assert_eq!(
        set["spec"]["volumeClaimTemplates"][0]["metadata"]["name"],
        c["volumeMounts"][0]["name"]
    );

    let rdf = documents("rdf-store.yaml");
    let rdf_svc = crate::deploy::kind(&rdf, "Service");
    let sparql = format!(
        "http://{}:{}",
        rdf_svc["metadata"]["name"].as_str().unwrap(),
        rdf_svc["spec"]["ports"][0]["port"]
    );
    let store_svc = named(&docs, "Service", "ggen-object-store");
    let store = named(&docs, "StatefulSet", "ggen-object-store");
    let sc = &store["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(
        store_svc["spec"]["ports"][0]["targetPort"],
        sc["ports"][0]["name"]
    );
    let config = named(&docs, "ConfigMap", "ggen-object-store");
    let garage_toml = config["data"]["garage.toml"].as_str().unwrap().to_string();
    assert_eq!(
        sc["ports"][0]["containerPort"],
        s3_port(&garage_toml),
        "the container port is Garage's S3 port"
    );
    // The config file is mounted where the arguments read it.
    let args = strings(&sc["args"]);
    let file = Path::new(flag_value(&container_args(sc), "-c"));
    let mount = sc["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "config")
        .unwrap();
    assert_eq!(
        Path::new(mount["mountPath"].as_str().unwrap()),
        file.parent().unwrap()
    );
    assert_eq!(file.file_name().unwrap(), "garage.toml");
    let lock_svc = named(&docs, "Service", "ggen-writers-lock");
    let lock_set = named(&docs, "StatefulSet", "ggen-writers-lock");
    let lc = &lock_set["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(
        lock_svc["spec"]["ports"][0]["targetPort"],
        lc["ports"][0]["name"]
    );
    let lock_args = strings(&lc["command"]);
    assert_eq!(
        lc["ports"][0]["containerPort"],
        port_of(flag_value(&strs(&lock_args), "--listen-client-urls"))
    );
    Fleet {
        replicas,
        sparql,
        lock: format!(
            "http://{}:{}",
            lock_svc["metadata"]["name"].as_str().unwrap(),
            lock_svc["spec"]["ports"][0]["port"]
        ),
        lock_args,
        objects: format!(
            "http://{}:{}",
            store_svc["metadata"]["name"].as_str().unwrap(),
            store_svc["spec"]["ports"][0]["port"]
        ),
        store_args: args,
        store_env: k8s_env(sc, secret),
        garage_toml,
    }
}

fn compose() -> Fleet {
    let text = std::fs::read_to_string(root().join("deploy/compose/fleet.yaml")).unwrap();
    let doc = Value::deserialize(serde_norway::Deserializer::from_str(&text)).unwrap();
    let services = doc["services"].as_object().unwrap();
    let env = |s: &Value| -> Env {
        s["environment"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().map_or(v.to_string(), str::to_string)))
            .collect()
    };
    let mut replicas = Vec::new();
    let mut host_ports = Vec::new();
    for (name, s) in services.iter().filter(|(n, _)| n.starts_with("registry-")) {
        let args = strings(&s["command"]);
        let port = port_of(&args[args.iter().position(|a| a == "--addr").unwrap() + 1]);
        let published = s["ports"][0].as_str().unwrap();
        assert!(
            published.ends_with(&format!(":{port}")),
            "{name}: {published}"
        );
        host_ports.push(published.to_string());
        let volume = s["volumes"][0].as_str().unwrap();
        assert!(volume.ends_with(":/data"), "{name}: its own home at /data");
        replicas.push((args, env(s)));
    }
    host_ports.sort();
    host_ports.dedup();
    assert_eq!(
        host_ports.len(),
        replicas.len(),
        "each replica on its own host port"
    );
    let sparql_args = strings(&services["sparql"]["command"]);
    let bind = &sparql_args[sparql_args.iter().position(|a| a == "--bind").unwrap() + 1];
    let store = &services["objects"];
    let garage_toml = doc["configs"]["garage"]["content"]
        .as_str()
        .unwrap()
        .to_string();
    let file = Path::new(
        store["command"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .skip_while(|a| *a != "-c")
            .nth(1)
            .unwrap(),
    )
    .to_path_buf();
    assert_eq!(store["configs"][0]["source"], "garage");
    assert_eq!(
        Path::new(store["configs"][0]["target"].as_str().unwrap()),
        file
    );
    let lock_args = strings(&services["writers-lock"]["command"]);
    Fleet {
        replicas,
        lock: format!(
            "http://writers-lock:{}",
            port_of(flag_value(&strs(&lock_args), "--listen-client-urls"))
        ),
        lock_args,
        sparql: format!("http://sparql:{}", port_of(bind)),
        objects: format!("http://objects:{}", s3_port(&garage_toml)),
        store_args: strings(&store["command"]),
        store_env: env(store),
        garage_toml,
    }
}

fn s3_port(garage_toml: &str) -> u64 {
    let t: toml::Table = garage_toml.parse().unwrap();
    port_of(t["s3_api"]["api_bind_addr"].as_str().unwrap())
}

fn get<'a>(env: &'a Env, key: &str) -> &'a str {
    env.iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("{key} not set"))
}

/// What holds without running anything but `--help`.
fn check(fleet: &Fleet, what: &str) {
    assert_eq!(fleet.replicas.len(), 3, "{what}: three replicas");
    let help = Home::new()
        .bin()
        .args(["registry", "serve", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    for (args, env) in &fleet.replicas {
        assert_eq!(&args[..2], ["registry", "serve"], "{what}");
        for flag in args.iter().filter(|a| a.starts_with("--")) {
            assert!(
                help.contains(flag.as_str()),
                "{what}: `{flag}` is not a flag of ggen registry serve"
            );
        }
        for (k, _) in env {
            assert!(
                k == "RUST_LOG" || read_by_the_binary(k),
                "{what}: {k} is not read by the binary"
            );
        }
        assert_eq!(get(env, "GGEN_MARKETPLACE_BACKEND"), "v2", "{what}");
        assert_eq!(get(env, "GGEN_MARKETPLACE_FALLBACK"), "false", "{what}");
        assert_eq!(
            get(env, "GGEN_MARKETPLACE_V2_ENDPOINT"),
            format!("{}/query", fleet.sparql),
            "{what}"
        );
        assert_eq!(
            get(env, "GGEN_MARKETPLACE_BLOBS_ENDPOINT"),
            fleet.objects,
            "{what}"
        );
        assert_eq!(
            get(env, "GGEN_MARKETPLACE_V2_LOCK_URL"),
            fleet.lock,
            "{what}: the writers' lock is the manifest's etcd"
        );
        // The keys and bucket the object store is started with.
        let s = &fleet.store_env;
        assert_eq!(
            get(env, "GGEN_MARKETPLACE_BLOBS_ACCESS_KEY_ID"),
            get(s, "GARAGE_DEFAULT_ACCESS_KEY")
        );
        assert_eq!(
            get(env, "GGEN_MARKETPLACE_BLOBS_SECRET_ACCESS_KEY"),
            get(s, "GARAGE_DEFAULT_SECRET_KEY")
        );
        let bucket = get(env, "GGEN_MARKETPLACE_BLOBS_URL")
            .strip_prefix("s3://")
            .and_then(|u| u.split('/').next())
            .unwrap();
        assert_eq!(bucket, get(s, "GARAGE_DEFAULT_BUCKET"), "{what}");
        let t: toml::Table = fleet.garage_toml.parse().unwrap();
        assert_eq!(
            get(env, "GGEN_MARKETPLACE_BLOBS_REGION"),
            t["s3_api"]["s3_region"].as_str().unwrap()
        );
    }
    assert_eq!(
        fleet.store_args[0], "/garage",
        "{what}: the Garage image's binary"
    );
    assert_eq!(
        fleet.lock_args[0], "etcd",
        "{what}: the etcd image's binary"
    );
    assert_eq!(
        flag_value(&strs(&fleet.lock_args), "--advertise-client-urls"),
        fleet.lock,
        "{what}: etcd advertises the URL the replicas are given"
    );
}

/// Runs the manifest's Garage: its configuration with directories and
/// ports moved to this machine's, its arguments and environment. Returns
/// the process, its directory and its S3 port once the bucket answers.
fn start_garage(fleet: &Fleet) -> (std::process::Child, tempfile::TempDir, u16) {
    let dir = tempfile::tempdir().unwrap();
    let (s3, rpc) = (free_port(), free_port());
    let mut t: toml::Table = fleet.garage_toml.parse().unwrap();
    let at = |sub: &str| toml::Value::String(dir.path().join(sub).display().to_string());
    t.insert("metadata_dir".into(), at("meta"));
    t.insert("data_dir".into(), at("blocks"));
    t.insert("rpc_bind_addr".into(), format!("127.0.0.1:{rpc}").into());
    t.insert("rpc_public_addr".into(), format!("127.0.0.1:{rpc}").into());
    t["s3_api"]
        .as_table_mut()
        .unwrap()
        .insert("api_bind_addr".into(), format!("127.0.0.1:{s3}").into());
    let config = dir.path().join("garage.toml");
    std::fs::write(&config, toml::to_string(&t).unwrap()).unwrap();
    let mut args = fleet.store_args[1..].to_vec();
    let c = args.iter().position(|a| a == "-c").unwrap();
    args[c + 1] = config.display().to_string();
    let garage = |args: &[String]| {
        let mut cmd = Command::new("garage");
        cmd.args(args)
            .envs(fleet.store_env.iter().map(|(k, v)| (k, v)));
        cmd
    };
    let log = std::fs::File::create(dir.path().join("garage.log")).unwrap();
    let mut child = garage(&args)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let bucket = get(&fleet.store_env, "GARAGE_DEFAULT_BUCKET").to_string();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let info: Vec<String> = [
            "-c",
            &config.display().to_string(),
            "bucket",
            "info",
            &bucket,
        ]
        .map(String::from)
        .to_vec();
        if garage(&info)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap()
            .success()
        {
            break;
        }
        let exited = child.try_wait().unwrap();
        assert!(
            exited.is_none() && Instant::now() < deadline,
            "the manifest's Garage did not come up: {}",
            std::fs::read_to_string(dir.path().join("garage.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    (child, dir, s3)
}

fn http_get(url: &str) -> (u16, String) {
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest
        .split_once('/')
        .map_or((rest, "/".to_string()), |(h, p)| (h, format!("/{p}")));
    let mut s = std::net::TcpStream::connect(host).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let status = text.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, text)
}

#[test]
fn fleet_manifests_run_a_servable_fleet() {
    for (what, fleet) in [
        ("deploy/k8s/fleet.yaml", kubernetes()),
        ("deploy/compose/fleet.yaml", compose()),
    ] {
        check(&fleet, what);
        // A fleet member is V2 alone: a build without V2 cannot be one.
        if !cfg!(feature = "marketplace-v2") {
            continue;
        }
        if !garage_available("the fleet manifests' live check")
            || !oxigraph_available("the fleet manifests' live check")
        {
            continue;
        }
        let help = Command::new("garage")
            .args(["server", "--help"])
            .output()
            .unwrap();
        let help = String::from_utf8_lossy(&help.stdout).into_owned();
        for flag in fleet
            .store_args
            .iter()
            .skip_while(|a| *a != "server")
            .filter(|a| a.starts_with("--"))
        {
            assert!(
                help.contains(flag.as_str()),
                "{what}: `{flag}` is not a flag of garage server"
            );
        }
        let (mut garage, _garage_dir, s3) = start_garage(&fleet);
        let data = tempfile::tempdir().unwrap();
        let sparql = OxigraphServer::start(&data.path().join("graph"));
        // Replica 0's environment, its hosts swapped for the servers just started.
        let mut env = fleet.replicas[0].1.clone();
        for (k, v) in &mut env {
            match k.as_str() {
                "GGEN_MARKETPLACE_V2_ENDPOINT" => *v = sparql.query_url(),
                "GGEN_MARKETPLACE_BLOBS_ENDPOINT" => *v = format!("http://127.0.0.1:{s3}"),
                _ => {}
            }
        }
        env.retain(|(k, _)| !["GGEN_HOME", "GGEN_CONFIG_DIR", "RUST_LOG"].contains(&k.as_str()));
        let home = Home::new();
        let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let mut status = home.ggen();
        status.envs(pairs.iter().copied()).arg("status");
        let out = ggen_test_support::succeeded(status.output(), "status");
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(!text.contains("NOT SERVABLE"), "{what}: {text}");
        assert!(
            text.lines()
                .any(|l| l.starts_with("archives:") && l.contains("s3://")),
            "{what}: {text}"
        );
        let server = serve_with(&home, &pairs);
        let (code, body) = http_get(&format!("{}/readyz", server.url));
        assert_eq!(code, 200, "{what}: {body}");
        assert!(body.contains("\"ok\""), "{what}: {body}");
        drop(server);
        let _ = garage.kill();
        let _ = garage.wait();
    }
}
