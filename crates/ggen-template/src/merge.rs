//! Bringing a generated project up to a new template version: a three-way
//! merge of every file between the old version rendered with the recorded
//! answers (the base), the new version rendered with the same answers
//! (theirs) and the project as it is now (ours).
//!
//! Per file, as git would: a side that did not change gives way to the side
//! that did; text changed on both sides is merged line by line (diffy), and
//! overlapping edits become inline conflict markers; a file removed upstream
//! goes unless it was edited here; a file deleted here stays deleted. Files
//! the templates never wrote are not looked at.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::render::{RenderedTree, is_binary};

/// What happens to one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// New upstream; written.
    Added,
    /// Changed upstream only; the new version written.
    Updated,
    /// Changed on both sides without overlap; merged.
    Merged,
    /// Changed on both sides in the same lines: written with conflict
    /// markers (text), or left as it is here (binary).
    Conflict,
    /// Removed upstream and unchanged here; removed.
    Removed,
    /// Removed upstream but edited here; kept.
    KeptEdited,
    /// Deleted here but changed upstream; left deleted.
    KeptDeleted,
}

impl Outcome {
    /// Whether the file on disk changes.
    pub fn writes(self) -> bool {
        matches!(
            self,
            Self::Added | Self::Updated | Self::Merged | Self::Conflict | Self::Removed
        )
    }
}

/// One file's part of an update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileUpdate {
    /// The file, relative to the project.
    pub path: String,
    /// What happens to it.
    pub outcome: Outcome,
    /// Its bytes now, if it exists.
    pub current: Option<Vec<u8>>,
    /// Its bytes after the update; `None` removes it.
    pub result: Option<Vec<u8>>,
    /// The executable bit to give it when written.
    pub executable: bool,
}

/// Plans the update of every file `base` or `theirs` has. `ours` reads a
/// project file (`None` when it does not exist). Files with nothing to do
/// are left out.
pub fn plan_update(
    base: &RenderedTree,
    theirs: &RenderedTree,
    mut ours: impl FnMut(&str) -> Option<Vec<u8>>,
) -> Vec<FileUpdate> {
    let paths: BTreeSet<&String> = base.keys().chain(theirs.keys()).collect();
    let mut plan = Vec::new();
    for path in paths {
        let b = base.get(path).map(|f| f.data.as_slice());
        let t = theirs.get(path);
        let o = ours(path);
        let executable = t.is_some_and(|f| f.executable);
        let t_data = t.map(|f| f.data.as_slice());
        let (outcome, result) = match (b, t_data, o.as_deref()) {
            (_, Some(t), Some(o)) if t == o => continue,
            (Some(b), Some(t), _) if b == t => continue,
            (Some(b), Some(t), Some(o)) if o == b => (Outcome::Updated, Some(t.to_vec())),
            (Some(_), Some(_), None) => (Outcome::KeptDeleted, None),
            (b, Some(t), Some(o)) => merge_file(b.unwrap_or_default(), o, t),
            (None, Some(t), None) => (Outcome::Added, Some(t.to_vec())),
            (Some(b), None, Some(o)) if o == b => (Outcome::Removed, None),
            (Some(_), None, Some(o)) => (Outcome::KeptEdited, Some(o.to_vec())),
            (_, None, None) | (None, None, _) => continue,
        };
        plan.push(FileUpdate {
            path: path.clone(),
            outcome,
            current: o,
            result,
            executable,
        });
    }
    plan
}

/// Both sides changed `base`: merged text, or conflict markers, or (binary)
/// ours kept.
fn merge_file(base: &[u8], ours: &[u8], theirs: &[u8]) -> (Outcome, Option<Vec<u8>>) {
    if is_binary(base) || is_binary(ours) || is_binary(theirs) {
        return (Outcome::Conflict, Some(ours.to_vec()));
    }
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let (b, o, t) = (text(base), text(ours), text(theirs));
    match diffy::merge(&b, &o, &t) {
        Ok(merged) => (Outcome::Merged, Some(merged.into_bytes())),
        Err(with_markers) => (Outcome::Conflict, Some(with_markers.into_bytes())),
    }
}

/// A unified diff of what the update does to `f`, for `--dry-run`.
pub fn unified_diff(f: &FileUpdate) -> String {
    let old = f.current.as_deref().unwrap_or_default();
    let new = f.result.as_deref().unwrap_or_default();
    if is_binary(old) || is_binary(new) {
        return format!("Binary file {} differs\n", f.path);
    }
    let (old, new) = (String::from_utf8_lossy(old), String::from_utf8_lossy(new));
    let from = if f.current.is_some() {
        format!("a/{}", f.path)
    } else {
        "/dev/null".into()
    };
    let to = if f.result.is_some() {
        format!("b/{}", f.path)
    } else {
        "/dev/null".into()
    };
    diffy::DiffOptions::new()
        .set_original_filename(from)
        .set_modified_filename(to)
        .create_patch(&old, &new)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::RenderedFile;

    fn tree(files: &[(&str, &str)]) -> RenderedTree {
        files
            .iter()
            .map(|(p, d)| {
                (
                    p.to_string(),
                    RenderedFile {
                        data: d.as_bytes().to_vec(),
                        executable: false,
                        package: "t@1.0.0".into(),
                    },
                )
            })
            .collect()
    }

    fn plan(
        base: &[(&str, &str)],
        theirs: &[(&str, &str)],
        ours: &[(&str, &str)],
    ) -> Vec<FileUpdate> {
        let ours = tree(ours);
        plan_update(&tree(base), &tree(theirs), |p| {
            ours.get(p).map(|f| f.data.clone())
        })
    }

    fn outcome(p: &[FileUpdate], path: &str) -> Option<Outcome> {
        p.iter().find(|f| f.path == path).map(|f| f.outcome)
    }

    #[test]
    fn a_local_edit_and_an_upstream_change_elsewhere_merge() {
        let base = "a\nb\nc\nd\ne\n";
        let ours = "a\nB (mine)\nc\nd\ne\n";
        let theirs = "a\nb\nc\nd\nE (upstream)\n";
        let p = plan(&[("f", base)], &[("f", theirs)], &[("f", ours)]);
        assert_eq!(p[0].outcome, Outcome::Merged);
        assert_eq!(
            String::from_utf8(p[0].result.clone().unwrap()).unwrap(),
            "a\nB (mine)\nc\nd\nE (upstream)\n"
        );
    }

    #[test]
    fn edits_of_the_same_line_conflict_with_markers() {
        let p = plan(&[("f", "x\n")], &[("f", "theirs\n")], &[("f", "ours\n")]);
        assert_eq!(p[0].outcome, Outcome::Conflict);
        let text = String::from_utf8(p[0].result.clone().unwrap()).unwrap();
        assert!(
            text.contains("<<<<<<<") && text.contains("ours") && text.contains("theirs"),
            "{text}"
        );
    }

    #[test]
    fn each_side_alone_wins() {
        // Unchanged here: upstream's version. Unchanged upstream: nothing to do.
        let p = plan(
            &[("f", "1\n"), ("g", "1\n")],
            &[("f", "2\n"), ("g", "1\n")],
            &[("f", "1\n"), ("g", "mine\n")],
        );
        assert_eq!(outcome(&p, "f"), Some(Outcome::Updated));
        assert_eq!(outcome(&p, "g"), None);
    }

    #[test]
    fn removals_respect_local_edits_and_local_deletions() {
        let p = plan(
            &[("gone", "1\n"), ("edited", "1\n"), ("deleted-here", "1\n")],
            &[("deleted-here", "2\n"), ("new", "n\n")],
            &[("gone", "1\n"), ("edited", "mine\n")],
        );
        assert_eq!(outcome(&p, "gone"), Some(Outcome::Removed));
        assert_eq!(outcome(&p, "edited"), Some(Outcome::KeptEdited));
        assert_eq!(outcome(&p, "deleted-here"), Some(Outcome::KeptDeleted));
        assert_eq!(outcome(&p, "new"), Some(Outcome::Added));
    }

    #[test]
    fn a_file_added_on_both_sides_differently_conflicts() {
        let p = plan(&[], &[("n", "theirs\n")], &[("n", "ours\n")]);
        assert_eq!(p[0].outcome, Outcome::Conflict);
    }

    #[test]
    fn diffs_name_the_file() {
        let p = plan(&[("f", "1\n")], &[("f", "2\n")], &[("f", "1\n")]);
        let d = unified_diff(&p[0]);
        assert!(
            d.contains("--- a/f") && d.contains("+++ b/f") && d.contains("+2"),
            "{d}"
        );
    }
}
