//! Reading and writing files of a project directory that may be hostile.
//!
//! A project is whatever the user points at: possibly a clone of someone
//! else's repository, prepared so that `ggen update` writes where it should
//! not. So every path comes from a rendered template and passes
//! [`check_output_path`]; every directory on the way is looked at with
//! `lstat` and a link there stops the command (ggen never reads or writes
//! through one); files are replaced by rename, never opened for writing in
//! place; sizes are capped.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use ggen_marketplace_core::MarketplaceError;
use ggen_marketplace_core::fsutil::sync_dir;
use ggen_template::{
    ANSWERS_FILE, MAX_ANSWERS_BYTES, ProjectRecord, RenderedTree, check_output_path,
};

use crate::error::{Error, Result};

/// A project file larger than this is not read for merging.
const MAX_PROJECT_FILE_BYTES: u64 = 64 * 1024 * 1024;

fn refuse(target: &Path, rel: &str, why: &str) -> Error {
    Error::Setup(format!(
        "{} {why}; ggen never reads or writes through links or over directories. Move it away and run the command again. Nothing was changed",
        target.join(rel).display()
    ))
}

/// Checks every directory between `target` and `rel`'s file: each is a real
/// directory or missing. Returns the first missing one (relative), if any.
fn check_parents(target: &Path, rel: &str) -> Result<Option<String>> {
    let parts: Vec<&str> = rel.split('/').collect();
    for i in 1..parts.len() {
        let sub = parts[..i].join("/");
        match fs::symlink_metadata(target.join(&sub)) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(refuse(target, &sub, "is a symbolic link"));
            }
            Ok(m) if m.is_dir() => {}
            Ok(_) => return Err(refuse(target, &sub, "is a file where a directory belongs")),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Some(sub)),
            Err(e) => return Err(MarketplaceError::io(target.join(&sub), e).into()),
        }
    }
    Ok(None)
}

/// The bytes of `rel` in the project, `None` if it does not exist.
pub(super) fn read(target: &Path, rel: &str) -> Result<Option<Vec<u8>>> {
    if rel != ANSWERS_FILE {
        check_output_path(rel).map_err(|why| refuse(target, rel, &why))?;
    }
    if check_parents(target, rel)?.is_some() {
        return Ok(None);
    }
    let path = target.join(rel);
    let meta = match fs::symlink_metadata(&path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(MarketplaceError::io(&path, e).into()),
    };
    if meta.file_type().is_symlink() {
        return Err(refuse(target, rel, "is a symbolic link"));
    }
    if !meta.is_file() {
        return Err(refuse(target, rel, "is not a regular file"));
    }
    let limit = if rel == ANSWERS_FILE {
        MAX_ANSWERS_BYTES
    } else {
        MAX_PROJECT_FILE_BYTES
    };
    if meta.len() > limit {
        return Err(Error::Setup(format!(
            "{} is {} bytes; ggen merges files of at most {limit}. Move it away and run the command again",
            path.display(),
            meta.len()
        )));
    }
    let mut opts = fs::OpenOptions::new();
    opts.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.custom_flags(libc::O_NOFOLLOW);
    }
    let file = opts
        .open(&path)
        .map_err(|e| MarketplaceError::io(&path, e))?;
    let mut buf = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut buf)
        .map_err(|e| MarketplaceError::io(&path, e))?;
    Ok(Some(buf))
}

/// Reads the project's answers file.
pub(super) fn read_record(target: &Path) -> Result<ProjectRecord> {
    let Some(bytes) = read(target, ANSWERS_FILE)? else {
        return Err(Error::Setup(format!(
            "{} has no {ANSWERS_FILE}, so ggen does not know which template made it; `ggen new NAME DIR` generates a project that can be updated",
            target.display()
        )));
    };
    let shown = target.join(ANSWERS_FILE).display().to_string();
    let text = String::from_utf8(bytes).map_err(|_| {
        Error::from(ggen_template::TemplateError::Record {
            file: shown.clone(),
            reason: "is not UTF-8".into(),
        })
    })?;
    Ok(ProjectRecord::parse(&text, &shown)?)
}

/// Directories `write` would create for `rel` (relative, outermost first).
pub(super) fn missing_dirs(target: &Path, rel: &str) -> Result<Vec<String>> {
    let Some(first) = check_parents(target, rel)? else {
        return Ok(Vec::new());
    };
    let parts: Vec<&str> = rel.split('/').collect();
    let depth = first.split('/').count();
    Ok((depth..parts.len()).map(|i| parts[..i].join("/")).collect())
}

/// Replaces (or creates) `rel` with `data`: a temp file beside it, fsync,
/// rename, fsync the directory (core's `atomic_write`, with a mode).
pub(super) fn write(target: &Path, rel: &str, data: &[u8], executable: bool) -> Result<()> {
    check_parents(target, rel)?;
    let path = target.join(rel);
    if let Ok(m) = fs::symlink_metadata(&path)
        && !m.is_file()
    {
        return Err(refuse(target, rel, "is not a regular file"));
    }
    write_new_file(&path, data, executable)
}

fn write_new_file(path: &Path, data: &[u8], executable: bool) -> Result<()> {
    let mode = if executable { 0o755 } else { 0o644 };
    Ok(ggen_marketplace_core::fsutil::atomic_write_with_mode(
        path, data, mode,
    )?)
}

/// Removes `rel` (a regular file) from the project.
pub(super) fn remove(target: &Path, rel: &str) -> Result<()> {
    if check_parents(target, rel)?.is_some() {
        return Ok(());
    }
    let path = target.join(rel);
    match fs::symlink_metadata(&path) {
        Ok(m) if m.is_file() => {
            fs::remove_file(&path).map_err(|e| MarketplaceError::io(&path, e))?;
            sync_dir(path.parent().unwrap_or(target));
            Ok(())
        }
        Ok(_) => Err(refuse(target, rel, "is not a regular file")),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(MarketplaceError::io(&path, e).into()),
    }
}

/// Writes a freshly generated project: everything goes into a hidden
/// directory beside `dir`, which is renamed to `dir` once complete, so an
/// interrupted generation leaves no half project. `dir` must not exist or be
/// an empty directory.
pub(super) fn create(dir: &Path, tree: &RenderedTree, record: &ProjectRecord) -> Result<()> {
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&parent).map_err(|e| MarketplaceError::io(&parent, e))?;
    let staging = tempfile::Builder::new()
        .prefix(".ggen-new-")
        .tempdir_in(&parent)
        .map_err(|e| MarketplaceError::io(&parent, e))?;
    for (rel, file) in tree {
        write_new_file(&staging.path().join(rel), &file.data, file.executable)?;
    }
    let answers = staging.path().join(ANSWERS_FILE);
    write_new_file(&answers, record.to_toml().as_bytes(), false)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(staging.path(), fs::Permissions::from_mode(0o755))
            .map_err(|e| MarketplaceError::io(staging.path(), e))?;
    }
    sync_tree(staging.path());
    let staged = staging.keep();
    // rename(2) replaces an empty directory and fails on any other.
    if let Err(e) = fs::rename(&staged, dir) {
        let _ = fs::remove_dir_all(&staged);
        return Err(if dir.is_dir() {
            not_empty(dir)
        } else {
            MarketplaceError::io(dir, e).into()
        });
    }
    sync_dir(&parent);
    Ok(())
}

/// Refuses a `dir` that exists as anything but an empty directory.
pub(super) fn check_new(dir: &Path) -> Result<()> {
    match fs::symlink_metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(MarketplaceError::io(dir, e).into()),
        Ok(m) if m.is_dir() => {
            let mut entries = fs::read_dir(dir).map_err(|e| MarketplaceError::io(dir, e))?;
            if entries.next().is_some() {
                Err(not_empty(dir))
            } else {
                Ok(())
            }
        }
        Ok(_) => Err(Error::Setup(format!(
            "{} exists and is not a directory; choose another directory",
            dir.display()
        ))),
    }
}

fn not_empty(dir: &Path) -> Error {
    Error::Setup(format!(
        "{} is not empty; ggen new generates into a new or empty directory (in a project ggen generated, `ggen update` brings it to a newer template version)",
        dir.display()
    ))
}

fn sync_tree(dir: &Path) {
    if let Ok(entries) = fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                sync_tree(&e.path());
            }
        }
    }
    sync_dir(dir);
}
