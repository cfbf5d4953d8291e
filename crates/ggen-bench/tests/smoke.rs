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
    // The same graph queries in Python, when pyoxigraph is installed.
    let pyoxigraph = Command::new("python3")
        .args(["-c", "import pyoxigraph"])
        .output()
        .is_ok_and(|o| o.status.success());
    if pyoxigraph {
        args.push("--pyoxigraph");
    } else {
        eprintln!("not timing pyoxigraph: python3 cannot import it");
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
    for op in ["search one-word", "info", "versions"] {
        assert!(has("v2-sparql", op), "no v2-sparql {op} row");
        if pyoxigraph {
            assert!(has("pyoxigraph", op), "no pyoxigraph {op} row");
        }
    }
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
        assert!(has("v2-remote", "sync: catch-up after one write elsewhere"));
        assert!(has(
            "v2-remote",
            "sync: write elsewhere until searchable here"
        ));
    }
}

#[test]
fn eval_scores_both_backends_on_a_judgments_file() {
    use ggen_marketplace_v1::index::IndexFile;
    let dir = tempfile::tempdir().unwrap();
    let corpus =
        ggen_test_support::corpus::generate(&ggen_test_support::corpus::CorpusSpec::new(50));
    let registry = dir.path().join("registry");
    std::fs::create_dir_all(&registry).unwrap();
    std::fs::write(
        registry.join("index.json"),
        IndexFile::from_packages(&corpus, "eval-test", 1).to_json(),
    )
    .unwrap();
    // A query that is a package's own name finds it first: NDCG and MRR of 1.
    let name = &corpus[7].name;
    let judgments = dir.path().join("judgments.toml");
    std::fs::write(
        &judgments,
        format!("[[query]]\ntext = {name:?}\nkind = \"exact\"\ngrades = {{ {name:?} = 3 }}\n"),
    )
    .unwrap();
    let out = ggen_test_support::succeeded(
        Command::new(env!("CARGO_BIN_EXE_ggen-bench"))
            .args(["--eval", judgments.to_str().unwrap(), "--eval-registry"])
            .arg(&registry)
            .arg("--dir")
            .arg(dir.path().join("scratch"))
            .arg("--json")
            .output(),
        "ggen-bench --eval",
    );
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 2, "{rows:?}");
    for r in rows {
        assert_eq!(r["ndcg10"], 1.0, "{r}");
        assert_eq!(r["mrr10"], 1.0, "{r}");
    }
    // A judgments file that grades a package the registry lacks is refused.
    std::fs::write(
        &judgments,
        "[[query]]\ntext = \"x\"\nkind = \"exact\"\ngrades = { no-such-package = 3 }\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_ggen-bench"))
        .args(["--eval", judgments.to_str().unwrap(), "--eval-registry"])
        .arg(&registry)
        .arg("--dir")
        .arg(dir.path().join("scratch2"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-such-package"));
}
