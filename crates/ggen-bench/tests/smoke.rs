//! A smoke run of `ggen-bench` at 1k packages with a few iterations: every
//! group it has produces rows with real timings. (Figures from a debug build
//! mean nothing; BENCHMARKS.md has release figures.)

use std::process::Command;

#[test]
fn ggen_bench_runs_end_to_end_at_1k() {
    let bench = env!("CARGO_BIN_EXE_ggen-bench");
    let dir = tempfile::tempdir().unwrap();
    let mut args = vec![
        "--sizes",
        "1000",
        "--iterations",
        "3",
        "--process-runs",
        "2",
        "--json",
        "--signing",
    ];
    // The routing and whole-process groups need both backends in this build
    // (and the `ggen` binary of this build beside ggen-bench, which the
    // workspace test run builds); the remote group needs `oxigraph serve`.
    let parallel = cfg!(feature = "parallel");
    let ggen_built = std::path::Path::new(bench).with_file_name("ggen").is_file();
    let oxigraph = Command::new("oxigraph")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if parallel {
        args.push("--dual");
    }
    if parallel && ggen_built {
        args.extend(["--process", "--install"]);
    } else {
        eprintln!("not timing whole processes: no `ggen` of this build beside ggen-bench");
    }
    if oxigraph {
        args.push("--remote");
    } else {
        eprintln!("not timing the remote endpoint: `oxigraph` is not on PATH");
    }
    let out = ggen_test_support::succeeded(
        Command::new(bench)
            .args(&args)
            .arg("--dir")
            .arg(dir.path())
            .output(),
        "",
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = v["rows"].as_array().unwrap();
    let has = |backend: &str, op: &str| {
        rows.iter().any(|r| {
            r["backend"] == backend
                && r["operation"].as_str().unwrap().starts_with(op)
                && r["p50_us"].as_f64().unwrap() > 0.0
                && r["p99_us"].as_f64().unwrap() >= r["p50_us"].as_f64().unwrap()
        })
    };
    for backend in ["v1", "v2"] {
        for op in [
            "search exact-name",
            "search typo",
            "info",
            "versions",
            "resolve",
            "list",
        ] {
            assert!(has(backend, op), "no {backend} {op} row in {v}");
        }
        assert!(has(backend, "publish 1 MiB"), "{backend} publish");
    }
    assert!(has("v2-sparql-scan", "search one-word"));
    assert!(has("core", "verify (digest known)"));
    if parallel {
        for strategy in [
            "dual v1",
            "dual v2+fallback",
            "dual ab-test 50%",
            "dual compare",
        ] {
            assert!(has(strategy, "search one-word"), "{strategy}");
            assert!(has(strategy, "info"), "{strategy}");
        }
    }
    if parallel && ggen_built {
        assert!(has("v1", "search (whole process)"));
        assert!(has("v2", "search (whole process)"));
        assert!(has("v1->v2", "migrate (whole process)"));
        assert!(has("v1", "install 20-pkg tree"));
        assert!(has("v2", "resolve 1000x5"));
        let peak = rows
            .iter()
            .find(|r| r["operation"] == "search (whole process)")
            .unwrap()["peak_rss_kib"]
            .as_u64()
            .unwrap();
        assert!(peak > 1024, "a process under 1 MiB? {peak} KiB");
    }
    if oxigraph {
        assert!(has("v2-remote", "search one-word"));
        assert!(has("v2-remote", "info"));
    }
}
