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
use ggen_marketplace_core::model::PackageVersion;
use ggen_marketplace_core::search::SearchQuery;
use ggen_marketplace_v2::{Endpoint, ExportFormat, REMOTE_FRESHNESS, V2Backend};

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
    run_backend(n, "v2-remote", &v2, c.corpus, c.iterations, rows)?;
    sync_rows(n, &v2, &base, &local, c.iterations.clamp(2, 20), rows)
}

/// How a write through one registry server reaches another over the same
/// endpoint. The writer starts from a copy of the reader's term index (a
/// server provisioned from a snapshot), so its first write does not rebuild;
/// one write goes before the measured ones, which the reader meets with a
/// rebuild (see below).
/// Rows: the reader's catch-up itself (its first search once the
/// generation it trusted has expired), that catch-up's three phases as the
/// reader's counters timed them, and the time from the writer's publish
/// returning until the reader's search finds the package, polling every
/// 5 ms (at most [`REMOTE_FRESHNESS`] plus the catch-up). `writes` samples
/// each.
fn sync_rows(
    n: usize,
    reader: &V2Backend,
    base: &str,
    reader_dir: &std::path::Path,
    writes: usize,
    rows: &mut Vec<Row>,
) -> Result<()> {
    let writer_dir = reader_dir.with_file_name(format!("remote-writer-{n}"));
    let _ = std::fs::remove_dir_all(&writer_dir);
    copy_dir(reader_dir, &writer_dir)?;
    let mut endpoint = Endpoint::new(format!("{base}/query"), format!("{base}/update"));
    endpoint.timeout = Duration::from_secs(600);
    let writer = V2Backend::remote_with(endpoint, &writer_dir)?;
    // The graph came from `oxigraph load` without a change feed, so the
    // reader's index is of no known history and its first sync is a
    // rebuild; once that is done, every later one can be a catch-up.
    publish_probe(&writer, "sync-probe-first")?;
    std::thread::sleep(REMOTE_FRESHNESS);
    reader.search(&SearchQuery::text("sync-probe-first"))?;
    let before = reader.index_refreshes();
    let (mut catch_up, mut visible) = (Vec::new(), Vec::new());
    // Where each catch-up's time went, from the reader's own counters.
    let (mut read, mut index, mut save) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..writes {
        let name = format!("sync-probe-{i}");
        publish_probe(&writer, &name)?;
        std::thread::sleep(REMOTE_FRESHNESS);
        let counted = reader.index_refreshes();
        let t = Instant::now();
        let found = reader.search(&SearchQuery::text(&name))?;
        catch_up.push(t.elapsed());
        let now = reader.index_refreshes();
        read.push(now.catch_up_read - counted.catch_up_read);
        index.push(now.catch_up_index - counted.catch_up_index);
        save.push(now.catch_up_save - counted.catch_up_save);
        anyhow::ensure!(
            found.hits.iter().any(|h| h.name == name),
            "{name} not found after a catch-up"
        );

        let name = format!("sync-probe-{i}-polled");
        // Let the reader's trust in the generation just read run out at a
        // different point of each poll, as writes arrive in a real fleet.
        std::thread::sleep(REMOTE_FRESHNESS / writes as u32 * i as u32);
        publish_probe(&writer, &name)?;
        let t = Instant::now();
        while !reader
            .search(&SearchQuery::text(&name))?
            .hits
            .iter()
            .any(|h| h.name == name)
        {
            anyhow::ensure!(
                t.elapsed() < Duration::from_secs(120),
                "{name} never became searchable"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        visible.push(t.elapsed());
    }
    let after = reader.index_refreshes();
    anyhow::ensure!(
        after.rebuilt == before.rebuilt,
        "the reader rebuilt its index instead of catching up ({before:?} -> {after:?})"
    );
    for (operation, samples) in [
        ("sync: catch-up after one write elsewhere", catch_up),
        ("sync: catch-up, reading feed and packages", read),
        ("sync: catch-up, new term index in memory", index),
        ("sync: catch-up, saving the index", save),
        ("sync: write elsewhere until searchable here", visible),
    ] {
        let (first, total) = (samples[0], samples.iter().sum());
        rows.push(Row::from_samples(
            n,
            "v2-remote",
            operation,
            first,
            samples,
            total,
        ));
    }
    Ok(())
}

fn publish_probe(writer: &V2Backend, name: &str) -> Result<()> {
    let archive = ggen_marketplace_core::archive::pack_entries(&[("README.md", name.as_bytes())])?;
    let mut v = PackageVersion::new(name, "1.0.0".parse()?);
    v.description = format!("probe {name} for the sync rows");
    v.checksum = Some(ggen_marketplace_core::checksum::sha256_hex(&archive));
    writer.publish(&v, &archive)?;
    Ok(())
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}
