//! Ed25519 package signatures: keys, canonical statements, verification and the
//! trust store.
//!
//! A signature covers a small canonical text [`Statement`] naming the package,
//! version, archive sha256 and size, the signing key's id and the signing time, so
//! a signature made for one package or version cannot be replayed for another.
//! Verification is strict ([`ed25519_dalek::VerifyingKey::verify_strict`]): non-canonical
//! signatures and small-order ("weak") public keys are refused.
//!
//! Keys are files that OpenSSL reads and writes: the private key is PKCS#8 PEM
//! (mode 0600), the public key SPKI PEM next to it as `PATH.pub`. What [`sign`]
//! produces verifies with `openssl pkeyutl -verify -pubin -inkey K.pub -rawin`.
//!
//! | module | holds |
//! |---|---|
//! | `keys` | key files, key ids, public keys in hex |
//! | `statement` | the signed statement and its one byte form |
//! | `verify` | signing and strict verification |
//! | `trust` | the user's trust store |
//! | `rotation` | a package's move to a new key, endorsed by its current one |

mod keys;
mod rotation;
mod statement;
mod trust;
mod verify;

use std::path::{Path, PathBuf};

use crate::error::MarketplaceError;

pub use keys::{
    generate_keypair, key_id, load_signing_key, load_verifying_key, parse_public_key_hex,
    public_key_hex, public_key_path, public_key_pem, write_keypair,
};
pub use rotation::{KeyRotation, ROTATION_HEADER, sign_rotation, verify_rotation};
pub use statement::Statement;
pub use trust::{TrustStatus, TrustStore, TrustedKey};
pub use verify::{VerifiedStatement, sign, sign_archive, signature_record, verify, verify_digest};

/// The `algorithm` of every [`crate::model::Signature`] this module makes or accepts.
pub const ALGORITHM: &str = "ed25519";

/// First line of every canonical statement; names the statement format.
pub const STATEMENT_HEADER: &str = "ggen-marketplace-signature-v1";

/// Length of a key id in hex characters (8 bytes of SHA-256).
pub const KEY_ID_LEN: usize = 16;

/// A result whose error is, unless said otherwise, a [`SigningError`].
pub type Result<T, E = SigningError> = std::result::Result<T, E>;

/// Everything that can go wrong with keys, signatures and the trust store. Each
/// refusal has its own variant so callers (and tests) can tell them apart.
// Each variant's `#[error]` message is its documentation; doc comments say
// only what a message cannot (when a variant is used).
#[allow(missing_docs)]
#[derive(Debug, thiserror::Error)]
pub enum SigningError {
    #[error("key file {} does not exist", path.display())]
    KeyMissing { path: PathBuf },

    #[error("key file {} is not a PEM file: {reason}", path.display())]
    NotPem { path: PathBuf, reason: String },

    #[error("key in {} is not Ed25519 (found {found})", path.display())]
    WrongKeyType { path: PathBuf, found: String },

    #[error("key file {} holds {found}, expected a PEM `PRIVATE KEY` or `PUBLIC KEY`", path.display())]
    NotAKey { path: PathBuf, found: String },

    #[error("key file {} is a public key; signing needs the private key", path.display())]
    NotAPrivateKey { path: PathBuf },

    #[error("key file {} is encrypted; passphrase-protected keys are not supported", path.display())]
    EncryptedKey { path: PathBuf },

    #[error("key file {} is malformed: {reason}", path.display())]
    MalformedKey { path: PathBuf, reason: String },

    #[error("{} already exists; refusing to overwrite it", path.display())]
    KeyExists { path: PathBuf },

    #[error("unsupported signature algorithm `{0}` (only ed25519 is supported)")]
    UnsupportedAlgorithm(String),

    #[error("public key is malformed: {0}")]
    InvalidPublicKey(String),

    #[error("public key {key_id} is a weak (small-order) Ed25519 key and is never accepted")]
    WeakKey { key_id: String },

    #[error("signature is malformed: {0}")]
    MalformedSignature(String),

    #[error("signature is not canonical (its scalar S is not below the group order)")]
    NonCanonicalSignature,

    #[error("signature does not verify")]
    BadSignature,

    #[error("invalid signed statement: {0}")]
    InvalidStatement(String),

    #[error("key id mismatch: {place} names key {claimed}, but the public key's id is {actual}")]
    KeyIdMismatch {
        place: &'static str,
        claimed: String,
        actual: String,
    },

    #[error("signature is for package {signed}, not {expected}")]
    NameMismatch { signed: String, expected: String },

    #[error("signature is for version {signed}, not {expected}")]
    VersionMismatch { signed: String, expected: String },

    #[error(
        "archive sha256 does not match the signed statement (signed {signed}, archive {actual})"
    )]
    DigestMismatch { signed: String, actual: String },

    #[error(
        "archive size does not match the signed statement (signed {signed} bytes, archive {actual} bytes)"
    )]
    SizeMismatch { signed: u64, actual: u64 },

    #[error("trust store {} is unreadable: {reason}", path.display())]
    CorruptTrustStore { path: PathBuf, reason: String },

    #[error("key {key_id} is already in the trust store (as `{label}`)")]
    AlreadyTrusted { key_id: String, label: String },

    #[error("key {key_id} is not in the trust store")]
    NotInTrustStore { key_id: String },

    #[error("invalid trust label {label:?}: {reason}")]
    InvalidLabel { label: String, reason: String },

    #[error("cannot get randomness from the operating system: {0}")]
    Random(String),

    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error(transparent)]
    Core(#[from] MarketplaceError),
}

impl SigningError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

impl crate::Hint for SigningError {
    fn hint(&self) -> Option<String> {
        Some(match self {
            Self::KeyMissing { .. } => {
                "create a key pair with `ggen marketplace keygen --output PATH`".into()
            }
            Self::WrongKeyType { .. } => {
                "ggen signs with Ed25519 only; create a key with `ggen marketplace keygen` or `openssl genpkey -algorithm ed25519`".into()
            }
            Self::EncryptedKey { path } => format!(
                "decrypt it first: `openssl pkey -in {} -out PLAIN.pem` (keep it mode 0600)",
                path.display()
            ),
            Self::KeyExists { .. } => "pass --force to replace it, or choose another path".into(),
            Self::NameMismatch { .. }
            | Self::VersionMismatch { .. }
            | Self::DigestMismatch { .. }
            | Self::SizeMismatch { .. }
            | Self::BadSignature
            | Self::NonCanonicalSignature
            | Self::KeyIdMismatch { .. }
            | Self::WeakKey { .. } => {
                "the package or its signature was altered or replayed; nothing was installed. Report it to the registry".into()
            }
            Self::CorruptTrustStore { .. } => {
                "fix or remove the trust store file, then re-add keys with `ggen marketplace trust add`".into()
            }
            Self::Core(e) => return crate::Hint::hint(e),
            _ => return None,
        })
    }
}

impl From<SigningError> for MarketplaceError {
    fn from(e: SigningError) -> Self {
        match e {
            SigningError::Io { path, source } => MarketplaceError::Io { path, source },
            SigningError::Core(inner) => inner,
            other => MarketplaceError::Other(other.to_string()),
        }
    }
}
#[cfg(test)]
mod tests;
