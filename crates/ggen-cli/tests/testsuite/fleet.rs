//! Registry servers as a fleet: two `ggen registry serve` processes with
//! separate homes (as on two hosts) over one `oxigraph serve` and one Garage
//! bucket. What one publishes, the other finds and installs; settings that
//! would serve stale V1 fallbacks are refused; a backup that could not
//! restore the shared archives is refused.

use std::process::Stdio;
use std::time::{Duration, Instant};

use ggen_test_support::garage::{self, GarageServer};
use ggen_test_support::{OxigraphServer, garage_available, oxigraph_available};

use crate::common::{Home, package_dir, serve_with, std_bin};

/// The environment of one fleet member.
fn fleet_env(sparql: &OxigraphServer, store: &GarageServer) -> Vec<(&'static str, String)> {
    vec![
        ("GGEN_MARKETPLACE_V2_ENDPOINT", sparql.query_url()),
        ("GGEN_MARKETPLACE_BLOBS_URL", store.url("fleet")),
        ("GGEN_MARKETPLACE_BLOBS_ENDPOINT", store.endpoint()),
        ("GGEN_MARKETPLACE_BLOBS_REGION", garage::REGION.into()),
        (
            "GGEN_MARKETPLACE_BLOBS_ACCESS_KEY_ID",
            garage::ACCESS_KEY_ID.into(),
        ),
        (
            "GGEN_MARKETPLACE_BLOBS_SECRET_ACCESS_KEY",
            garage::SECRET_ACCESS_KEY.into(),
        ),
        ("GGEN_MARKETPLACE_BACKEND", "v2".into()),
        ("GGEN_MARKETPLACE_FALLBACK", "false".into()),
    ]
}

fn pairs<'a>(env: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    env.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

#[test]
fn what_one_server_publishes_another_installs() {
    if !garage_available("fleet") || !oxigraph_available("fleet") {
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let sparql = OxigraphServer::start(&data.path().join("graph"));
    let store = GarageServer::start();
    let env = fleet_env(&sparql, &store);
    let (home_a, home_b) = (Home::new(), Home::new());
    // Tokens are per server (see docs/operations.md): A's, for A.
    let token = {
        let mut c = std_bin(home_a.path(), "admin");
        c.envs(env.iter().map(|(k, v)| (k, v)));
        c.args([
            "registry", "token", "create", "--scope", "publish", "--owner", "tester",
        ]);
        c.args(["--package", "fleet-*"]);
        let out = ggen_test_support::succeeded(c.output(), "token create");
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    let a = serve_with(&home_a, &pairs(&env));
    let b = serve_with(&home_b, &pairs(&env));

    let client = Home::new();
    let src = package_dir(
        client.path(),
        "fleet-pkg",
        "1.0.0",
        "published through A",
        &[],
    );
    let (ok, _, err) = client.publish_to(&src, &a.url, &token);
    assert!(ok, "publish through A: {err}");

    let info = client.json(&["info", "fleet-pkg", "--registry", &b.url]);
    assert_eq!(info["versions"].as_array().map(Vec::len), Some(1), "{info}");
    let target = tempfile::tempdir().unwrap();
    client.succeeds_in(
        target.path(),
        &["install", "fleet-pkg", "--registry", &b.url],
    );
    assert!(target.path().join("ggen.lock").is_file());
    // Neither server keeps the archive on its own disk.
    for home in [&home_a, &home_b] {
        let blobs = home.path().join("registry/blobs");
        assert!(!blobs.exists(), "{} exists", blobs.display());
    }
}

/// Runs `cmd` to its end, or kills it after `limit` and says so: a server
/// that should have refused to start must not hang the test run.
fn finished_within(mut cmd: std::process::Command, limit: Duration) -> std::process::Output {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + limit;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "still running after {limit:?} (it should have refused to start): {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn a_fleet_that_could_reach_v1_is_refused_and_status_says_why() {
    if !garage_available("fleet refusal") || !oxigraph_available("fleet refusal") {
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let sparql = OxigraphServer::start(&data.path().join("graph"));
    let store = GarageServer::start();
    let mut env = fleet_env(&sparql, &store);
    // The defaults: V2 with fallback to V1 where V1 is compiled.
    env.retain(|(k, _)| *k != "GGEN_MARKETPLACE_BACKEND" && *k != "GGEN_MARKETPLACE_FALLBACK");
    let home = Home::new();
    let cmd = |env: &[(&str, String)], args: &[&str]| {
        let mut c = std_bin(home.path(), "admin");
        c.envs(env.iter().map(|(k, v)| (k, v)));
        c.args(args);
        c
    };
    let status = |env: &[(&str, String)]| {
        let out = finished_within(
            cmd(env, &["marketplace", "status"]),
            Duration::from_secs(60),
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let text = status(&env);
    assert!(text.contains(&store.url("fleet")), "{text}");
    if cfg!(feature = "marketplace-v1") {
        let out = finished_within(
            cmd(&env, &["registry", "serve", "--addr", "127.0.0.1:0"]),
            Duration::from_secs(60),
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "served a fleet with V1 fallbacks");
        for needle in [
            "refusing to serve",
            "single-node",
            "marketplace.backend: v2",
        ] {
            assert!(stderr.contains(needle), "no {needle:?} in: {stderr}");
        }
        assert!(text.contains("NOT SERVABLE"), "{text}");
        // With V2 alone the same fleet is servable.
        env.push(("GGEN_MARKETPLACE_BACKEND", "v2".into()));
        env.push(("GGEN_MARKETPLACE_FALLBACK", "false".into()));
        let text = status(&env);
        assert!(!text.contains("NOT SERVABLE"), "{text}");
    } else {
        // A build without V1 cannot reach it: the defaults are servable.
        assert!(!text.contains("NOT SERVABLE"), "{text}");
    }
}

#[test]
fn blob_settings_that_cannot_work_are_named() {
    let home = Home::new();
    let run = |envs: &[(&str, &str)], args: &[&str]| {
        let mut c = std_bin(home.path(), "u");
        c.envs(envs.iter().copied());
        c.args(args);
        let out = c.output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, err) = run(
        &[("GGEN_MARKETPLACE_BLOBS_ACCESS_KEY_ID", "GK1")],
        &["marketplace", "status"],
    );
    assert!(
        !ok && err.contains("GGEN_MARKETPLACE_BLOBS_ACCESS_KEY_ID"),
        "{err}"
    );
    assert!(err.contains("s3://bucket"), "{err}");
    let (ok, err) = run(
        &[("GGEN_MARKETPLACE_BLOBS_URL", "s3://../etc")],
        &["marketplace", "status"],
    );
    assert!(
        !ok && err.contains("GGEN_MARKETPLACE_BLOBS_URL") && err.contains("bucket"),
        "{err}"
    );
    home.write_config(
        "marketplace:\n  blobs:\n    url: s3://ggen-archives\n    endpoint: ftp://host\n",
    );
    let (ok, err) = run(&[], &["marketplace", "status"]);
    assert!(!ok && err.contains("marketplace.blobs.endpoint"), "{err}");
    // A backup of a registry whose archives are elsewhere would not restore them.
    home.write_config(
        "marketplace:\n  blobs:\n    url: s3://ggen-archives\n    endpoint: http://127.0.0.1:9\n",
    );
    let out = home.path().join("b.tar.gz");
    let (ok, err) = run(
        &[],
        &[
            "marketplace",
            "backup",
            "create",
            "--output",
            out.to_str().unwrap(),
        ],
    );
    assert!(
        !ok && err.contains("s3://ggen-archives") && err.contains("bucket"),
        "{err}"
    );
    assert!(!out.exists());
}
