//! A real OpenLink Virtuoso 7 (Debian's `virtuoso-opensource-7-bin`) on
//! loopback ports, for tests of V2 over a SPARQL server that is not
//! Oxigraph. Each server has its own database in a temporary directory and
//! is stopped (and deleted) when dropped.
//!
//! Virtuoso differs from `oxigraph serve` where it matters to a client: one
//! URL (`/sparql`) takes queries and updates, the default graph of a query
//! is the union of every graph, updates need a graph, ASK comes back as a
//! one-column table, booleans as `1`/`0`. Anonymous SPARQL updates are
//! granted at start (`GRANT SPARQL_UPDATE TO "SPARQL"`), as an operator
//! would for a private endpoint.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::oxigraph::free_port;

/// A running `virtuoso-t`.
pub struct VirtuosoServer {
    child: Child,
    http_port: u16,
    /// The HTTPS port, for a server started with [`VirtuosoServer::start_tls`].
    https_port: Option<u16>,
    dir: TempDir,
}

/// Whether `virtuoso-t` and `isql-vt` are installed. Without them a test
/// says `SKIP` (naming `what`) and passes, except under `CI`, where it
/// fails: CI installs them (`scripts/test-setup`).
pub fn available(what: &str) -> bool {
    let found = ["virtuoso-t", "isql-vt"].iter().all(|bin| {
        Command::new("sh")
            .args(["-c", &format!("command -v {bin}")])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    });
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "`virtuoso-t` is not on PATH (apt-get install virtuoso-opensource-7-bin) and CI is set"
        );
        eprintln!(
            "SKIP {what}: no `virtuoso-t` on PATH; `apt-get install virtuoso-opensource-7-bin` to run it"
        );
    }
    found
}

impl VirtuosoServer {
    /// A fresh database served on free ports, once `/sparql` answers and
    /// updates are granted.
    pub fn start() -> Self {
        Self::launch(false, 10_000_000)
    }

    /// [`Self::start`] with `[SPARQL] ResultSetMaxRows` set to `rows`: a
    /// server that cuts long answers short (and says so in a header).
    pub fn start_with_max_rows(rows: u64) -> Self {
        Self::launch(false, rows)
    }

    /// [`Self::start`], also serving `/sparql` over HTTPS with a certificate
    /// for 127.0.0.1 signed by a CA of its own ([`Self::ca_file`]), made
    /// with `openssl`.
    pub fn start_tls() -> Self {
        Self::launch(true, 10_000_000)
    }

    fn launch(tls: bool, max_rows: u64) -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let (sql_port, http_port) = (free_port(), free_port());
        let https_port = tls.then(free_port);
        if tls {
            make_certificates(dir.path());
        }
        let d = dir.path().display();
        let ssl = match https_port {
            Some(port) => format!(
                "SSLPort = 127.0.0.1:{port}\nSSLCertificate = {d}/server.pem\nSSLPrivateKey = {d}/server.key\n"
            ),
            None => String::new(),
        };
        let ini = format!(
            "[Database]\n\
             DatabaseFile = {d}/virtuoso.db\n\
             ErrorLogFile = {d}/virtuoso.log\n\
             TransactionFile = {d}/virtuoso.trx\n\
             xa_persistent_file = {d}/virtuoso.pxa\n\
             FileExtend = 200\n\
             Striping = 0\n\
             TempStorage = TempDatabase\n\
             [TempDatabase]\n\
             DatabaseFile = {d}/virtuoso-temp.db\n\
             TransactionFile = {d}/virtuoso-temp.trx\n\
             Striping = 0\n\
             [Parameters]\n\
             ServerPort = 127.0.0.1:{sql_port}\n\
             ServerThreads = 10\n\
             CheckpointInterval = 60\n\
             NumberOfBuffers = 10000\n\
             MaxDirtyBuffers = 6000\n\
             DirsAllowed = ., {d}\n\
             [HTTPServer]\n\
             ServerPort = 127.0.0.1:{http_port}\n\
             {ssl}\
             ServerRoot = {d}\n\
             MaxClientConnections = 10\n\
             ServerThreads = 10\n\
             [SPARQL]\n\
             ResultSetMaxRows = {max_rows}\n\
             MaxQueryExecutionTime = 120\n"
        );
        let ini_path = dir.path().join("virtuoso.ini");
        std::fs::write(&ini_path, ini).expect("write virtuoso.ini");
        let child = Command::new("virtuoso-t")
            .args(["+foreground", "+configfile"])
            .arg(&ini_path)
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn virtuoso-t");
        let server = Self {
            child,
            http_port,
            https_port,
            dir,
        };
        let deadline = Instant::now() + Duration::from_secs(120);
        while !server.answers() {
            assert!(
                Instant::now() < deadline,
                "Virtuoso did not answer on port {http_port}; its log: {}",
                std::fs::read_to_string(server.dir.path().join("virtuoso.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        isql(sql_port, "GRANT SPARQL_UPDATE TO \"SPARQL\";");
        if tls {
            // The HTTPS listener the ini file declares is `*sslini*`; it gets
            // the `/sparql` service that the plain one has from the start.
            isql(
                sql_port,
                "DB.DBA.VHOST_DEFINE (lhost=>'*sslini*', vhost=>'*sslini*', lpath=>'/sparql', \
                 ppath=>'/!sparql/', is_dav=>1, vsp_user=>'dba', opts=>vector('noinherit', 1));",
            );
        }
        server
    }

    /// `https://127.0.0.1:PORT/sparql` of a server from [`Self::start_tls`].
    pub fn https_sparql_url(&self) -> String {
        let port = self.https_port.expect("started with start_tls");
        format!("https://127.0.0.1:{port}/sparql")
    }

    /// The PEM file of the CA that signed the HTTPS certificate.
    pub fn ca_file(&self) -> std::path::PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// Whether `/sparql` answers a query now.
    fn answers(&self) -> bool {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(5)))
            .build()
            .into();
        agent
            .get(&self.sparql_url())
            .query("query", "ASK {}")
            .call()
            .is_ok()
    }

    /// `http://127.0.0.1:PORT/sparql`: queries and updates both go here.
    pub fn sparql_url(&self) -> String {
        format!("http://127.0.0.1:{}/sparql", self.http_port)
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.http_port)
    }
}

/// Runs one SQL statement as the administrator; it must succeed.
fn isql(sql_port: u16, statement: &str) {
    let out = Command::new("isql-vt")
        .arg(format!("127.0.0.1:{sql_port}"))
        .args(["dba", "dba", &format!("exec={statement}")])
        .output()
        .expect("run isql-vt");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && !text.contains("*** Error"),
        "{statement} failed: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA (`ca.pem`) and a server certificate for IP 127.0.0.1 it signed
/// (`server.pem`, `server.key`), in `dir`, made with `openssl`.
fn make_certificates(dir: &std::path::Path) {
    let run = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("run openssl");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let key = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    let mut ca = vec!["req", "-x509"];
    ca.extend(key);
    ca.extend([
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=ggen test CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign",
    ]);
    run(&ca);
    let mut csr = vec!["req"];
    csr.extend(key);
    csr.extend([
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]);
    run(&csr);
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .expect("write server.ext");
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "server.ext",
    ]);
}

impl Drop for VirtuosoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
