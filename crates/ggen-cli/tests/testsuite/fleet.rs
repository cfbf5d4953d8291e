//! Registry servers as a fleet: two `ggen registry serve` processes with
//! separate homes (as on two hosts) over one `oxigraph serve` and one Garage
//! bucket. What one publishes, the other finds and installs; settings that
//! would serve stale V1 fallbacks are refused; a backup that could not
//! restore the shared archives is refused. And three servers with a
//! writers' lock in etcd publishing at once, racing the same versions, with
//! a server killed and the object store restarted between rounds.

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
    let token = token_on(&home_a, &env);
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

/// A command's (succeeded, stdout, stderr).
type Outcome = (bool, String, String);

/// A publish token for `tester` on `home`'s server (tokens are per server).
fn token_on(home: &Home, env: &[(&'static str, String)]) -> String {
    let mut c = std_bin(home.path(), "admin");
    c.envs(env.iter().map(|(k, v)| (k, v)));
    c.args([
        "registry", "token", "create", "--scope", "publish", "--owner", "tester",
    ]);
    c.args(["--package", "fleet-*"]);
    let out = ggen_test_support::succeeded(c.output(), "token create");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// What a server answers for a search of every `fleet-` package: names and
/// versions, in order.
fn catalogue_on(client: &Home, url: &str) -> Vec<(String, String)> {
    let v = client.json(&["search", "fleet", "--limit", "1000", "--registry", url]);
    let mut out: Vec<(String, String)> = v["hits"]
        .as_array()
        .unwrap_or_else(|| panic!("no hits in {v}"))
        .iter()
        .map(|h| {
            (
                h["name"].as_str().unwrap().to_string(),
                h["version"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

/// Three servers (separate homes, as on three hosts) over one SPARQL
/// server, one bucket and one etcd. In each round every server publishes a
/// package of its own and all three race the same version; one server is
/// killed and started again, and the object store restarted, between
/// rounds. Every server must then answer alike within 2 s, with nothing
/// lost and nothing twice.
#[test]
fn three_servers_publish_at_once_and_answer_alike() {
    if !garage_available("a fleet of three")
        || !oxigraph_available("a fleet of three")
        || !ggen_test_support::etcd_available("a fleet of three")
    {
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let sparql = OxigraphServer::start(&data.path().join("graph"));
    let mut store = GarageServer::start();
    let etcd = ggen_test_support::EtcdServer::start();
    let mut env = fleet_env(&sparql, &store);
    env.push(("GGEN_MARKETPLACE_V2_LOCK_URL", etcd.url()));
    let homes: Vec<Home> = (0..3).map(|_| Home::new()).collect();
    let tokens: Vec<String> = homes.iter().map(|h| token_on(h, &env)).collect();
    let mut servers: Vec<_> = homes.iter().map(|h| serve_with(h, &pairs(&env))).collect();
    let client = Home::new();
    let mut expected: Vec<(String, String)> = Vec::new();

    for round in 0..3 {
        let dirs = tempfile::tempdir().unwrap();
        let raced = package_dir(
            &dirs.path().join("raced"),
            "fleet-raced",
            &format!("1.0.{round}"),
            "raced by three servers",
            &[],
        );
        let own: Vec<_> = (0..3)
            .map(|i| {
                let name = format!("fleet-s{i}-r{round}");
                package_dir(
                    &dirs.path().join(&name),
                    &name,
                    "1.0.0",
                    "one server's own",
                    &[],
                )
            })
            .collect();
        let urls: Vec<String> = servers.iter().map(|s| s.url.clone()).collect();
        // Per server: (its own package's publish, its try at the raced one).
        let results: Vec<(Outcome, Outcome)> = std::thread::scope(|s| {
            let running: Vec<_> = (0..3)
                .map(|i| {
                    let (client, own, raced) = (&client, &own[i], &raced);
                    let (url, token) = (&urls[i], &tokens[i]);
                    s.spawn(move || {
                        let raced = client.publish_to(raced, url, token);
                        (client.publish_to(own, url, token), raced)
                    })
                })
                .collect();
            running.into_iter().map(|t| t.join().unwrap()).collect()
        });
        for ((ok, _, err), _) in &results {
            assert!(ok, "round {round}: a server's own package: {err}");
        }
        let won: Vec<_> = results.iter().filter(|(_, r)| r.0).collect();
        assert_eq!(
            won.len(),
            1,
            "round {round}: one server wins the race: {results:?}"
        );
        for (_, (ok, _, err)) in &results {
            assert!(
                *ok || err.contains("already published"),
                "round {round}: the others get the usual conflict: {err}"
            );
        }
        for i in 0..3 {
            expected.push((format!("fleet-s{i}-r{round}"), "1.0.0".into()));
        }
        expected.retain(|(n, _)| n != "fleet-raced");
        expected.push(("fleet-raced".into(), format!("1.0.{round}")));
        expected.sort();

        // Every server answers alike within 2 s of the last write.
        let written = Instant::now();
        loop {
            let answers: Vec<_> = urls.iter().map(|u| catalogue_on(&client, u)).collect();
            if answers.iter().all(|a| *a == expected) {
                break;
            }
            assert!(
                written.elapsed() < Duration::from_secs(2),
                "round {round}: not alike 2 s after the writes: {answers:?}, expected {expected:?}"
            );
        }
        let versions: Vec<_> = urls
            .iter()
            .map(|u| client.json(&["versions", "fleet-raced", "--registry", u]))
            .collect();
        assert!(versions.iter().all(|v| *v == versions[0]), "{versions:?}");

        match round {
            // A server killed and started again (same home) loses nothing.
            0 => {
                drop(servers.remove(1));
                servers.insert(1, serve_with(&homes[1], &pairs(&env)));
            }
            // Nor does restarting the object store between writes.
            1 => store.restart(),
            _ => {}
        }
    }
    // Each server installs what another published.
    for (i, s) in servers.iter().enumerate() {
        let target = tempfile::tempdir().unwrap();
        let other = format!("fleet-s{}-r2", (i + 1) % 3);
        client.succeeds_in(target.path(), &["install", &other, "--registry", &s.url]);
        assert!(target.path().join("ggen.lock").is_file());
    }
}
