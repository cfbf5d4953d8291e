//! Who may write: one writer at a time per registry, since the existence
//! check that keeps `name@version` immutable and the generation bump that
//! numbers the change feed both assume it. One machine's processes take a
//! file lock (`v2/.lock`). Servers of a fleet, on different machines, also
//! take a lease in etcd ([`FleetLock`], `marketplace.v2.lock_url`): neither
//! SPARQL server the tests run keeps a conditional update atomic under
//! concurrency, nor does Garage honour a conditional `PutObject`
//! (docs/operations.md, `scripts/sparql-cas-race`), while an etcd
//! transaction is a real compare-and-set, the one Kubernetes elects its
//! leaders with.
//!
//! The lock is the key `ggen/marketplace/<registry id>/writer`, created only
//! when absent (a transaction comparing its create revision with 0) and tied
//! to a lease of [`LEASE_TTL`]. While it is held a thread keeps the lease
//! alive; dropping the guard revokes the lease, which deletes the key, and a
//! server that dies holding it loses it when the lease runs out. A writer
//! whose lease may have run out (etcd unanswered for most of its TTL) stops
//! before it changes the graph ([`WriterLock::check`]), so a server that
//! stalled and lost the lock does not write beside the one that took it over.
//! The check and the update are two requests, so a stall of a lease's
//! length between them is not covered; SPARQL has no fencing token to close
//! that.
//!
//! The wire is etcd v3's JSON gateway (`/v3/...`, keys and values base64),
//! typed below: four requests, sent with the HTTP client the endpoint
//! already uses, rather than the `etcd-client` crate, whose gRPC stack
//! (tonic, prost, and `protoc` at build time) would outweigh the rest of
//! this crate's dependencies.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ggen_marketplace_core::fsutil::FileLock;
use ggen_marketplace_core::{MarketplaceError, Result};
use serde::{Deserialize, Serialize};

/// How long a lease outlives its last keep-alive: how long a dead server's
/// lock blocks the others.
pub const LEASE_TTL: Duration = Duration::from_secs(10);
/// How often a held lease is kept alive.
const KEEP_ALIVE_EVERY: Duration = Duration::from_secs(3);
/// A lease whose last keep-alive is this old may have run out: a write
/// stops rather than risk writing beside the next holder.
const LEASE_TRUSTED: Duration = Duration::from_secs(7);
/// How long a writer waits for the fleet's lock before giving up.
pub const FLEET_WAIT: Duration = Duration::from_secs(30);
/// Each request to etcd.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
const BACKEND: &str = "v2";

/// The writers' lock a backend holds while it writes: its machine's file
/// lock, and the fleet's lease when it is one of a fleet.
pub struct WriterLock {
    fleet: Option<FleetGuard>,
    // Released after the lease: a local writer waiting for the file lock
    // then finds the fleet's free.
    _local: FileLock,
}

impl WriterLock {
    pub(crate) fn new(local: FileLock, fleet: Option<FleetGuard>) -> Self {
        Self {
            fleet,
            _local: local,
        }
    }

    /// Fails when the fleet's lease may have run out since it was taken:
    /// nothing may be written then. Always fine for a local lock.
    pub fn check(&self) -> Result<()> {
        match &self.fleet {
            Some(g) => g.check(),
            None => Ok(()),
        }
    }
}

/// A fleet's writers' lock in etcd (see the module docs).
#[derive(Clone)]
pub struct FleetLock {
    url: String,
    key: String,
    holder: String,
    agent: ureq::Agent,
}

// The JSON gateway's messages, as much of them as is used. 64-bit integers
// travel as strings.
#[derive(Serialize)]
struct LeaseGrant {
    #[serde(rename = "TTL")]
    ttl: u64,
}

#[derive(Serialize)]
struct LeaseId<'a> {
    #[serde(rename = "ID")]
    id: &'a str,
}

#[derive(Deserialize)]
struct Granted {
    #[serde(rename = "ID")]
    id: String,
}

#[derive(Deserialize)]
struct KeptAlive {
    result: Option<KeptAliveResult>,
}

#[derive(Deserialize)]
struct KeptAliveResult {
    /// Absent (zero) when the lease is gone.
    #[serde(rename = "TTL", default)]
    ttl: Option<String>,
}

#[derive(Serialize)]
struct Txn<'a> {
    compare: [Compare<'a>; 1],
    success: [Put<'a>; 1],
    failure: [Range<'a>; 1],
}

#[derive(Serialize)]
struct Compare<'a> {
    key: &'a str,
    result: &'static str,
    target: &'static str,
    create_revision: &'static str,
}

#[derive(Serialize)]
struct Put<'a> {
    request_put: PutRequest<'a>,
}

#[derive(Serialize)]
struct PutRequest<'a> {
    key: &'a str,
    value: &'a str,
    lease: &'a str,
}

#[derive(Serialize)]
struct Range<'a> {
    request_range: RangeRequest<'a>,
}

#[derive(Serialize)]
struct RangeRequest<'a> {
    key: &'a str,
}

#[derive(Deserialize)]
struct TxnAnswer {
    #[serde(default)]
    succeeded: bool,
    #[serde(default)]
    responses: Vec<TxnResponse>,
}

#[derive(Deserialize)]
struct TxnResponse {
    response_range: Option<RangeAnswer>,
}

#[derive(Deserialize)]
struct RangeAnswer {
    #[serde(default)]
    kvs: Vec<KeyValue>,
}

#[derive(Deserialize)]
struct KeyValue {
    #[serde(default)]
    value: String,
}

impl FleetLock {
    /// The lock of the registry `registry_id` (the same for every server of
    /// the fleet: its endpoint and graph) in the etcd at `url`
    /// (`http://host:2379`); `holder` names this server in the key's value,
    /// for the message another writer gets while it waits.
    pub fn new(url: &str, registry_id: &str, holder: &str) -> Result<Self> {
        let url = url.trim_end_matches('/').to_string();
        let parsed = url.parse::<ureq::http::Uri>().ok();
        let fine = parsed.as_ref().is_some_and(|u| {
            matches!(u.scheme_str(), Some("http" | "https"))
                && u.host().is_some()
                && u.path() == "/"
                && u.query().is_none()
        });
        if !fine {
            return Err(MarketplaceError::Other(format!(
                "`{url}` is not an etcd client URL: give it as http://host:2379"
            )));
        }
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(REQUEST_TIMEOUT))
            .http_status_as_error(false)
            .build();
        Ok(Self {
            url,
            key: B64.encode(format!("ggen/marketplace/{registry_id}/writer")),
            holder: B64.encode(holder),
            agent: config.into(),
        })
    }

    /// Where the lock is, for messages.
    pub fn describe(&self) -> String {
        let key = B64.decode(&self.key).unwrap_or_default();
        format!("etcd {} key {}", self.url, String::from_utf8_lossy(&key))
    }

    fn unavailable(&self, what: impl std::fmt::Display) -> MarketplaceError {
        MarketplaceError::Unavailable {
            backend: BACKEND.into(),
            reason: format!(
                "the fleet's writers' lock ({}): {what}. Check that etcd is up and marketplace.v2.lock_url",
                self.describe()
            ),
        }
    }

    /// Posts `body` to the gateway's `path` and reads the answer, which must
    /// be JSON of type `A` (what a hostile or confused server sends instead
    /// is an error, never a lock taken).
    fn call<A: for<'de> Deserialize<'de>>(&self, path: &str, body: &impl Serialize) -> Result<A> {
        let text = serde_json::to_string(body).expect("a request always serializes");
        let mut resp = self
            .agent
            .post(format!("{}{path}", self.url))
            .header("Content-Type", "application/json")
            .send(text)
            .map_err(|e| self.unavailable(e))?;
        let status = resp.status().as_u16();
        let answer = resp
            .body_mut()
            .with_config()
            .limit(1 << 20)
            .read_to_string()
            .map_err(|e| self.unavailable(e))?;
        if status != 200 {
            let shown: String = answer.chars().take(200).collect();
            return Err(self.unavailable(format!("{path} answered {status}: {shown}")));
        }
        serde_json::from_str(&answer)
            .map_err(|e| self.unavailable(format!("{path} answered what is not etcd's: {e}")))
    }

    /// Takes the lock, waiting up to `wait` for another holder to let go.
    /// The lease offered with each try is kept alive while it waits (a
    /// wait can outlast [`LEASE_TTL`]), and granted again if it ran out.
    pub(crate) fn acquire(&self, wait: Duration) -> Result<FleetGuard> {
        let started = Instant::now();
        let mut lease = self.grant()?;
        let mut alive_at = Instant::now();
        let mut pause = Duration::from_millis(5);
        loop {
            let answer: TxnAnswer = match self.call("/v3/kv/txn", &self.take(&lease)) {
                Ok(a) => a,
                Err(e) => {
                    self.revoke(&lease);
                    return Err(e);
                }
            };
            if answer.succeeded {
                return Ok(FleetGuard::start(self.clone(), lease));
            }
            if started.elapsed() >= wait {
                self.revoke(&lease);
                let holder = answer
                    .responses
                    .iter()
                    .filter_map(|r| r.response_range.as_ref())
                    .flat_map(|r| r.kvs.iter())
                    .filter_map(|kv| B64.decode(&kv.value).ok())
                    .map(|v| {
                        String::from_utf8_lossy(&v)
                            .chars()
                            .take(100)
                            .collect::<String>()
                    })
                    .next()
                    .unwrap_or_else(|| "another server".into());
                return Err(MarketplaceError::Unavailable {
                    backend: BACKEND.into(),
                    reason: format!(
                        "{holder} has held the fleet's writers' lock ({}) for over {} s; try again (a server that died holding it loses it within {} s)",
                        self.describe(),
                        wait.as_secs(),
                        LEASE_TTL.as_secs()
                    ),
                });
            }
            // Jittered, so that waiting servers do not retry in step.
            let jitter = Duration::from_micros(rand::random::<u64>() % 5_000);
            std::thread::sleep(pause + jitter);
            if alive_at.elapsed() >= KEEP_ALIVE_EVERY {
                if !self.keep_alive(&lease)? {
                    lease = self.grant()?;
                }
                alive_at = Instant::now();
            }
            pause = (pause * 2).min(Duration::from_millis(200));
        }
    }

    /// A new lease of [`LEASE_TTL`].
    fn grant(&self) -> Result<String> {
        let lease = self
            .call::<Granted>(
                "/v3/lease/grant",
                &LeaseGrant {
                    ttl: LEASE_TTL.as_secs(),
                },
            )?
            .id;
        if lease.parse::<i64>().is_err() {
            return Err(self.unavailable(format!("a lease id that is not a number: {lease:?}")));
        }
        Ok(lease)
    }

    fn take<'a>(&'a self, lease: &'a str) -> Txn<'a> {
        Txn {
            compare: [Compare {
                key: &self.key,
                result: "EQUAL",
                target: "CREATE",
                create_revision: "0",
            }],
            success: [Put {
                request_put: PutRequest {
                    key: &self.key,
                    value: &self.holder,
                    lease,
                },
            }],
            failure: [Range {
                request_range: RangeRequest { key: &self.key },
            }],
        }
    }

    /// Whether `lease` is still alive after a keep-alive.
    fn keep_alive(&self, lease: &str) -> Result<bool> {
        let answer: KeptAlive = self.call("/v3/lease/keepalive", &LeaseId { id: lease })?;
        Ok(answer
            .result
            .and_then(|r| r.ttl)
            .and_then(|t| t.parse::<u64>().ok())
            .is_some_and(|t| t > 0))
    }

    /// Ends `lease`, which deletes the key if it holds it. Best effort: a
    /// lease that is not revoked runs out.
    fn revoke(&self, lease: &str) {
        if let Err(e) = self.call::<serde_json::Value>("/v3/lease/revoke", &LeaseId { id: lease }) {
            tracing::warn!(error = %e, "could not release the fleet's writers' lock; it runs out within its lease");
        }
    }
}

/// The fleet's lock, held: kept alive by a thread until dropped.
pub(crate) struct FleetGuard {
    lock: FleetLock,
    lease: String,
    state: Arc<Kept>,
    thread: Option<JoinHandle<()>>,
}

struct Kept {
    /// When the lease was last known alive.
    alive_at: Mutex<Instant>,
    /// Set when etcd said the lease is gone.
    lost: AtomicBool,
    stop: Mutex<bool>,
    wake: Condvar,
}

impl FleetGuard {
    fn start(lock: FleetLock, lease: String) -> Self {
        let state = Arc::new(Kept {
            alive_at: Mutex::new(Instant::now()),
            lost: AtomicBool::new(false),
            stop: Mutex::new(false),
            wake: Condvar::new(),
        });
        let (l, id, s) = (lock.clone(), lease.clone(), state.clone());
        let thread = std::thread::spawn(move || {
            loop {
                let stop = s.stop.lock().expect("lease lock");
                let (stop, _) = s
                    .wake
                    .wait_timeout_while(stop, KEEP_ALIVE_EVERY, |stop| !*stop)
                    .expect("lease lock");
                if *stop {
                    return;
                }
                drop(stop);
                match l.keep_alive(&id) {
                    Ok(true) => *s.alive_at.lock().expect("lease lock") = Instant::now(),
                    Ok(false) => {
                        s.lost.store(true, Ordering::SeqCst);
                        return;
                    }
                    // Retried until the lease would have run out.
                    Err(e) => {
                        tracing::warn!(error = %e, "keeping the fleet's writers' lock alive failed; retrying")
                    }
                }
            }
        });
        Self {
            lock,
            lease,
            state,
            thread: Some(thread),
        }
    }

    fn check(&self) -> Result<()> {
        let since = self.state.alive_at.lock().expect("lease lock").elapsed();
        if self.state.lost.load(Ordering::SeqCst) || since >= LEASE_TRUSTED {
            return Err(self.lock.unavailable(format!(
                "this server's hold on it may have run out (last confirmed {} ms ago); nothing was written, try again",
                since.as_millis()
            )));
        }
        Ok(())
    }
}

impl Drop for FleetGuard {
    fn drop(&mut self) {
        *self.state.stop.lock().expect("lease lock") = true;
        self.state.wake.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.lock.revoke(&self.lease);
    }
}
