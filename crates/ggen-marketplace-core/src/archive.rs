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

#[derive(Debug, Clone, Copy)]
pub struct ExtractLimits {
    /// Sum of all file sizes after decompression.
    pub max_total_bytes: u64,
    pub max_files: usize,
    pub max_path_len: usize,
}

impl Default for ExtractLimits {
    fn default() -> Self {
        Self {
            max_total_bytes: 256 * 1024 * 1024,
            max_files: 10_000,
            max_path_len: 1024,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExtractSummary {
    pub files: usize,
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
    let enc = GzEncoder::new(Vec::new(), Compression::default());
    let mut builder = tar::Builder::new(enc);
    for rel in &files {
        let full = dir.join(rel);
        let data = fs::read(&full).map_err(|e| MarketplaceError::io(&full, e))?;
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(if is_executable(&full) { 0o755 } else { 0o644 });
        header.set_mtime(0);
        header.set_uid(0);
        header.set_gid(0);
        header.set_entry_type(tar::EntryType::Regular);
        let name = rel.to_string_lossy().replace('\\', "/");
        builder
            .append_data(&mut header, &name, data.as_slice())
            .map_err(|e| MarketplaceError::io(&full, e))?;
    }
    let enc = builder
        .into_inner()
        .map_err(|e| MarketplaceError::io(dir, e))?;
    enc.finish().map_err(|e| MarketplaceError::io(dir, e))
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

/// Extracts a `.tar.gz` into `dest` (created if missing). On error, `dest` may
/// hold part of the archive: callers extract into a staging directory and move
/// it into place only on success.
pub fn extract_tar_gz(bytes: &[u8], dest: &Path, limits: &ExtractLimits) -> Result<ExtractSummary> {
    fs::create_dir_all(dest).map_err(|e| MarketplaceError::io(dest, e))?;
    // Headers and padding count against the cap too, plus slack for them.
    let cap = limits.max_total_bytes + 512 * (limits.max_files as u64 + 16);
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
    let mut summary = ExtractSummary::default();
    for entry in archive.entries().map_err(invalid)? {
        let mut entry = entry.map_err(invalid)?;
        let raw_path = entry.path_bytes().into_owned();
        let rel = safe_relative_path(&raw_path, limits)?;
        let shown = rel.display().to_string();
        let ty = entry.header().entry_type();
        if !seen.insert(rel.clone()) {
            return Err(MarketplaceError::UnsafeArchive {
                entry: shown,
                reason: "duplicate entry".into(),
            });
        }
        let target = dest.join(&rel);
        match ty {
            tar::EntryType::Directory => {
                fs::create_dir_all(&target).map_err(|e| MarketplaceError::io(&target, e))?;
            }
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                summary.files += 1;
                if summary.files > limits.max_files {
                    return Err(MarketplaceError::UnsafeArchive {
                        entry: shown,
                        reason: format!("archive holds more than {} files", limits.max_files),
                    });
                }
                let declared = entry.header().size().map_err(invalid)?;
                if summary.bytes + declared > limits.max_total_bytes {
                    return Err(MarketplaceError::UnsafeArchive {
                        entry: shown,
                        reason: format!(
                            "archive expands to more than {} bytes",
                            limits.max_total_bytes
                        ),
                    });
                }
                if let Some(parent) = target.parent() {
                    fs::create_dir_all(parent).map_err(|e| MarketplaceError::io(parent, e))?;
                }
                let executable = entry.header().mode().is_ok_and(|m| m & 0o111 != 0);
                let mut opts = OpenOptions::new();
                opts.write(true).create_new(true);
                #[cfg(unix)]
                {
                    use std::os::unix::fs::OpenOptionsExt;
                    opts.mode(if executable { 0o755 } else { 0o644 });
                }
                let mut file = opts
                    .open(&target)
                    .map_err(|e| MarketplaceError::io(&target, e))?;
                let copied =
                    io::copy(&mut (&mut entry).take(declared), &mut file).map_err(invalid)?;
                file.flush().map_err(|e| MarketplaceError::io(&target, e))?;
                summary.bytes += copied;
            }
            other => {
                let kind = match other {
                    tar::EntryType::Symlink => "symbolic links are not allowed",
                    tar::EntryType::Link => "hard links are not allowed",
                    tar::EntryType::Char | tar::EntryType::Block => "device files are not allowed",
                    tar::EntryType::Fifo => "FIFOs are not allowed",
                    _ => "unsupported entry type",
                };
                return Err(MarketplaceError::UnsafeArchive {
                    entry: shown,
                    reason: kind.into(),
                });
            }
        }
    }
    Ok(summary)
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
        }
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
