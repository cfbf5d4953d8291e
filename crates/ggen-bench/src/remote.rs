//! Rows for V2 over a real SPARQL endpoint: the embedded graph is dumped to
//! N-Triples, bulk-loaded with `oxigraph load` into a fresh directory and
//! served by `oxigraph serve` on loopback (`pip install oxigraph`); then the
//! same operations as the embedded rows run through `V2Backend::remote`.
//! Loading through our own SPARQL `INSERT DATA` batches would measure the
//! import path instead (100k packages take minutes over HTTP).

use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use ggen_marketplace_core::MarketplaceBackend;
use ggen_marketplace_core::search::SearchQuery;
use ggen_marketplace_v2::{Endpoint, ExportFormat, V2Backend};

use crate::{Catalogue, Row, run_backend};

/// `oxigraph serve`, stopped when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn rows(
    c: Catalogue<'_>,
    setup: &mut std::collections::BTreeMap<String, f64>,
    rows: &mut Vec<Row>,
) -> Result<()> {
    let (n, root) = (c.n, c.root);
    let dump = root.join(format!("graph-{n}.nt"));
    {
        let v2 = V2Backend::open_embedded(c.registry)?;
        std::fs::write(&dump, v2.export(ExportFormat::NTriples)?)?;
    }
    let location = root.join(format!("oxigraph-{n}"));
    let _ = std::fs::remove_dir_all(&location);
    let t = Instant::now();
    let status = Command::new("oxigraph")
        .args(["load", "--location"])
        .arg(&location)
        .arg("--file")
        .arg(&dump)
        // Into the graph the client reads, as on any shared endpoint.
        .args(["--graph", ggen_marketplace_v2::DEFAULT_GRAPH])
        .stdout(Stdio::null())
        .status()
        .context("running `oxigraph load` (pip install oxigraph)")?;
    anyhow::ensure!(status.success(), "oxigraph load failed: {status}");
    setup.insert(format!("oxigraph load {n}"), t.elapsed().as_secs_f64());

    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let _server = Server(
        Command::new("oxigraph")
            .args(["serve", "--location"])
            .arg(&location)
            .args(["--bind", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting `oxigraph serve`")?,
    );
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        anyhow::ensure!(Instant::now() < deadline, "oxigraph serve did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    // The client's term index lives beside it (see the V2 crate's docs): a
    // fresh directory, so the first search builds it from the endpoint.
    let local = root.join(format!("remote-client-{n}"));
    let _ = std::fs::remove_dir_all(&local);
    // Longer than the CLI's search timeout: the first call builds the client's
    // term index from the whole graph, and that is what "first" should show.
    let mut endpoint = Endpoint::new(format!("{base}/query"), format!("{base}/update"));
    endpoint.timeout = Duration::from_secs(600);
    let v2 = V2Backend::remote_with(endpoint, &local)?;
    let t = Instant::now();
    v2.generation().context("asking the endpoint")?;
    setup.insert(
        format!("v2-remote first request {n}"),
        t.elapsed().as_secs_f64(),
    );
    // The first search builds the client's term index from the endpoint
    // (`BATCH` packages per query); run_backend's own first calls come after it.
    let t = Instant::now();
    v2.search(&SearchQuery::text("graph"))
        .context("first search over the endpoint")?;
    setup.insert(
        format!("v2-remote first search, building the term index {n}"),
        t.elapsed().as_secs_f64(),
    );
    run_backend(n, "v2-remote", &v2, c.corpus, c.iterations, rows)
}
