//! Where archives live: a content-addressed blob store, keyed by the archive's
//! SHA-256, behind one trait so a registry keeps them on its own disk (the
//! embedded default, [`LocalBlobs`]) or in object storage shared by a fleet of
//! servers (the `ggen-marketplace-s3` crate).
//!
//! Both use one layout, `sha256/<first 2 hex>/<sha256>.tar.gz`, so a directory
//! can be copied into a bucket as it stands. A fleet's servers also keep the
//! segments of V2's term index there (`index/sha256/...bin`), for a new
//! server to start from. A key is only ever a checked
//! digest ([`BlobKey`]): no path or object name is built from unchecked text.
//! Reads are verified here, once for every store, against the checksum the
//! registry holds ([`open_archive`], [`read_archive`]): a store is trusted to
//! keep bytes, not to keep the right ones.

use std::io::Read;
use std::path::{Path, PathBuf};

use semver::Version;

use crate::checksum::{VerifyingReader, is_sha256_hex, sha256_hex};
use crate::fsutil::atomic_write;
use crate::{ArchiveStream, MarketplaceError, Result};

/// The registry directory's folder of local archives.
pub const BLOBS_DIR: &str = "blobs";

/// The name of one blob in a blob store: its SHA-256, 64 lowercase hex, and
/// what it holds, which decides its folder.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BlobKey {
    digest: String,
    kind: BlobKind,
}

/// What a blob holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum BlobKind {
    /// A package archive (`.tar.gz`).
    Archive,
    /// A segment of V2's term index that a fleet's servers share, so a new
    /// server starts from another's index instead of the whole graph.
    IndexSegment,
}

impl BlobKey {
    /// The key of an archive's digest, or `None` unless `sha256` is 64
    /// lowercase hex.
    pub fn parse(sha256: &str) -> Option<Self> {
        Self::checked(sha256, BlobKind::Archive)
    }

    /// The key of the archive `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Self {
            digest: sha256_hex(bytes),
            kind: BlobKind::Archive,
        }
    }

    /// The key of a term index segment's digest, or `None` unless `sha256`
    /// is 64 lowercase hex.
    pub fn index_segment(sha256: &str) -> Option<Self> {
        Self::checked(sha256, BlobKind::IndexSegment)
    }

    /// The key of the term index segment `bytes`.
    pub fn index_segment_of(bytes: &[u8]) -> Self {
        Self {
            digest: sha256_hex(bytes),
            kind: BlobKind::IndexSegment,
        }
    }

    fn checked(sha256: &str, kind: BlobKind) -> Option<Self> {
        is_sha256_hex(sha256).then(|| Self {
            digest: sha256.to_string(),
            kind,
        })
    }

    /// The digest, lowercase hex.
    pub fn as_str(&self) -> &str {
        &self.digest
    }

    /// `sha256/<first 2 hex>/<sha256>.tar.gz` for an archive (the layout
    /// every store shares), `index/sha256/<first 2 hex>/<sha256>.bin` for an
    /// index segment.
    pub fn relative_path(&self) -> String {
        let (folder, ext) = match self.kind {
            BlobKind::Archive => ("", "tar.gz"),
            BlobKind::IndexSegment => ("index/", "bin"),
        };
        let d = &self.digest;
        format!("{folder}sha256/{}/{d}.{ext}", &d[..2])
    }
}

/// Content-addressed storage for archives (and the index segments a fleet
/// shares). Implementations keep bytes; callers verify them
/// ([`open_archive`]). Every method may be called from any thread.
pub trait BlobStore: Send + Sync {
    /// Stores `bytes`, which hash to `key`, and returns only once they are
    /// durable and read back as `key`: a publish that records the version
    /// afterwards never points at a blob that is not there. Storing a key
    /// again is harmless (the bytes are the same) and repairs a damaged copy.
    fn put(&self, key: &BlobKey, bytes: &[u8]) -> Result<()>;

    /// The stored bytes as a stream, or `None` when the store has no such key.
    fn get(&self, key: &BlobKey) -> Result<Option<ArchiveStream>>;

    /// Where `key` is or would be, for messages: a path, or a URL.
    fn locate(&self, key: &BlobKey) -> PathBuf;

    /// One line naming the store, for `status` (`local /x/blobs`, `s3 ...`).
    fn describe(&self) -> String;

    /// Whether other machines see the same store (object storage), so that
    /// what one server saves there another can start from.
    fn shared(&self) -> bool {
        false
    }
}

/// Archives as files under `<registry>/blobs/`.
#[derive(Debug, Clone)]
pub struct LocalBlobs {
    dir: PathBuf,
}

impl LocalBlobs {
    /// The blob folder of the registry directory `root`.
    pub fn new(root: &Path) -> Self {
        Self {
            dir: root.join(BLOBS_DIR),
        }
    }

    /// The file that holds `key`.
    pub fn path(&self, key: &BlobKey) -> PathBuf {
        self.dir.join(key.relative_path())
    }
}

impl BlobStore for LocalBlobs {
    fn put(&self, key: &BlobKey, bytes: &[u8]) -> Result<()> {
        debug_assert_eq!(BlobKey::of(bytes), *key);
        let path = self.path(key);
        let intact = std::fs::read(&path)
            .map(|b| sha256_hex(&b) == key.as_str())
            .unwrap_or(false);
        if intact {
            return Ok(());
        }
        atomic_write(&path, bytes)
    }

    fn get(&self, key: &BlobKey) -> Result<Option<ArchiveStream>> {
        let path = self.path(key);
        match std::fs::File::open(&path) {
            Ok(f) => Ok(Some(Box::new(std::io::BufReader::new(f)))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(MarketplaceError::io(&path, e)),
        }
    }

    fn locate(&self, key: &BlobKey) -> PathBuf {
        self.path(key)
    }

    fn describe(&self) -> String {
        format!("local {}", self.dir.display())
    }
}

/// The archive of `name@version` from `store` as a stream checked against
/// `checksum` (the registry's) as it is read: a mismatch fails the last read.
pub fn open_archive(
    store: &dyn BlobStore,
    name: &str,
    version: &Version,
    checksum: Option<&str>,
) -> Result<ArchiveStream> {
    let key = key_for(name, version, checksum)?;
    let stream = store
        .get(&key)?
        .ok_or_else(|| missing(store, &key, name, version))?;
    Ok(Box::new(VerifyingReader::new(stream, key.as_str())))
}

/// The archive of `name@version` from `store`, whole and checked against
/// `checksum`, so altered bytes never leave the backend.
pub fn read_archive(
    store: &dyn BlobStore,
    name: &str,
    version: &Version,
    checksum: Option<&str>,
) -> Result<Vec<u8>> {
    let key = key_for(name, version, checksum)?;
    let mut stream = store
        .get(&key)?
        .ok_or_else(|| missing(store, &key, name, version))?;
    let mut bytes = Vec::new();
    stream
        .read_to_end(&mut bytes)
        .map_err(|e| MarketplaceError::io(store.locate(&key), e))?;
    let actual = sha256_hex(&bytes);
    if actual != key.as_str() {
        return Err(MarketplaceError::ChecksumMismatch {
            name: name.to_string(),
            version: version.to_string(),
            expected: key.as_str().to_string(),
            actual,
        });
    }
    Ok(bytes)
}

/// A release whose registry checksum is absent or not a digest cannot be
/// verified, so it is never served (and names no blob).
fn key_for(name: &str, version: &Version, checksum: Option<&str>) -> Result<BlobKey> {
    checksum
        .and_then(BlobKey::parse)
        .ok_or_else(|| MarketplaceError::InvalidArchive {
            reason: format!(
                "`{name}@{version}` has no valid sha256 checksum in the registry; it cannot be verified"
            ),
        })
}

fn missing(
    store: &dyn BlobStore,
    key: &BlobKey,
    name: &str,
    version: &Version,
) -> MarketplaceError {
    MarketplaceError::ArchiveMissing {
        name: name.to_string(),
        version: version.to_string(),
        path: store.locate(key),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v() -> Version {
        Version::new(1, 0, 0)
    }

    #[test]
    fn keys_are_only_digests() {
        let d = "ab".repeat(32);
        assert_eq!(
            BlobKey::parse(&d).unwrap().relative_path(),
            format!("sha256/ab/{d}.tar.gz")
        );
        assert_eq!(
            BlobKey::index_segment(&d).unwrap().relative_path(),
            format!("index/sha256/ab/{d}.bin")
        );
        for bad in [
            "",
            "../../etc/passwd",
            &"AB".repeat(32),
            &"ab".repeat(31),
            &format!("{}/x", "ab".repeat(31)),
        ] {
            assert!(BlobKey::parse(bad).is_none(), "{bad:?} became a key");
            assert!(
                BlobKey::index_segment(bad).is_none(),
                "{bad:?} became a key"
            );
        }
    }

    #[test]
    fn local_round_trip_verifies_and_repairs() {
        let root = tempfile::tempdir().unwrap();
        let store = LocalBlobs::new(root.path());
        let bytes = b"archive bytes".to_vec();
        let key = BlobKey::of(&bytes);
        store.put(&key, &bytes).unwrap();
        let got = read_archive(&store, "a", &v(), Some(key.as_str())).unwrap();
        assert_eq!(got, bytes);

        // A damaged copy is refused on read, and a second put repairs it.
        std::fs::write(store.path(&key), b"tampered").unwrap();
        let err = read_archive(&store, "a", &v(), Some(key.as_str())).unwrap_err();
        assert!(
            matches!(err, MarketplaceError::ChecksumMismatch { .. }),
            "{err}"
        );
        let mut streamed = Vec::new();
        let err = open_archive(&store, "a", &v(), Some(key.as_str()))
            .unwrap()
            .read_to_end(&mut streamed)
            .unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
        store.put(&key, &bytes).unwrap();
        assert_eq!(std::fs::read(store.path(&key)).unwrap(), bytes);
    }

    #[test]
    fn missing_and_unverifiable_archives_are_named() {
        let root = tempfile::tempdir().unwrap();
        let store = LocalBlobs::new(root.path());
        let d = "cd".repeat(32);
        let err = read_archive(&store, "a", &v(), Some(&d)).unwrap_err();
        match err {
            MarketplaceError::ArchiveMissing { path, .. } => {
                assert!(path.ends_with(format!("sha256/cd/{d}.tar.gz")))
            }
            other => panic!("{other}"),
        }
        for checksum in [None, Some("../../x"), Some("not-hex")] {
            let err = open_archive(&store, "a", &v(), checksum).err().unwrap();
            assert!(
                matches!(err, MarketplaceError::InvalidArchive { .. }),
                "{err}"
            );
        }
    }
}
