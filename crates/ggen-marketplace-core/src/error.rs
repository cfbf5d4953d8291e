//! One error type for every backend, so adapters can decide about fallback and
//! retry without knowing which backend failed.

use std::path::PathBuf;

/// A result whose error is, unless said otherwise, a [`MarketplaceError`].
pub type Result<T, E = MarketplaceError> = std::result::Result<T, E>;

/// What to do next, for a person: every error type of the project answers it,
/// so a front end prints one hint line under any error without knowing its
/// type (the CLI's `error:` / `hint:` pair, the server's `hint` field).
pub trait Hint {
    /// The next step, if there is one to suggest.
    fn hint(&self) -> Option<String>;
}

/// Operating-system errors carry no advice of their own.
impl Hint for std::io::Error {
    fn hint(&self) -> Option<String> {
        None
    }
}

/// Nor do JSON errors.
impl Hint for serde_json::Error {
    fn hint(&self) -> Option<String> {
        None
    }
}

// Each variant's `#[error]` message is its documentation; doc comments say
// only what a message cannot (when a variant is used).
#[allow(missing_docs)]
#[derive(Debug, thiserror::Error)]
pub enum MarketplaceError {
    #[error("package `{name}` not found")]
    NotFound { name: String },

    #[error("package `{name}` has no version matching `{requirement}`")]
    VersionNotFound { name: String, requirement: String },

    #[error("`{name}@{version}` is already published; published versions are immutable")]
    AlreadyPublished { name: String, version: String },

    #[error("invalid package name `{name}`: {reason}")]
    InvalidName { name: String, reason: String },

    #[error("invalid package metadata in `{field}`: {reason}")]
    InvalidMetadata { field: String, reason: String },

    /// A name that differs from a published one only in case or in `-`, `_`, `.`.
    #[error(
        "`{name}` is too similar to the published package `{existing}` (names that differ only in case or in `-`, `_`, `.` are the same name here)"
    )]
    ConfusableName { name: String, existing: String },

    /// The caller may not write this package (ownership, key continuity).
    #[error("{message}")]
    Forbidden {
        message: String,
        hint: Option<String>,
    },

    /// An answer broke the contract (a registry server's, or a damaged
    /// store's): `from` names who sent it. It is not used.
    #[error("{from} sent an answer that cannot be trusted: {reason}")]
    UntrustedAnswer { from: String, reason: String },

    #[error("invalid version requirement `{requirement}`: {reason}")]
    InvalidRequirement { requirement: String, reason: String },

    #[error("invalid manifest {}: {reason}", path.display())]
    InvalidManifest { path: PathBuf, reason: String },

    /// A topic scheme that cannot be used: `origin` is the file given, or
    /// the graph that holds it.
    #[error("topic scheme {origin}: {reason}")]
    InvalidTopics { origin: String, reason: String },

    #[error("registry index {} is unreadable: {reason}", path.display())]
    CorruptIndex { path: PathBuf, reason: String },

    #[error("search index {} is unusable: {reason}", path.display())]
    SearchIndex { path: PathBuf, reason: String },

    #[error("archive for `{name}@{version}` is missing ({})", path.display())]
    ArchiveMissing {
        name: String,
        version: String,
        path: PathBuf,
    },

    #[error("checksum mismatch for `{name}@{version}`: expected sha256 {expected}, got {actual}")]
    ChecksumMismatch {
        name: String,
        version: String,
        expected: String,
        actual: String,
    },

    #[error("unsafe archive entry `{entry}`: {reason}")]
    UnsafeArchive { entry: String, reason: String },

    #[error("archive is invalid: {reason}")]
    InvalidArchive { reason: String },

    #[error("{backend} backend does not support {operation}: {reason}")]
    Unsupported {
        backend: String,
        operation: String,
        reason: String,
    },

    #[error("{backend} backend is unavailable: {reason}")]
    Unavailable { backend: String, reason: String },

    #[error("{backend} backend timed out after {millis} ms during {operation}")]
    Timeout {
        backend: String,
        operation: String,
        millis: u64,
    },

    #[error("{backend} backend failed: {message}")]
    Backend { backend: String, message: String },

    #[error("invalid query: {reason}")]
    InvalidQuery { reason: String },

    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A registry server refused a request (remote mode). Boxed to keep every
    /// `Result` small.
    #[error(transparent)]
    Remote(Box<RemoteFailure>),

    #[error("{0}")]
    Other(String),
}

/// What a registry server said when it refused a request; `hint` is the server's.
#[derive(Debug, thiserror::Error)]
#[error("registry {url} answered {status} ({code}): {message}")]
pub struct RemoteFailure {
    /// The URL asked.
    pub url: String,
    /// The HTTP status.
    pub status: u16,
    /// The machine-readable code (`ggen_registry_api::codes`).
    pub code: String,
    /// The server's message.
    pub message: String,
    /// The server's advice, if any.
    pub hint: Option<String>,
}

impl MarketplaceError {
    /// An I/O failure on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }

    /// A failure inside `backend` that fits no other variant.
    pub fn backend(backend: impl Into<String>, message: impl std::fmt::Display) -> Self {
        Self::Backend {
            backend: backend.into(),
            message: message.to_string(),
        }
    }

    /// Whether retrying the same call, or asking another backend, may succeed.
    /// Answers about the data itself (not found, bad input, tampering) are final.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::Unavailable { .. }
                | Self::Timeout { .. }
                | Self::Backend { .. }
                | Self::Io { .. }
        ) || matches!(self, Self::Remote(r) if r.status >= 500 || r.status == 429)
    }
}

impl Hint for MarketplaceError {
    fn hint(&self) -> Option<String> {
        Some(match self {
            Self::NotFound { .. } => {
                "search for it with `ggen marketplace search --query NAME`".into()
            }
            Self::VersionNotFound { name, .. } => {
                format!("list published versions with `ggen marketplace versions {name}`")
            }
            Self::AlreadyPublished { .. } => "bump the version in the manifest".into(),
            Self::InvalidName { .. } => {
                "names use lowercase letters, digits, `.`, `_` and `-`, and start with a letter or digit".into()
            }
            Self::InvalidMetadata { .. } => {
                "remove control characters and escape sequences from the manifest's fields".into()
            }
            Self::ConfusableName { existing, .. } => format!(
                "choose a name that differs from `{existing}` by more than separators or case"
            ),
            Self::Forbidden { hint, .. } => return hint.clone(),
            Self::UntrustedAnswer { .. } => {
                "nothing was installed or changed; the registry server may be compromised or misconfigured: tell its operator".into()
            }
            Self::InvalidRequirement { .. } => {
                "use a semver requirement such as `^1.2`, `~0.3.1`, `>=1, <2` or `*`".into()
            }
            Self::InvalidTopics { .. } => {
                "nothing was changed. Fix the scheme (Turtle, with `skos:Concept`s that each have one `skos:prefLabel`) and load it with `ggen marketplace topics import FILE.ttl`; `ggen marketplace topics export` prints the scheme in use to start from".into()
            }
            Self::CorruptIndex { .. } => {
                "restore index.json from a backup, or run `ggen marketplace init --force` to reseed the bundled catalogue".into()
            }
            Self::SearchIndex { .. } => "rebuild it with `ggen marketplace rebuild-index`".into(),
            Self::ArchiveMissing { .. } => {
                "the registry is incomplete: republish the package or restore the registry from a backup".into()
            }
            Self::ChecksumMismatch { .. } => {
                "the archive was altered or corrupted; nothing was installed. Clear the download cache with `ggen marketplace cache clear` and retry, or report it to the registry".into()
            }
            Self::UnsafeArchive { .. } | Self::InvalidArchive { .. } => {
                "the archive was refused and nothing was extracted; report it to the publisher".into()
            }
            Self::Unavailable { .. } | Self::Timeout { .. } => {
                "check `ggen marketplace status`, or use `--backend v1`".into()
            }
            Self::Remote(r) => return r.hint.clone(),
            _ => return None,
        })
    }
}
