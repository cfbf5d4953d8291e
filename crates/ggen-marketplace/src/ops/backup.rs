//! Backups of a registry: the third level of rolling back, after configuration
//! and build (see `docs/operations.md`).
//!
//! A backup is one `.tar.gz` holding `ggen-backup.json` (format version, what
//! the registry held, the SHA-256 of every other file) and the registry's
//! durable data: `index.json` and `archives/` (V1), the V2 graph as N-Triples
//! (`v2.nt`, portable across Oxigraph versions, unlike RocksDB files), `blobs/`
//! (V2's archives), `tokens.json` (token hashes and revocations), `owners.json`
//! (who owns each name, which keys sign it) and the `config.yaml` in use.
//! Restoring never revives a token revoked since the backup was made: the
//! registry being replaced hands its revocations to the restored copy.
//! Derived data (the tantivy index, V2's term index) is rebuilt on restore.
//!
//! A backup is consistent while the registry is in use: it holds both
//! backends' writer locks while it reads, so a concurrent publish lands
//! entirely before or entirely after it. Restore checks everything before it
//! touches the registry, builds the new one beside it, verifies it, and only
//! then swaps directories; the replaced registry is kept beside it.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use ggen_marketplace_core::archive::{ExtractLimits, extract_tar_gz};
use ggen_marketplace_core::checksum::sha256_hex;
use ggen_marketplace_core::fsutil::atomic_write;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::marketplace::Marketplace;

/// The backup format this build writes and the newest it reads.
pub const FORMAT: u32 = 1;
pub const MANIFEST: &str = "ggen-backup.json";
const V2_GRAPH: &str = "v2.nt";
const CONFIG: &str = "config.yaml";

/// Durable files and directories of a registry, relative to it.
const FILES: &[&str] = &["index.json", "tokens.json", "owners.json", "generation"];
const DIRS: &[&str] = &["archives", "blobs"];

/// `ggen-backup.json`, the first entry of every backup archive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupManifest {
    /// Backup format version; a restore refuses formats it does not know.
    pub format: u32,
    /// When the backup was taken.
    pub created: DateTime<Utc>,
    /// The ggen that took it.
    pub ggen_version: String,
    /// Packages and versions per backend at the time of the backup.
    pub v1: Option<Counts>,
    /// The same for V2.
    pub v2: Option<Counts>,
    /// Every other file in the backup: relative path -> (sha256, size).
    pub files: BTreeMap<String, FileEntry>,
}

/// How much a backend held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Packages.
    pub packages: usize,
    /// Versions of all packages.
    pub versions: usize,
}

/// One file's identity in a backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// SHA-256 of its bytes, hex.
    pub sha256: String,
    /// Its length in bytes.
    pub size: u64,
}

fn setup(message: impl Into<String>) -> Error {
    Error::Setup(message.into())
}

fn io(path: &Path, e: std::io::Error) -> Error {
    ggen_marketplace_core::MarketplaceError::io(path, e).into()
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io(dir, e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| io(dir, e))?;
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        // Temp files of interrupted writes and lock files are not data.
        if name.starts_with(".ggen-tmp-") || name.ends_with(".lock") || name == ".lock" {
            continue;
        }
        let ty = entry.file_type().map_err(|e| io(&path, e))?;
        if ty.is_dir() {
            walk(root, &path, out)?;
        } else if ty.is_file() {
            out.push(path.strip_prefix(root).expect("below root").to_path_buf());
        }
    }
    Ok(())
}

/// A backup is a file of this machine's registry directory; archives kept in
/// a shared object store are not in it, and a restore would not bring them
/// back, so both refuse rather than write a backup that cannot restore.
fn refuse_shared_archives(mp: &Marketplace, doing: &str) -> Result<()> {
    match &mp.settings.blobs {
        None => Ok(()),
        Some(b) => Err(setup(format!(
            "{doing} covers this machine's registry directory, but the archives are in {} (marketplace.blobs, {}): back up the bucket with the object store's tools (versioning, replication) and the graph with the SPARQL server's, or run this without the blob settings on a registry that keeps its own archives",
            b.url.value, b.url.source
        ))),
    }
}

/// Writes a backup of `mp`'s registry to `output`; returns its manifest.
fn create(mp: &Marketplace, output: &Path) -> Result<BackupManifest> {
    refuse_shared_archives(mp, "a backup")?;
    let registry = &mp.paths.registry;
    if !mp.is_seeded() {
        return Err(setup(format!(
            "{} holds no registry to back up",
            registry.display()
        )));
    }
    let mut contents: Vec<(String, Vec<u8>)> = Vec::new();
    let mut manifest = BackupManifest {
        format: FORMAT,
        created: Utc::now(),
        ggen_version: env!("CARGO_PKG_VERSION").to_string(),
        v1: None,
        v2: None,
        files: BTreeMap::new(),
    };
    {
        // Open both stores first, then take the writers' locks, V1's then V2's.
        // A writer opens the RocksDB store (for its whole life) before it takes
        // any lock, so taking a lock and then waiting for the store would
        // deadlock against a publish running in another process.
        #[cfg(feature = "marketplace-v1")]
        let v1 = mp.v1()?;
        #[cfg(feature = "marketplace-v2")]
        // With a SPARQL endpoint, `v2.nt` is the registry's graph read from
        // the endpoint (that graph only), and the lock holds off writers on
        // this machine only: another machine's write can land mid-backup.
        let v2 = mp.v2()?;
        #[cfg(feature = "marketplace-v1")]
        let _v1_lock = v1.write_lock()?;
        #[cfg(feature = "marketplace-v2")]
        let _v2_lock = v2.write_lock()?;
        let mut paths = Vec::new();
        for f in FILES {
            if registry.join(f).is_file() {
                paths.push(PathBuf::from(f));
            }
        }
        for d in DIRS {
            walk(registry, &registry.join(d), &mut paths)?;
        }
        for rel in paths {
            let full = registry.join(&rel);
            let bytes = std::fs::read(&full).map_err(|e| io(&full, e))?;
            contents.push((rel.to_string_lossy().replace('\\', "/"), bytes));
        }
        #[cfg(feature = "marketplace-v1")]
        {
            use ggen_marketplace_core::MarketplaceBackend;
            let list = v1.list()?;
            manifest.v1 = Some(Counts {
                packages: list.len(),
                versions: list.iter().map(|p| p.versions).sum(),
            });
        }
        #[cfg(feature = "marketplace-v2")]
        {
            use ggen_marketplace_core::MarketplaceBackend;
            let graph = v2.export(ggen_marketplace_v2::ExportFormat::NTriples)?;
            contents.push((V2_GRAPH.to_string(), graph));
            let list = v2.list()?;
            manifest.v2 = Some(Counts {
                packages: list.len(),
                versions: list.iter().map(|p| p.versions).sum(),
            });
        }
    }
    let config = mp.paths.config_file();
    if let Ok(bytes) = std::fs::read(&config) {
        contents.push((CONFIG.to_string(), bytes));
    }
    for (path, bytes) in &contents {
        manifest.files.insert(
            path.clone(),
            FileEntry {
                sha256: sha256_hex(bytes),
                size: bytes.len() as u64,
            },
        );
    }
    let enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut tar = tar::Builder::new(enc);
    let mut add = |path: &str, bytes: &[u8]| -> Result<()> {
        let mut h = tar::Header::new_gnu();
        h.set_size(bytes.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(manifest.created.timestamp().max(0) as u64);
        h.set_entry_type(tar::EntryType::Regular);
        tar.append_data(&mut h, path, bytes)
            .map_err(|e| io(output, e))
    };
    let json = serde_json::to_vec_pretty(&manifest).map_err(|e| setup(e.to_string()))?;
    add(MANIFEST, &json)?;
    for (path, bytes) in &contents {
        add(path, bytes)?;
    }
    let bytes = tar
        .into_inner()
        .and_then(|enc| enc.finish())
        .map_err(|e| io(output, e))?;
    atomic_write(output, &bytes)?;
    Ok(manifest)
}

/// Limits for unpacking a backup: far above any real registry's size, still
/// a bound on a hostile file.
fn limits() -> ExtractLimits {
    ExtractLimits {
        max_total_bytes: 64 * 1024 * 1024 * 1024,
        max_files: 2_000_000,
        max_dirs: 2_000_000,
        max_path_len: 4096,
    }
}

/// Unpacks `file` into `dest` and checks it completely: format, every file's
/// checksum, nothing missing, nothing extra. Returns the manifest.
fn unpack_verified(file: &Path, dest: &Path) -> Result<BackupManifest> {
    let mut bytes = Vec::new();
    std::fs::File::open(file)
        .and_then(|mut f| f.read_to_end(&mut bytes))
        .map_err(|e| io(file, e))?;
    let bad = |why: String| setup(format!("{} is not a usable backup: {why}", file.display()));
    extract_tar_gz(&bytes, dest, &limits())
        .map_err(|e| bad(format!("{e} (truncated or not a ggen backup?)")))?;
    let manifest_path = dest.join(MANIFEST);
    let raw = std::fs::read(&manifest_path).map_err(|_| bad(format!("it has no {MANIFEST}")))?;
    let manifest: BackupManifest =
        serde_json::from_slice(&raw).map_err(|e| bad(format!("{MANIFEST} is invalid: {e}")))?;
    if manifest.format > FORMAT {
        return Err(bad(format!(
            "it was written in backup format {} by ggen {}; this ggen reads format {FORMAT} at most. Restore it with a newer ggen",
            manifest.format, manifest.ggen_version
        )));
    }
    let mut present = Vec::new();
    walk(dest, dest, &mut present)?;
    for rel in &present {
        let key = rel.to_string_lossy().replace('\\', "/");
        if key == MANIFEST {
            continue;
        }
        let Some(entry) = manifest.files.get(&key) else {
            return Err(bad(format!("`{key}` is not listed in {MANIFEST}")));
        };
        let data = std::fs::read(dest.join(rel)).map_err(|e| io(&dest.join(rel), e))?;
        if data.len() as u64 != entry.size || sha256_hex(&data) != entry.sha256 {
            return Err(bad(format!(
                "`{key}` does not match its checksum (the backup was altered or damaged)"
            )));
        }
    }
    if present.len() != manifest.files.len() + 1 {
        let missing: Vec<&String> = manifest
            .files
            .keys()
            .filter(|k| !dest.join(k).is_file())
            .take(3)
            .collect();
        return Err(bad(format!("files are missing, e.g. {missing:?}")));
    }
    Ok(manifest)
}

/// Reads and fully checks a backup without restoring it.
pub fn inspect_backup(file: &Path) -> Result<BackupManifest> {
    let tmp = tempfile::tempdir().map_err(|e| io(Path::new("temp dir"), e))?;
    unpack_verified(file, tmp.path())
}

/// What a restore did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RestoreReport {
    /// The manifest of the backup restored.
    pub manifest: BackupManifest,
    /// The registry directory restored into.
    pub registry: PathBuf,
    /// Where the registry that was replaced now lives (with `--force`).
    pub replaced: Option<PathBuf>,
    /// V1's counts after the restore.
    pub v1: Option<Counts>,
    /// V2's counts after the restore.
    pub v2: Option<Counts>,
    /// `verify-migration` on the restored registry (both backends compiled).
    pub differences: Vec<String>,
    /// What happened to the backup's config.yaml: `restored`, `kept existing`
    /// (a different config exists and --force was not given), or `none in backup`.
    pub config: String,
    /// Tokens the backup holds that were revoked since it was made: they stay
    /// revoked (dropped from the restored registry).
    pub tokens_kept_revoked: usize,
}

/// Restores `file` as `mp`'s registry. Refuses to replace an existing registry
/// unless `force`; nothing is touched until the restored copy is complete and
/// verified.
/// `<parent>/.<registry name>.restore-swap.json`: present only while a restore
/// swaps the registry directories.
fn swap_marker(registry: &Path) -> PathBuf {
    let name = registry
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("registry");
    registry.with_file_name(format!(".{name}.restore-swap.json"))
}

/// Held by a restore for its whole run, and by a command about to seed or to
/// finish an interrupted restore, so neither acts in the middle of the other.
pub fn restore_lock(registry: &Path) -> Result<ggen_marketplace_core::fsutil::FileLock> {
    Ok(ggen_marketplace_core::fsutil::FileLock::exclusive(
        &swap_marker(registry).with_extension("lock"),
    )?)
}

/// Whether a restore's swap marker is present (see [`finish_interrupted_restore`]).
pub fn restore_interrupted(registry: &Path) -> bool {
    swap_marker(registry).exists()
}

/// Finishes a restore killed between moving the old registry aside and moving
/// the restored one into place (otherwise the next command would find no
/// registry and seed a fresh catalogue). Returns true when it moved one in.
/// Every command that opens the registry runs this first (`ensure_seeded`);
/// callers hold [`restore_lock`].
pub fn finish_interrupted_restore(registry: &Path) -> Result<bool> {
    let marker = swap_marker(registry);
    let Ok(bytes) = std::fs::read(&marker) else {
        return Ok(false);
    };
    #[derive(Deserialize)]
    struct Swap {
        new: PathBuf,
    }
    let swap: Swap = serde_json::from_slice(&bytes).map_err(|e| {
        setup(format!(
            "{} is not a restore record ({e}); check the registry and the *.replaced-* directory beside it, then remove it",
            marker.display()
        ))
    })?;
    let mut moved = false;
    if !registry.exists() && swap.new.is_dir() {
        std::fs::rename(&swap.new, registry).map_err(|e| io(registry, e))?;
        if let Some(parent) = registry.parent() {
            ggen_marketplace_core::fsutil::sync_dir(parent);
        }
        crate::cache::bump_generation(registry);
        tracing::warn!(
            "finished a restore that was interrupted: {} is the restored registry",
            registry.display()
        );
        moved = true;
    }
    // Otherwise the swap never began (the old registry is in place) or was
    // complete: either way the marker has done its job.
    std::fs::remove_file(&marker).map_err(|e| io(&marker, e))?;
    Ok(moved)
}

fn restore(mp: &Marketplace, file: &Path, force: bool) -> Result<RestoreReport> {
    refuse_shared_archives(mp, "a restore")?;
    let registry = mp.paths.registry.clone();
    // One restore at a time, after finishing one a crash interrupted.
    let _restoring = restore_lock(&registry)?;
    finish_interrupted_restore(&registry)?;
    let on_endpoint = mp.settings.v2_endpoint.is_some();
    if mp.is_seeded() && !force {
        return Err(setup(format!(
            "{} already holds a registry; add --force to replace it (it is kept beside the restored one)",
            registry.display()
        )));
    }
    // A process holding the store (a running server) would keep writing to the
    // directory we are about to move away.
    #[cfg(feature = "marketplace-v2")]
    if !on_endpoint
        && registry.join("v2").is_dir()
        && let Err(e) = ggen_marketplace_v2::V2Backend::open_embedded(&registry)
    {
        return Err(setup(format!(
            "the registry is in use ({e}); stop the server or other ggen processes first"
        )));
    }
    let parent = registry
        .parent()
        .ok_or_else(|| setup("the registry directory has no parent"))?
        .to_path_buf();
    std::fs::create_dir_all(&parent).map_err(|e| io(&parent, e))?;
    // Under the restore lock, staging directories of killed restores are garbage.
    if let Ok(entries) = std::fs::read_dir(&parent) {
        for e in entries.flatten() {
            if e.file_name()
                .to_string_lossy()
                .starts_with(".ggen-restore-")
                && e.path().is_dir()
            {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
    let staging = tempfile::Builder::new()
        .prefix(".ggen-restore-")
        .tempdir_in(&parent)
        .map_err(|e| io(&parent, e))?;
    let unpacked = staging.path().join("unpacked");
    let manifest = unpack_verified(file, &unpacked)?;
    let graph = std::fs::read(unpacked.join(V2_GRAPH)).ok();
    let config = std::fs::read(unpacked.join(CONFIG)).ok();
    for f in [MANIFEST, V2_GRAPH, CONFIG] {
        let _ = std::fs::remove_file(unpacked.join(f));
    }
    let new = unpacked; // now exactly the registry's durable files

    let mut report = RestoreReport {
        manifest: manifest.clone(),
        registry: registry.clone(),
        replaced: None,
        v1: None,
        v2: None,
        differences: Vec::new(),
        config: "none in backup".into(),
        tokens_kept_revoked: 0,
    };
    // Revocations made after the backup outlive the restore.
    report.tokens_kept_revoked = crate::access::TokenStore::new(&new)
        .merge_revocations(&crate::access::TokenStore::new(&registry))
        .map_err(|e| setup(e.to_string()))?
        .kept_revoked;
    {
        use ggen_marketplace_core::MarketplaceBackend;
        let counts = |b: &dyn MarketplaceBackend| -> Result<Counts> {
            let list = b.list()?;
            Ok(Counts {
                packages: list.len(),
                versions: list.iter().map(|p| p.versions).sum(),
            })
        };
        #[cfg(feature = "marketplace-v1")]
        let v1 = match manifest.v1 {
            Some(_) => {
                let v1 = ggen_marketplace_v1::V1Backend::open(&new)?;
                v1.rebuild_index()?;
                report.v1 = Some(counts(&v1)?);
                Some(v1)
            }
            None => None,
        };
        #[cfg(feature = "marketplace-v2")]
        let v2 = match (&manifest.v2, &graph) {
            (Some(_), Some(graph)) => {
                let v2 = ggen_marketplace_v2::V2Backend::open_embedded(&new)?;
                v2.load_graph(graph)?;
                report.v2 = Some(counts(&v2)?);
                Some(v2)
            }
            _ => None,
        };
        #[cfg(not(feature = "marketplace-v2"))]
        let _ = &graph;
        for (name, got, want) in [
            ("v1", report.v1, manifest.v1),
            ("v2", report.v2, manifest.v2),
        ] {
            if let (Some(got), Some(want)) = (got, want)
                && got != want
            {
                return Err(setup(format!(
                    "the restored {name} holds {} packages / {} versions, the backup recorded {} / {}; nothing was changed",
                    got.packages, got.versions, want.packages, want.versions
                )));
            }
        }
        #[cfg(feature = "marketplace-parallel")]
        if let (Some(v1), Some(v2)) = (&v1, &v2) {
            report.differences = crate::migration::copy::verify(v1, v2)?.differences;
        }
        // Single-backend builds only needed the counts.
        #[cfg(all(feature = "marketplace-v1", not(feature = "marketplace-parallel")))]
        drop(v1);
        #[cfg(all(feature = "marketplace-v2", not(feature = "marketplace-parallel")))]
        drop(v2);
        // Backends (RocksDB above all) close here, before the directory moves.
    }
    // With V2 on an endpoint, its graph is replaced first, in one visible
    // step (loaded beside it, then moved over it): the network is the likelier
    // failure, and until it succeeds nothing local has changed.
    #[cfg(feature = "marketplace-v2")]
    if on_endpoint && let (Some(_), Some(graph)) = (&manifest.v2, &graph) {
        mp.v2()?.restore_remote_graph(graph).map_err(|e| {
            setup(format!(
                "replacing the registry's graph on the SPARQL endpoint failed, so nothing was restored: {e}"
            ))
        })?;
    }
    #[cfg(not(feature = "marketplace-v2"))]
    let _ = on_endpoint;
    // The swap: the old registry moves aside, the new one into place. Each
    // rename is atomic; the marker written first lets the next ggen command
    // finish a swap a crash cut between the two (see `finish_interrupted_restore`).
    crate::config::env::fault_pause();
    // From here the restored copy must outlive this process even on an error:
    // the marker points at it.
    let staging = staging.keep();
    let marker = swap_marker(&registry);
    atomic_write(
        &marker,
        serde_json::to_string(&serde_json::json!({ "new": new }))
            .expect("json")
            .as_bytes(),
    )?;
    if registry.exists() {
        let stem = format!(
            "{}.replaced-{}",
            registry
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("registry"),
            Utc::now().format("%Y%m%dT%H%M%S")
        );
        // Two restores in one second must not collide.
        let aside = (0..)
            .map(|i| match i {
                0 => parent.join(&stem),
                i => parent.join(format!("{stem}.{i}")),
            })
            .find(|p| !p.exists())
            .expect("an unused name");
        std::fs::rename(&registry, &aside).map_err(|e| io(&registry, e))?;
        report.replaced = Some(aside);
        crate::config::env::fault_pause();
    }
    if let Err(e) = std::fs::rename(&new, &registry) {
        // Put the old registry back rather than leave none (which the next
        // command would seed afresh); the restored copy stays in staging.
        if let Some(aside) = &report.replaced {
            let _ = std::fs::rename(aside, &registry);
        }
        let _ = std::fs::remove_file(&marker);
        return Err(setup(format!(
            "moving the restored registry into place failed ({e}); the previous registry is back, the restored copy is in {}",
            new.display()
        )));
    }
    ggen_marketplace_core::fsutil::sync_dir(&parent);
    std::fs::remove_file(&marker).map_err(|e| io(&marker, e))?;
    let _ = std::fs::remove_dir_all(&staging);
    crate::cache::bump_generation(&registry);
    if let Some(bytes) = config {
        let path = mp.paths.config_file();
        let current = std::fs::read(&path).ok();
        report.config = if current.as_deref() == Some(bytes.as_slice()) {
            "restored".into()
        } else if current.is_some() && !force {
            "kept existing".into()
        } else {
            if current.is_some() {
                let aside = path.with_extension(format!(
                    "yaml.replaced-{}",
                    Utc::now().format("%Y%m%dT%H%M%S")
                ));
                std::fs::rename(&path, &aside).map_err(|e| io(&path, e))?;
            }
            atomic_write(&path, &bytes)?;
            "restored".into()
        };
    }
    Ok(report)
}
impl Marketplace {
    /// Writes a backup of this registry to `output` (see the module's docs).
    pub fn backup(&self, output: &Path) -> Result<BackupManifest> {
        self.require_local("backup")?;
        create(self, output)
    }

    /// Restores `file` as this registry; an existing one is replaced only
    /// with `force` (and kept beside it).
    pub fn restore_backup(&self, file: &Path, force: bool) -> Result<RestoreReport> {
        self.require_local("backup")?;
        restore(self, file, force)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A restore killed between moving the old registry aside and moving the new one
    /// in leaves no registry; the next command must finish the swap rather than
    /// seed a fresh catalogue in its place.
    #[test]
    fn a_restore_cut_between_its_two_renames_is_finished_by_the_next_command() {
        let dir = tempfile::tempdir().unwrap();
        let registry = dir.path().join("registry");
        let staged = dir.path().join(".ggen-restore-test/unpacked");
        std::fs::create_dir_all(&staged).unwrap();
        std::fs::write(staged.join("index.json"), b"restored").unwrap();
        let marker = dir.path().join(".registry.restore-swap.json");
        let record = serde_json::json!({ "new": staged }).to_string();
        std::fs::write(&marker, &record).unwrap();

        assert!(finish_interrupted_restore(&registry).unwrap());
        assert_eq!(
            std::fs::read(registry.join("index.json")).unwrap(),
            b"restored"
        );
        assert!(!marker.exists());
        // Nothing to do now.
        assert!(!finish_interrupted_restore(&registry).unwrap());

        // A marker left while the registry is still in place (killed before the
        // first rename) is dropped and the registry left alone.
        std::fs::write(&marker, &record).unwrap();
        assert!(!finish_interrupted_restore(&registry).unwrap());
        assert!(!marker.exists());
        assert_eq!(
            std::fs::read(registry.join("index.json")).unwrap(),
            b"restored"
        );

        // A damaged marker is an error that names it, never a guess.
        std::fs::write(&marker, b"{not json").unwrap();
        let err = finish_interrupted_restore(&registry)
            .unwrap_err()
            .to_string();
        assert!(err.contains("restore-swap.json"), "{err}");
    }
}
