//! Package archives: deterministic packing and hostile-input-proof extraction.
//!
//! Extraction refuses absolute paths, `..`, links, devices and duplicate entries,
//! and caps sizes and counts while decompressing, so a decompression bomb stops
//! at the cap instead of filling the disk.

use std::collections::HashSet;
use std::fs::{self, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Component, Path, PathBuf};

use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;

use crate::error::{MarketplaceError, Result};

/// Bounds on what one archive may unpack to: a small archive must not be
/// able to fill a disk or a directory (zip bombs, millions of empty files).
#[derive(Debug, Clone, Copy)]
pub struct ExtractLimits {
    /// Sum of all file sizes after decompression.
    pub max_total_bytes: u64,
    /// Regular files.
    pub max_files: usize,
    /// Distinct directories, named by entries or implied by file paths.
    pub max_dirs: usize,
    /// Bytes in one entry's path.
    pub max_path_len: usize,
}

impl Default for ExtractLimits {
    fn default() -> Self {
        Self {
            max_total_bytes: 256 * 1024 * 1024,
            max_files: 10_000,
            max_dirs: 10_000,
            max_path_len: 1024,
        }
    }
}

/// What an extraction wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExtractSummary {
    /// Regular files written.
    pub files: usize,
    /// Their bytes in all.
    pub bytes: u64,
}

/// Directories never packed: version control internals.
const SKIP_DIRS: &[&str] = &[".git", ".hg", ".svn"];

/// Packs `dir` into a `.tar.gz` whose bytes depend only on file names, contents
/// and executable bits (sorted entries, zero mtimes and owners), so the same
/// sources always give the same checksum.
pub fn pack_dir(dir: &Path) -> Result<Vec<u8>> {
    let mut files = Vec::new();
    collect(dir, dir, &mut files)?;
    files.sort();
    let mut entries = Vec::with_capacity(files.len());
    for rel in &files {
        let full = dir.join(rel);
        let data = fs::read(&full).map_err(|e| MarketplaceError::io(&full, e))?;
        let name = rel.to_string_lossy().replace('\\', "/");
        entries.push((name, data, is_executable(&full)));
    }
    pack(
        entries
            .iter()
            .map(|(n, d, x)| (n.as_str(), d.as_slice(), *x)),
        dir,
    )
}

/// Packs files given in memory (`path`, `contents`), in the order given, the
/// way [`pack_dir`] packs a directory: for archives made by programs (test
/// fixtures, generated catalogues) rather than from a directory.
pub fn pack_entries(entries: &[(&str, &[u8])]) -> Result<Vec<u8>> {
    pack(
        entries.iter().map(|(n, d)| (*n, *d, false)),
        Path::new("(memory)"),
    )
}

fn pack<'a>(
    entries: impl Iterator<Item = (&'a str, &'a [u8], bool)>,
    origin: &Path,
) -> Result<Vec<u8>> {
    let enc = GzEncoder::new(Vec::new(), Compression::default());
    let mut builder = tar::Builder::new(enc);
    for (name, data, executable) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(if executable { 0o755 } else { 0o644 });
        header.set_mtime(0);
        header.set_uid(0);
        header.set_gid(0);
        header.set_entry_type(tar::EntryType::Regular);
        builder
            .append_data(&mut header, name, data)
            .map_err(|e| MarketplaceError::io(origin.join(name), e))?;
    }
    let enc = builder
        .into_inner()
        .map_err(|e| MarketplaceError::io(origin, e))?;
    enc.finish().map_err(|e| MarketplaceError::io(origin, e))
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let entries = fs::read_dir(dir).map_err(|e| MarketplaceError::io(dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| MarketplaceError::io(dir, e))?;
        let path = entry.path();
        let ty = entry
            .file_type()
            .map_err(|e| MarketplaceError::io(&path, e))?;
        let rel = path
            .strip_prefix(root)
            .expect("walk stays under root")
            .to_path_buf();
        if ty.is_symlink() {
            return Err(MarketplaceError::UnsafeArchive {
                entry: rel.display().to_string(),
                reason: "symbolic links cannot be packed; copy the file instead".into(),
            });
        } else if ty.is_dir() {
            if !SKIP_DIRS.contains(&entry.file_name().to_string_lossy().as_ref()) {
                collect(root, &path, out)?;
            }
        } else if ty.is_file() {
            out.push(rel);
        }
    }
    Ok(())
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(_: &Path) -> bool {
    false
}

/// Counts decompressed bytes and fails once past `cap`, whatever the tar
/// headers claim.
struct CappedReader<R> {
    inner: R,
    read: u64,
    cap: u64,
}

impl<R: Read> Read for CappedReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        if self.read > self.cap {
            return Err(io::Error::other("decompressed size exceeds the limit"));
        }
        Ok(n)
    }
}

/// Checks an entry path and turns it into a safe relative path.
fn safe_relative_path(raw: &[u8], limits: &ExtractLimits) -> Result<PathBuf> {
    let shown = String::from_utf8_lossy(raw).into_owned();
    let unsafe_entry = |reason: &str| MarketplaceError::UnsafeArchive {
        entry: shown.escape_debug().to_string(),
        reason: reason.into(),
    };
    let text = std::str::from_utf8(raw).map_err(|_| unsafe_entry("path is not UTF-8"))?;
    if text.len() > limits.max_path_len {
        return Err(unsafe_entry("path is too long"));
    }
    if text.contains('\\') || text.chars().any(char::is_control) {
        return Err(unsafe_entry(
            "path contains a backslash or control character",
        ));
    }
    let mut out = PathBuf::new();
    for comp in Path::new(text).components() {
        match comp {
            Component::Normal(c) => out.push(c),
            Component::CurDir => {}
            Component::ParentDir => return Err(unsafe_entry("path contains `..`")),
            Component::RootDir | Component::Prefix(_) => {
                return Err(unsafe_entry("path is absolute"));
            }
        }
    }
    if out.as_os_str().is_empty() {
        return Err(unsafe_entry("path is empty"));
    }
    Ok(out)
}

/// One entry that passed every rule, handed to the caller of [`walk`].
enum Entry<'a> {
    Dir(&'a Path),
    File {
        path: &'a Path,
        executable: bool,
        /// Exactly the entry's bytes (capped at its declared size).
        data: &'a mut dyn Read,
    },
}

/// Reads a `.tar.gz` entry by entry and applies every rule an install applies:
/// safe relative UTF-8 paths, regular files and directories only, no
/// duplicates, and the limits on bytes, files, directories and path length.
/// `visit` sees each entry that passed; the first refusal stops the walk.
///
/// Publishing ([`check_tar_gz`]) and extraction ([`extract_tar_gz`]) both go
/// through here, so what a registry accepts is exactly what an installer
/// accepts.
fn walk(
    bytes: &[u8],
    limits: &ExtractLimits,
    mut visit: impl FnMut(Entry<'_>) -> Result<u64>,
) -> Result<ExtractSummary> {
    // Headers and padding count against the cap too, plus slack for them.
    let cap =
        limits.max_total_bytes + 512 * (limits.max_files as u64 + limits.max_dirs as u64 + 16);
    let reader = CappedReader {
        inner: GzDecoder::new(bytes),
        read: 0,
        cap,
    };
    let mut archive = tar::Archive::new(reader);
    let invalid = |e: io::Error| MarketplaceError::InvalidArchive {
        reason: e.to_string(),
    };
    let mut seen = HashSet::new();
    let mut dirs: HashSet<PathBuf> = HashSet::new();
    let mut summary = ExtractSummary::default();
    for entry in archive.entries().map_err(invalid)? {
        let mut entry = entry.map_err(invalid)?;
        let raw_path = entry.path_bytes().into_owned();
        let rel = safe_relative_path(&raw_path, limits)?;
        let shown = rel.display().to_string();
        let refuse = |reason: String| MarketplaceError::UnsafeArchive {
            entry: shown.clone(),
            reason,
        };
        let ty = entry.header().entry_type();
        if !seen.insert(rel.clone()) {
            return Err(refuse("duplicate entry".into()));
        }
        // Every ancestor is a directory the install creates; count them all.
        let is_dir = ty == tar::EntryType::Directory;
        let mut ancestors: Vec<&Path> = rel.ancestors().skip(1).collect();
        if is_dir {
            ancestors.push(&rel);
        }
        for dir in ancestors {
            if !dir.as_os_str().is_empty()
                && dirs.insert(dir.to_path_buf())
                && dirs.len() > limits.max_dirs
            {
                return Err(refuse(format!(
                    "archive holds more than {} directories",
                    limits.max_dirs
                )));
            }
        }
        match ty {
            tar::EntryType::Directory => {
                visit(Entry::Dir(&rel))?;
            }
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                summary.files += 1;
                if summary.files > limits.max_files {
                    return Err(refuse(format!(
                        "archive holds more than {} files",
                        limits.max_files
                    )));
                }
                let declared = entry.header().size().map_err(invalid)?;
                if summary.bytes + declared > limits.max_total_bytes {
                    return Err(refuse(format!(
                        "archive expands to more than {} bytes",
                        limits.max_total_bytes
                    )));
                }
                let executable = entry.header().mode().is_ok_and(|m| m & 0o111 != 0);
                let mut data = (&mut entry).take(declared);
                summary.bytes += visit(Entry::File {
                    path: &rel,
                    executable,
                    data: &mut data,
                })?;
            }
            other => {
                let kind = match other {
                    tar::EntryType::Symlink => "symbolic links are not allowed",
                    tar::EntryType::Link => "hard links are not allowed",
                    tar::EntryType::Char | tar::EntryType::Block => "device files are not allowed",
                    tar::EntryType::Fifo => "FIFOs are not allowed",
                    _ => "unsupported entry type",
                };
                return Err(refuse(kind.into()));
            }
        }
    }
    Ok(summary)
}

/// Checks a `.tar.gz` against every rule of [`extract_tar_gz`] without writing
/// anything: a registry runs it on each upload so it never serves an archive
/// its installers would refuse.
pub fn check_tar_gz(bytes: &[u8], limits: &ExtractLimits) -> Result<ExtractSummary> {
    let invalid = |e: io::Error| MarketplaceError::InvalidArchive {
        reason: e.to_string(),
    };
    walk(bytes, limits, |entry| match entry {
        Entry::Dir(_) => Ok(0),
        Entry::File { data, .. } => io::copy(data, &mut io::sink()).map_err(invalid),
    })
}

/// Extracts a `.tar.gz` into `dest` (created if missing). Every file and
/// directory is fsynced before this returns, so a lockfile written afterwards
/// never lists files that a crash could lose; files are synced in batches,
/// several at once ([`crate::fsutil::sync_files`]). On error, `dest` may hold
/// part of the archive: callers extract into a staging directory and move it
/// into place only on success.
pub fn extract_tar_gz(bytes: &[u8], dest: &Path, limits: &ExtractLimits) -> Result<ExtractSummary> {
    fs::create_dir_all(dest).map_err(|e| MarketplaceError::io(dest, e))?;
    let invalid = |e: io::Error| MarketplaceError::InvalidArchive {
        reason: e.to_string(),
    };
    let mut created: Vec<PathBuf> = vec![dest.to_path_buf()];
    let mut unsynced: Vec<(PathBuf, fs::File)> = Vec::new();
    let summary = walk(bytes, limits, |entry| match entry {
        Entry::Dir(rel) => {
            let target = dest.join(rel);
            fs::create_dir_all(&target).map_err(|e| MarketplaceError::io(&target, e))?;
            created.push(target);
            Ok(0)
        }
        Entry::File {
            path,
            executable,
            data,
        } => {
            let target = dest.join(path);
            if let Some(parent) = target.parent() {
                fs::create_dir_all(parent).map_err(|e| MarketplaceError::io(parent, e))?;
                created.push(parent.to_path_buf());
            }
            let mut opts = OpenOptions::new();
            opts.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                opts.mode(if executable { 0o755 } else { 0o644 });
            }
            #[cfg(not(unix))]
            let _ = executable;
            let mut file = opts
                .open(&target)
                .map_err(|e| MarketplaceError::io(&target, e))?;
            let copied = io::copy(data, &mut file).map_err(invalid)?;
            file.flush().map_err(|e| MarketplaceError::io(&target, e))?;
            unsynced.push((target, file));
            if unsynced.len() >= crate::fsutil::SYNC_BATCH {
                crate::fsutil::sync_files(std::mem::take(&mut unsynced))?;
            }
            Ok(copied)
        }
    })?;
    crate::fsutil::sync_files(unsynced)?;
    created.sort();
    created.dedup();
    for dir in &created {
        crate::fsutil::sync_dir(dir);
    }
    Ok(summary)
}

/// One regular file of an archive, read into memory by [`read_files`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveFile {
    /// Its path inside the archive (checked: relative, no `..`, UTF-8, `/`-separated).
    pub path: String,
    /// Its bytes.
    pub data: Vec<u8>,
    /// Whether any executable bit is set.
    pub executable: bool,
}

/// Reads every regular file of a `.tar.gz` into memory, under every rule of
/// [`extract_tar_gz`] (so a template renderer sees exactly what an install
/// would write, and nothing touches the disk).
pub fn read_files(bytes: &[u8], limits: &ExtractLimits) -> Result<Vec<ArchiveFile>> {
    let invalid = |e: io::Error| MarketplaceError::InvalidArchive {
        reason: e.to_string(),
    };
    let mut files = Vec::new();
    walk(bytes, limits, |entry| match entry {
        Entry::Dir(_) => Ok(0),
        Entry::File {
            path,
            executable,
            data,
        } => {
            let mut buf = Vec::new();
            let n = data.read_to_end(&mut buf).map_err(invalid)?;
            let path = path
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            files.push(ArchiveFile {
                path,
                data: buf,
                executable,
            });
            Ok(n as u64)
        }
    })?;
    Ok(files)
}

/// Opens the stored archive file of `name@version` as a stream checked
/// against `expected` (its registry checksum) as it is read: what backends
/// that keep archives as files answer [`crate::MarketplaceBackend::open_archive`] with.
pub fn open_stored(
    path: &Path,
    name: &str,
    version: &semver::Version,
    expected: Option<&str>,
) -> Result<crate::ArchiveStream> {
    let expected = required_checksum(name, version, expected)?;
    match fs::File::open(path) {
        Ok(f) => Ok(Box::new(crate::checksum::VerifyingReader::new(
            io::BufReader::new(f),
            expected,
        ))),
        Err(e) => Err(stored_file_error(path, name, version, e)),
    }
}

/// Reads the stored archive file of `name@version` whole and checks it
/// against `expected`, so a tampered file never leaves the backend: what
/// such backends answer [`crate::MarketplaceBackend::fetch_archive`] with.
pub fn read_stored(
    path: &Path,
    name: &str,
    version: &semver::Version,
    expected: Option<&str>,
) -> Result<Vec<u8>> {
    let expected = required_checksum(name, version, expected)?;
    let bytes = fs::read(path).map_err(|e| stored_file_error(path, name, version, e))?;
    let actual = crate::checksum::sha256_hex(&bytes);
    if expected != actual {
        return Err(MarketplaceError::ChecksumMismatch {
            name: name.to_string(),
            version: version.to_string(),
            expected: expected.to_string(),
            actual,
        });
    }
    Ok(bytes)
}

/// A stored archive without a registry checksum cannot be verified, so it
/// is never served.
fn required_checksum<'a>(
    name: &str,
    version: &semver::Version,
    expected: Option<&'a str>,
) -> Result<&'a str> {
    expected.ok_or_else(|| MarketplaceError::InvalidArchive {
        reason: format!(
            "`{name}@{version}` has no checksum in the registry; it cannot be verified"
        ),
    })
}

/// A stored archive that is gone is `ArchiveMissing` (the registry lists
/// it, the disk lost it); any other failure is the I/O error it is.
fn stored_file_error(
    path: &Path,
    name: &str,
    version: &semver::Version,
    e: io::Error,
) -> MarketplaceError {
    if e.kind() == io::ErrorKind::NotFound {
        MarketplaceError::ArchiveMissing {
            name: name.to_string(),
            version: version.to_string(),
            path: path.to_path_buf(),
        }
    } else {
        MarketplaceError::io(path, e)
    }
}

/// Reads one file out of an archive without extracting it (e.g. the manifest of
/// an uploaded package). Same caps as extraction.
pub fn read_file(bytes: &[u8], wanted: &str, limits: &ExtractLimits) -> Result<Option<Vec<u8>>> {
    let reader = CappedReader {
        inner: GzDecoder::new(bytes),
        read: 0,
        cap: limits.max_total_bytes + 512 * (limits.max_files as u64 + 16),
    };
    let mut archive = tar::Archive::new(reader);
    let invalid = |e: io::Error| MarketplaceError::InvalidArchive {
        reason: e.to_string(),
    };
    for entry in archive.entries().map_err(invalid)? {
        let mut entry = entry.map_err(invalid)?;
        let rel = safe_relative_path(&entry.path_bytes(), limits)?;
        if rel == Path::new(wanted) && entry.header().entry_type().is_file() {
            let mut buf = Vec::new();
            entry.read_to_end(&mut buf).map_err(invalid)?;
            return Ok(Some(buf));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw_tar(entries: &[(&[u8], tar::EntryType, &[u8])]) -> Vec<u8> {
        // Headers written by hand so that hostile paths are not "fixed" by the builder.
        let mut tar_bytes = Vec::new();
        for (path, ty, data) in entries {
            let mut h = tar::Header::new_old();
            h.as_old_mut().name[..path.len()].copy_from_slice(path);
            h.set_entry_type(*ty);
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            if *ty == tar::EntryType::Symlink || *ty == tar::EntryType::Link {
                h.set_link_name("/etc/passwd").unwrap();
            }
            h.set_cksum();
            tar_bytes.extend_from_slice(h.as_bytes());
            tar_bytes.extend_from_slice(data);
            let pad = (512 - data.len() % 512) % 512;
            tar_bytes.extend(std::iter::repeat_n(0u8, pad));
        }
        tar_bytes.extend([0u8; 1024]);
        gz(&tar_bytes)
    }

    fn gz(bytes: &[u8]) -> Vec<u8> {
        let mut enc = GzEncoder::new(Vec::new(), Compression::default());
        enc.write_all(bytes).unwrap();
        enc.finish().unwrap()
    }

    fn extract(bytes: &[u8]) -> (tempfile::TempDir, Result<ExtractSummary>) {
        let dir = tempfile::tempdir().unwrap();
        let r = extract_tar_gz(bytes, &dir.path().join("out"), &ExtractLimits::default());
        (dir, r)
    }

    #[test]
    fn pack_then_extract_round_trips_and_is_deterministic() {
        let src = tempfile::tempdir().unwrap();
        fs::create_dir_all(src.path().join("templates/src")).unwrap();
        fs::write(src.path().join("README.md"), "# hi\n").unwrap();
        fs::write(src.path().join("templates/src/main.rs"), "fn main() {}\n").unwrap();
        fs::create_dir_all(src.path().join(".git")).unwrap();
        fs::write(src.path().join(".git/HEAD"), "ref").unwrap();
        let a = pack_dir(src.path()).unwrap();
        let b = pack_dir(src.path()).unwrap();
        assert_eq!(a, b, "packing must be deterministic");
        let (dir, r) = extract(&a);
        assert_eq!(
            r.unwrap(),
            ExtractSummary {
                files: 2,
                bytes: 18
            }
        );
        let out = dir.path().join("out");
        assert_eq!(fs::read_to_string(out.join("README.md")).unwrap(), "# hi\n");
        assert!(!out.join(".git").exists());
        assert_eq!(
            read_file(&a, "README.md", &ExtractLimits::default())
                .unwrap()
                .unwrap(),
            b"# hi\n"
        );
    }

    #[test]
    fn more_files_than_one_sync_batch_all_arrive() {
        // Two full batches of [`crate::fsutil::SYNC_BATCH`] and a remainder,
        // with a file open per batch entry until it is synced.
        let n = 2 * crate::fsutil::SYNC_BATCH + 3;
        let names: Vec<String> = (0..n).map(|i| format!("f/{i:04}.txt")).collect();
        let entries: Vec<(&[u8], tar::EntryType, &[u8])> = names
            .iter()
            .map(|p| (p.as_bytes(), tar::EntryType::Regular, p.as_bytes()))
            .collect();
        let (dir, r) = extract(&raw_tar(&entries));
        assert_eq!(r.unwrap().files, n);
        for p in &names {
            assert_eq!(
                fs::read_to_string(dir.path().join("out").join(p)).unwrap(),
                *p
            );
        }
    }

    #[test]
    fn hostile_entries_are_refused() {
        let cases: Vec<(&[u8], tar::EntryType, &str)> = vec![
            (b"../escape.txt", tar::EntryType::Regular, ".."),
            (b"a/../../escape.txt", tar::EntryType::Regular, ".."),
            (b"/etc/evil", tar::EntryType::Regular, "absolute"),
            (b"link", tar::EntryType::Symlink, "symbolic"),
            (b"hard", tar::EntryType::Link, "hard link"),
            (b"dev", tar::EntryType::Char, "device"),
            (b"blk", tar::EntryType::Block, "device"),
            (b"fifo", tar::EntryType::Fifo, "FIFO"),
            (b"a\\..\\b", tar::EntryType::Regular, "backslash"),
            (b"bad\xffname", tar::EntryType::Regular, "UTF-8"),
        ];
        for (path, ty, needle) in cases {
            let (dir, r) = extract(&raw_tar(&[(path, ty, b"x")]));
            let err = r.expect_err(&format!(
                "{:?} must be refused",
                String::from_utf8_lossy(path)
            ));
            assert!(
                err.to_string().contains(needle),
                "{err} should mention {needle}"
            );
            assert!(!dir.path().join("escape.txt").exists());
            // A registry refuses the same archive at publish, for the same reason.
            let checked = check_tar_gz(&raw_tar(&[(path, ty, b"x")]), &ExtractLimits::default())
                .expect_err("check_tar_gz must refuse what extraction refuses");
            assert!(checked.to_string().contains(needle), "{checked}");
        }
    }

    #[test]
    fn too_many_directories_are_refused_by_check_and_extract() {
        // Directories named by entries and directories implied by file paths
        // both count: 3 + 3 here, over a limit of 4.
        let entries: Vec<(&[u8], tar::EntryType, &[u8])> = vec![
            (b"d1/", tar::EntryType::Directory, b""),
            (b"d2/", tar::EntryType::Directory, b""),
            (b"d3/", tar::EntryType::Directory, b""),
            (b"a/b/c/f.txt", tar::EntryType::Regular, b"x"),
        ];
        let limits = ExtractLimits {
            max_dirs: 4,
            ..ExtractLimits::default()
        };
        let bytes = raw_tar(&entries);
        let err = check_tar_gz(&bytes, &limits).unwrap_err();
        assert!(err.to_string().contains("more than 4 directories"), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let err = extract_tar_gz(&bytes, &dir.path().join("out"), &limits).unwrap_err();
        assert!(err.to_string().contains("more than 4 directories"), "{err}");
        let roomy = ExtractLimits {
            max_dirs: 6,
            ..ExtractLimits::default()
        };
        assert_eq!(check_tar_gz(&bytes, &roomy).unwrap().files, 1);
    }

    #[test]
    fn check_agrees_with_extract_on_a_valid_archive() {
        let src = tempfile::tempdir().unwrap();
        fs::create_dir_all(src.path().join("t/u")).unwrap();
        fs::write(src.path().join("t/u/x.txt"), "xyz").unwrap();
        fs::write(src.path().join("top.txt"), "1").unwrap();
        let bytes = pack_dir(src.path()).unwrap();
        let checked = check_tar_gz(&bytes, &ExtractLimits::default()).unwrap();
        let (_d, extracted) = extract(&bytes);
        assert_eq!(checked, extracted.unwrap());
    }

    #[test]
    fn duplicate_entries_are_refused() {
        let bytes = raw_tar(&[
            (b"a.txt", tar::EntryType::Regular, b"1"),
            (b"a.txt", tar::EntryType::Regular, b"2"),
        ]);
        let (_d, r) = extract(&bytes);
        assert!(r.unwrap_err().to_string().contains("duplicate"));
    }

    #[test]
    fn decompression_bomb_stops_at_the_cap() {
        // 64 MiB of zeros compresses to ~64 KiB.
        let zeros = vec![0u8; 64 * 1024 * 1024];
        let bytes = raw_tar(&[(b"bomb.bin", tar::EntryType::Regular, &zeros)]);
        assert!(bytes.len() < 1024 * 1024);
        let dir = tempfile::tempdir().unwrap();
        let limits = ExtractLimits {
            max_total_bytes: 1024 * 1024,
            ..ExtractLimits::default()
        };
        let err = extract_tar_gz(&bytes, &dir.path().join("out"), &limits).unwrap_err();
        assert!(err.to_string().contains("expands to more than"), "{err}");
    }

    #[test]
    fn too_many_files_are_refused() {
        let names: Vec<String> = (0..20).map(|i| format!("f{i}")).collect();
        let entries: Vec<(&[u8], tar::EntryType, &[u8])> = names
            .iter()
            .map(|n| (n.as_bytes(), tar::EntryType::Regular, b"x".as_slice()))
            .collect();
        let dir = tempfile::tempdir().unwrap();
        let limits = ExtractLimits {
            max_files: 10,
            ..ExtractLimits::default()
        };
        let err = extract_tar_gz(&raw_tar(&entries), &dir.path().join("out"), &limits).unwrap_err();
        assert!(err.to_string().contains("more than 10 files"), "{err}");
    }

    #[test]
    fn garbage_is_an_invalid_archive() {
        let (_d, r) = extract(b"this is not gzip");
        assert!(matches!(
            r.unwrap_err(),
            MarketplaceError::InvalidArchive { .. }
        ));
    }

    #[cfg(unix)]
    #[test]
    fn packing_refuses_symlinks() {
        let src = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink("/etc/passwd", src.path().join("passwd")).unwrap();
        assert!(pack_dir(src.path()).is_err());
    }
}
