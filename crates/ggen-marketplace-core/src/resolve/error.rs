//! [`ResolveError`]: every way resolution can fail, each with its own text.

use semver::Version;

use crate::error::MarketplaceError;

use super::Candidate;

// Each variant's `#[error]` message is its documentation; doc comments say
// only what a message cannot (when a variant is used).
#[allow(missing_docs)]
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// A requested (root) package does not exist.
    #[error("package `{name}` is not in the registry")]
    UnknownPackage { name: String },

    /// A package version depends on a package the registry does not have.
    #[error("{dependent} depends on {dependency}, which is not in the registry{}", via(.path))]
    MissingDependency {
        /// `name version` (or `name range` when several versions are affected).
        dependent: String,
        dependency: String,
        /// The chain from a requested package down to `dependent`.
        path: Vec<String>,
    },

    /// No usable published version satisfies a requirement.
    #[error("{}", no_match_text(.package, .requirement, .required_by.as_deref(), .available, .path))]
    NoMatchingVersion {
        package: String,
        requirement: String,
        /// `name version` of the dependent, `None` for a requested package.
        required_by: Option<String>,
        /// Every published version, ascending.
        available: Vec<Candidate>,
        path: Vec<String>,
    },

    /// The lockfile pins a version that the registry no longer has.
    #[error(
        "the lockfile pins {package} {version}, which is no longer in the registry; available versions: {}",
        list(.available)
    )]
    LockedVersionMissing {
        package: String,
        version: Version,
        available: Vec<Candidate>,
    },

    /// The requirements contradict each other; `explanation` is PubGrub's
    /// derivation, one step per line.
    #[error("no set of versions satisfies all requirements:\n{explanation}")]
    Conflict { explanation: String },

    /// The chosen versions depend on each other in a loop.
    #[error("dependency cycle: {} ({})", .cycle.join(" -> "), .steps.join(", "))]
    Cycle {
        /// Package names, first repeated at the end: `[a, b, a]`.
        cycle: Vec<String>,
        /// Each edge as `a 1.0.0 depends on b ^2`.
        steps: Vec<String>,
    },

    /// The source failed to answer for a package.
    #[error("could not read package `{package}`: {source}")]
    Source {
        package: String,
        #[source]
        source: MarketplaceError,
    },
}

fn list(available: &[Candidate]) -> String {
    if available.is_empty() {
        "none".to_string()
    } else {
        available
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn via(path: &[String]) -> String {
    if path.len() > 1 {
        format!(" (required through {})", path.join(" -> "))
    } else {
        String::new()
    }
}

fn no_match_text(
    package: &str,
    requirement: &str,
    required_by: Option<&str>,
    available: &[Candidate],
    path: &[String],
) -> String {
    let head = match required_by {
        Some(dependent) => format!(
            "{dependent} depends on {package} {requirement}, but no version of {package} matches {requirement}"
        ),
        None => format!("no version of {package} matches {requirement}"),
    };
    let tail = if available.is_empty() {
        format!("{package} has no published versions")
    } else {
        format!("available versions: {}", list(available))
    };
    format!("{head}{}; {tail}", via(path))
}

impl crate::Hint for ResolveError {
    fn hint(&self) -> Option<String> {
        Some(match self {
            Self::UnknownPackage { .. } => {
                "search for it with `ggen marketplace search --query NAME`".into()
            }
            Self::MissingDependency { dependency, .. } => format!(
                "the registry is incomplete: publish `{dependency}`, or choose another version of the package that needs it"
            ),
            Self::NoMatchingVersion {
                package, available, ..
            } => {
                let mut hint = format!(
                    "relax the requirement; list published versions with `ggen marketplace versions {package}`"
                );
                if available.iter().any(|c| c.yanked) {
                    hint.push_str("; yanked versions are used only when pinned by the lockfile");
                }
                hint
            }
            Self::LockedVersionMissing { package, .. } => format!(
                "remove `{package}` from the lockfile (or update it) to resolve a published version"
            ),
            Self::Conflict { .. } => {
                "relax one of the requirements named above, or install the packages separately"
                    .into()
            }
            Self::Cycle { .. } => {
                "template packages must not depend on each other in a loop; report it to their publishers"
                    .into()
            }
            Self::Source { source, .. } => return source.hint(),
        })
    }
}

impl From<ResolveError> for MarketplaceError {
    fn from(e: ResolveError) -> Self {
        match e {
            ResolveError::UnknownPackage { name } => MarketplaceError::NotFound { name },
            ResolveError::Source { source, .. } => source,
            other => MarketplaceError::Other(other.to_string()),
        }
    }
}
