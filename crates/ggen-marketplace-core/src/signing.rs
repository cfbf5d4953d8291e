//! Ed25519 package signatures: keys, canonical statements, verification and the
//! trust store (DESIGN §5 "Signature").
//!
//! A signature covers a small canonical text [`Statement`] naming the package,
//! version, archive sha256 and size, the signing key's id and the signing time, so
//! a signature made for one package or version cannot be replayed for another.
//! Verification is strict ([`VerifyingKey::verify_strict`]): non-canonical
//! signatures and small-order ("weak") public keys are refused.
//!
//! Keys are files that OpenSSL reads and writes: the private key is PKCS#8 PEM
//! (mode 0600), the public key SPKI PEM next to it as `PATH.pub`. What [`sign`]
//! produces verifies with `openssl pkeyutl -verify -pubin -inkey K.pub -rawin`.

use std::fmt;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};
use ed25519_dalek::pkcs8::spki::der::pem::{self, LineEnding};
use ed25519_dalek::pkcs8::spki::der::zeroize::Zeroizing;
use ed25519_dalek::pkcs8::spki::{ObjectIdentifier, SubjectPublicKeyInfoRef};
use ed25519_dalek::pkcs8::{EncodePrivateKey, EncodePublicKey, KeypairBytes, PrivateKeyInfoRef};
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use semver::Version;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::checksum::{is_sha256_hex, sha256_hex};
use crate::error::MarketplaceError;
use crate::fsutil;
use crate::model::Signature;
use crate::name::validate_name;

/// The `algorithm` of every [`Signature`] this module makes or accepts.
pub const ALGORITHM: &str = "ed25519";

/// First line of every canonical statement; names the statement format.
pub const STATEMENT_HEADER: &str = "ggen-marketplace-signature-v1";

/// Length of a key id in hex characters (8 bytes of SHA-256).
pub const KEY_ID_LEN: usize = 16;

/// Ed25519 in PKCS#8 / SPKI (RFC 8410).
const ED25519_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");

/// The order of the Ed25519 base point, little-endian. A signature's S must be below it.
const GROUP_ORDER_LE: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

pub type Result<T, E = SigningError> = std::result::Result<T, E>;

/// Everything that can go wrong with keys, signatures and the trust store. Each
/// refusal has its own variant so callers (and tests) can tell them apart.
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
    fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    /// What the user can do next, printed under the error by the CLI.
    pub fn hint(&self) -> Option<String> {
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
            Self::Core(e) => return e.hint(),
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

// ---------------------------------------------------------------------------
// Keys
// ---------------------------------------------------------------------------

/// The key id: the first 8 bytes of SHA-256 over the raw 32-byte public key, as
/// 16 lowercase hex characters.
/// A public key as records store it: its 32 raw bytes, lowercase hex.
pub fn public_key_hex(key: &VerifyingKey) -> String {
    hex::encode(key.as_bytes())
}

pub fn key_id(key: &VerifyingKey) -> String {
    hex::encode(&Sha256::digest(key.as_bytes())[..KEY_ID_LEN / 2])
}

fn is_key_id(s: &str) -> bool {
    s.len() == KEY_ID_LEN
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// A new signing key from the operating system's CSPRNG.
pub fn generate_keypair() -> Result<SigningKey> {
    use rand::TryRngCore;
    let mut seed = Zeroizing::new([0u8; 32]);
    rand::rngs::OsRng
        .try_fill_bytes(seed.as_mut())
        .map_err(|e| SigningError::Random(e.to_string()))?;
    Ok(SigningKey::from_bytes(&seed))
}

/// Where [`write_keypair`] puts the public key: `PATH.pub`.
pub fn public_key_path(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".pub");
    PathBuf::from(s)
}

/// Writes `path` (PKCS#8 PEM, mode 0600 from creation) and `path.pub` (SPKI
/// PEM, mode 0644), each atomically (temp file in the same directory, then
/// rename). Without `force`, refuses if either file exists and never replaces
/// one created concurrently.
pub fn write_keypair(path: &Path, key: &SigningKey, force: bool) -> Result<()> {
    let pub_path = public_key_path(path);
    if !force {
        for p in [path, pub_path.as_path()] {
            if p.symlink_metadata().is_ok() {
                return Err(SigningError::KeyExists {
                    path: p.to_path_buf(),
                });
            }
        }
    }
    // PKCS#8 v1 (RFC 8410 without the optional public key), as `openssl genpkey`
    // writes it: OpenSSL 3.0 cannot read the v2 form with an embedded public key.
    let keypair = KeypairBytes {
        secret_key: key.to_bytes(),
        public_key: None,
    };
    let private_pem =
        keypair
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| SigningError::MalformedKey {
                path: path.to_path_buf(),
                reason: format!("cannot encode PKCS#8: {e}"),
            })?;
    let public_pem = public_key_pem(&key.verifying_key());
    write_new_file(path, private_pem.as_bytes(), 0o600, force)?;
    write_new_file(&pub_path, public_pem.as_bytes(), 0o644, force)?;
    Ok(())
}

/// The public key as SPKI PEM (`-----BEGIN PUBLIC KEY-----`).
pub fn public_key_pem(key: &VerifyingKey) -> String {
    key.to_public_key_pem(LineEnding::LF)
        .expect("encoding a 32-byte Ed25519 public key cannot fail")
}

fn write_new_file(path: &Path, bytes: &[u8], mode: u32, overwrite: bool) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(|e| SigningError::io(dir, e))?;
    let mut builder = tempfile::Builder::new();
    builder.prefix(".ggen-key-").suffix(".tmp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(fs::Permissions::from_mode(mode));
    }
    let mut tmp = builder
        .tempfile_in(dir)
        .map_err(|e| SigningError::io(dir, e))?;
    #[cfg(unix)]
    {
        // The umask may have narrowed the mode further; make it exact. This never widens
        // the file beyond what it was created with for the private key (0600).
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(fs::Permissions::from_mode(mode))
            .map_err(|e| SigningError::io(tmp.path(), e))?;
    }
    #[cfg(not(unix))]
    let _ = mode;
    tmp.write_all(bytes)
        .map_err(|e| SigningError::io(tmp.path(), e))?;
    tmp.as_file()
        .sync_all()
        .map_err(|e| SigningError::io(tmp.path(), e))?;
    let persisted = if overwrite {
        tmp.persist(path)
    } else {
        tmp.persist_noclobber(path)
    };
    persisted.map_err(|e| {
        if e.error.kind() == std::io::ErrorKind::AlreadyExists {
            SigningError::KeyExists {
                path: path.to_path_buf(),
            }
        } else {
            SigningError::io(path, e.error)
        }
    })?;
    fsutil::sync_dir(dir);
    Ok(())
}

enum KeyFile {
    Private(SigningKey),
    Public(VerifyingKey),
}

fn algorithm_name(oid: &ObjectIdentifier) -> Option<&'static str> {
    Some(match oid.to_string().as_str() {
        "1.2.840.113549.1.1.1" => "RSA",
        "1.2.840.113549.1.1.10" => "RSA-PSS",
        "1.2.840.10045.2.1" => "EC",
        "1.2.840.10040.4.1" => "DSA",
        "1.3.101.110" => "X25519",
        "1.3.101.111" => "X448",
        "1.3.101.113" => "Ed448",
        _ => return None,
    })
}

fn wrong_oid(path: &Path, oid: &ObjectIdentifier) -> SigningError {
    let found = match algorithm_name(oid) {
        Some(name) => format!("OID {oid}, {name}"),
        None => format!("OID {oid}"),
    };
    SigningError::WrongKeyType {
        path: path.to_path_buf(),
        found,
    }
}

fn read_key_file(path: &Path) -> Result<KeyFile> {
    let raw = Zeroizing::new(fs::read(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            SigningError::KeyMissing {
                path: path.to_path_buf(),
            }
        } else {
            SigningError::io(path, e)
        }
    })?);
    let not_pem = |reason: String| SigningError::NotPem {
        path: path.to_path_buf(),
        reason,
    };
    if !raw.windows(11).any(|w| w == b"-----BEGIN ") {
        return Err(not_pem("no `-----BEGIN ...-----` line".into()));
    }
    let (label, der) = pem::decode_vec(&raw).map_err(|e| not_pem(e.to_string()))?;
    let der = Zeroizing::new(der);
    let malformed = |reason: String| SigningError::MalformedKey {
        path: path.to_path_buf(),
        reason,
    };
    match label {
        "PRIVATE KEY" => {
            let info = PrivateKeyInfoRef::try_from(der.as_slice())
                .map_err(|e| malformed(format!("invalid PKCS#8 DER: {e}")))?;
            if info.algorithm.oid != ED25519_OID {
                return Err(wrong_oid(path, &info.algorithm.oid));
            }
            let key = SigningKey::try_from(info)
                .map_err(|e| malformed(format!("invalid Ed25519 private key: {e}")))?;
            Ok(KeyFile::Private(key))
        }
        "PUBLIC KEY" => {
            let info = SubjectPublicKeyInfoRef::try_from(der.as_slice())
                .map_err(|e| malformed(format!("invalid SPKI DER: {e}")))?;
            if info.algorithm.oid != ED25519_OID {
                return Err(wrong_oid(path, &info.algorithm.oid));
            }
            let key = VerifyingKey::try_from(info)
                .map_err(|e| malformed(format!("invalid Ed25519 public key: {e}")))?;
            if key.is_weak() {
                return Err(SigningError::WeakKey {
                    key_id: key_id(&key),
                });
            }
            Ok(KeyFile::Public(key))
        }
        "ENCRYPTED PRIVATE KEY" => Err(SigningError::EncryptedKey {
            path: path.to_path_buf(),
        }),
        "RSA PRIVATE KEY" | "RSA PUBLIC KEY" | "EC PRIVATE KEY" | "DSA PRIVATE KEY" => {
            Err(SigningError::WrongKeyType {
                path: path.to_path_buf(),
                found: format!("a PEM `{label}` block"),
            })
        }
        other => Err(SigningError::NotAKey {
            path: path.to_path_buf(),
            found: format!("a PEM `{}` block", other.escape_debug()),
        }),
    }
}

/// Loads a PKCS#8 PEM Ed25519 private key (ours, or `openssl genpkey -algorithm ed25519`).
pub fn load_signing_key(path: &Path) -> Result<SigningKey> {
    match read_key_file(path)? {
        KeyFile::Private(key) => Ok(key),
        KeyFile::Public(_) => Err(SigningError::NotAPrivateKey {
            path: path.to_path_buf(),
        }),
    }
}

/// Loads an Ed25519 public key from an SPKI PEM, or derives it from a PKCS#8 PEM
/// private key. Weak (small-order) keys are refused.
pub fn load_verifying_key(path: &Path) -> Result<VerifyingKey> {
    match read_key_file(path)? {
        KeyFile::Private(key) => Ok(key.verifying_key()),
        KeyFile::Public(key) => Ok(key),
    }
}

/// Parses a raw 32-byte public key in hex, refusing invalid encodings and weak keys.
pub fn parse_public_key_hex(s: &str) -> Result<VerifyingKey> {
    let bytes =
        hex::decode(s).map_err(|e| SigningError::InvalidPublicKey(format!("not hex: {e}")))?;
    let bytes: [u8; 32] = bytes.try_into().map_err(|b: Vec<u8>| {
        SigningError::InvalidPublicKey(format!("expected 32 bytes, got {}", b.len()))
    })?;
    let key = VerifyingKey::from_bytes(&bytes)
        .map_err(|_| SigningError::InvalidPublicKey("not a valid Ed25519 point".into()))?;
    if key.is_weak() {
        return Err(SigningError::WeakKey {
            key_id: key_id(&key),
        });
    }
    Ok(key)
}

// ---------------------------------------------------------------------------
// Canonical statement
// ---------------------------------------------------------------------------

/// What a signature vouches for. Its byte form ([`Statement::to_bytes`]) is what is
/// signed; [`Statement::parse`] accepts exactly that form and nothing else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub name: String,
    pub version: Version,
    /// Lowercase hex SHA-256 of the archive.
    pub sha256: String,
    /// Archive size in bytes.
    pub size: u64,
    pub key_id: String,
    /// Whole seconds, UTC.
    pub signed_at: DateTime<Utc>,
}

const STATEMENT_FIELDS: [&str; 6] = ["name", "version", "sha256", "size", "key-id", "signed-at"];

impl Statement {
    /// The exact bytes that are signed.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.to_string().into_bytes()
    }

    /// Strict parse: the header line, then exactly the six fields in order as
    /// `key: value`, each line ending in `\n`, values in canonical form.
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        let bad = |m: String| SigningError::InvalidStatement(m);
        let text = std::str::from_utf8(bytes).map_err(|_| bad("it is not UTF-8".into()))?;
        let body = text
            .strip_suffix('\n')
            .ok_or_else(|| bad("it does not end with a newline".into()))?;
        let lines: Vec<&str> = body.split('\n').collect();
        if lines[0] != STATEMENT_HEADER {
            return Err(bad(format!(
                "first line is {}, expected {STATEMENT_HEADER:?}",
                quoted(lines[0])
            )));
        }
        if lines.len() != STATEMENT_FIELDS.len() + 1 {
            return Err(bad(format!(
                "expected {} lines, found {}",
                STATEMENT_FIELDS.len() + 1,
                lines.len()
            )));
        }
        let mut values = [""; 6];
        for (i, field) in STATEMENT_FIELDS.iter().enumerate() {
            let line = lines[i + 1];
            values[i] = line
                .strip_prefix(field)
                .and_then(|rest| rest.strip_prefix(": "))
                .ok_or_else(|| {
                    bad(format!(
                        "line {} must be `{field}: ...`, found {}",
                        i + 2,
                        quoted(line)
                    ))
                })?;
        }
        let [name, version, sha256, size, key_id, signed_at] = values;

        validate_name(name).map_err(|e| bad(format!("name: {e}")))?;
        let version_parsed = Version::parse(version)
            .ok()
            .filter(|v| v.to_string() == version)
            .ok_or_else(|| {
                bad(format!(
                    "version {} is not a canonical semver version",
                    quoted(version)
                ))
            })?;
        if !is_sha256_hex(sha256) {
            return Err(bad(format!(
                "sha256 {} is not 64 lowercase hex digits",
                quoted(sha256)
            )));
        }
        let size_parsed = size
            .parse::<u64>()
            .ok()
            .filter(|n| n.to_string() == size)
            .ok_or_else(|| {
                bad(format!(
                    "size {} is not a canonical decimal number",
                    quoted(size)
                ))
            })?;
        if !is_key_id(key_id) {
            return Err(bad(format!(
                "key-id {} is not {KEY_ID_LEN} lowercase hex digits",
                quoted(key_id)
            )));
        }
        let signed_at_parsed = NaiveDateTime::parse_from_str(signed_at, "%Y-%m-%dT%H:%M:%SZ")
            .ok()
            .map(|t| t.and_utc())
            .filter(|t| format_time(t) == signed_at)
            .ok_or_else(|| {
                bad(format!(
                    "signed-at {} is not an RFC 3339 UTC time like 2026-01-31T12:00:00Z",
                    quoted(signed_at)
                ))
            })?;
        let statement = Statement {
            name: name.to_string(),
            version: version_parsed,
            sha256: sha256.to_string(),
            size: size_parsed,
            key_id: key_id.to_string(),
            signed_at: signed_at_parsed,
        };
        // Belt and braces: only the canonical rendering is accepted.
        if statement.to_bytes() != bytes {
            return Err(bad("it is not in canonical form".into()));
        }
        Ok(statement)
    }

    /// Whether this statement round-trips through its canonical byte form.
    pub fn validate(&self) -> Result<()> {
        let parsed = Self::parse(&self.to_bytes())?;
        if parsed != *self {
            return Err(SigningError::InvalidStatement(
                "signed-at must be whole seconds".into(),
            ));
        }
        Ok(())
    }
}

impl fmt::Display for Statement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{STATEMENT_HEADER}\nname: {}\nversion: {}\nsha256: {}\nsize: {}\nkey-id: {}\nsigned-at: {}\n",
            self.name,
            self.version,
            self.sha256,
            self.size,
            self.key_id,
            format_time(&self.signed_at)
        )
    }
}

fn format_time(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Quotes untrusted text for an error message, escaped and cut to a sane length.
fn quoted(s: &str) -> String {
    const MAX: usize = 80;
    match s.char_indices().nth(MAX) {
        Some((i, _)) => format!("{:?}...", &s[..i]),
        None => format!("{s:?}"),
    }
}

fn truncate_to_seconds(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(t.timestamp(), 0).expect("a valid timestamp stays valid")
}

// ---------------------------------------------------------------------------
// Sign and verify
// ---------------------------------------------------------------------------

/// Signs the canonical statement for `name@version` with the archive's `sha256`
/// (lowercase hex) and `size`. `now` is truncated to whole seconds. Returns the
/// exact statement bytes and the raw 64-byte signature.
pub fn sign(
    key: &SigningKey,
    name: &str,
    version: &Version,
    sha256: &str,
    size: u64,
    now: DateTime<Utc>,
) -> Result<(Vec<u8>, [u8; 64])> {
    let statement = Statement {
        name: name.to_string(),
        version: version.clone(),
        sha256: sha256.to_string(),
        size,
        key_id: key_id(&key.verifying_key()),
        signed_at: truncate_to_seconds(now),
    };
    statement.validate()?;
    let bytes = statement.to_bytes();
    let signature = key.sign(&bytes).to_bytes();
    Ok((bytes, signature))
}

/// Like [`sign`], packaged as the model's [`Signature`] record.
pub fn sign_package(
    key: &SigningKey,
    name: &str,
    version: &Version,
    sha256: &str,
    size: u64,
    now: DateTime<Utc>,
) -> Result<Signature> {
    let (statement, signature) = sign(key, name, version, sha256, size, now)?;
    Ok(signature_record(
        &key.verifying_key(),
        &statement,
        &signature,
    ))
}

/// Signs an archive held in memory: its sha256 and size are computed here.
pub fn sign_archive(
    key: &SigningKey,
    name: &str,
    version: &Version,
    archive: &[u8],
    now: DateTime<Utc>,
) -> Result<Signature> {
    sign_package(
        key,
        name,
        version,
        &sha256_hex(archive),
        archive.len() as u64,
        now,
    )
}

/// Builds the model's [`Signature`] from a public key, statement bytes and a raw
/// signature (e.g. one made by `openssl pkeyutl -sign -rawin`). Nothing is checked
/// here; [`verify`] checks everything.
pub fn signature_record(key: &VerifyingKey, statement: &[u8], signature: &[u8; 64]) -> Signature {
    Signature {
        algorithm: ALGORITHM.to_string(),
        key_id: key_id(key),
        public_key: hex::encode(key.as_bytes()),
        signature: hex::encode(signature),
        statement: String::from_utf8_lossy(statement).into_owned(),
    }
}

/// A signature that passed [`verify`]: who signed, and what they signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedStatement {
    pub statement: Statement,
    pub public_key: VerifyingKey,
    pub key_id: String,
}

fn is_canonical_scalar(s: &[u8]) -> bool {
    for i in (0..32).rev() {
        if s[i] != GROUP_ORDER_LE[i] {
            return s[i] < GROUP_ORDER_LE[i];
        }
    }
    false
}

/// Verifies `signature` for installing `expected_name@expected_version` from
/// `archive`: the key is valid and not weak, the key ids agree, the signature is
/// canonical and passes `verify_strict` over the exact statement bytes, and the
/// statement names this package, this version, this archive's sha256 and size.
///
/// This says nothing about whether the key is trusted: ask a [`TrustStore`].
pub fn verify(
    signature: &Signature,
    expected_name: &str,
    expected_version: &Version,
    archive: &[u8],
) -> Result<VerifiedStatement> {
    verify_digest(
        signature,
        expected_name,
        expected_version,
        &sha256_hex(archive),
        archive.len() as u64,
    )
}

/// [`verify`] for an archive known by its sha256 (hex) and size: callers that
/// have already hashed the archive (a verification cache keys on the digest)
/// need not hash it twice.
pub fn verify_digest(
    signature: &Signature,
    expected_name: &str,
    expected_version: &Version,
    archive_sha256: &str,
    archive_size: u64,
) -> Result<VerifiedStatement> {
    if signature.algorithm != ALGORITHM {
        return Err(SigningError::UnsupportedAlgorithm(
            signature.algorithm.escape_debug().to_string(),
        ));
    }
    let public_key = parse_public_key_hex(&signature.public_key)?;
    let actual_id = key_id(&public_key);
    if signature.key_id != actual_id {
        return Err(SigningError::KeyIdMismatch {
            place: "the signature record",
            claimed: signature.key_id.escape_debug().to_string(),
            actual: actual_id,
        });
    }
    let raw = hex::decode(&signature.signature)
        .map_err(|e| SigningError::MalformedSignature(format!("not hex: {e}")))?;
    let raw: [u8; 64] = raw.try_into().map_err(|b: Vec<u8>| {
        SigningError::MalformedSignature(format!("expected 64 bytes, got {}", b.len()))
    })?;
    if !is_canonical_scalar(&raw[32..]) {
        return Err(SigningError::NonCanonicalSignature);
    }
    let sig = ed25519_dalek::Signature::from_bytes(&raw);
    let statement_bytes = signature.statement.as_bytes();
    public_key
        .verify_strict(statement_bytes, &sig)
        .map_err(|_| SigningError::BadSignature)?;

    let statement = Statement::parse(statement_bytes)?;
    if statement.key_id != actual_id {
        return Err(SigningError::KeyIdMismatch {
            place: "the signed statement",
            claimed: statement.key_id,
            actual: actual_id,
        });
    }
    if statement.name != expected_name {
        return Err(SigningError::NameMismatch {
            signed: statement.name,
            expected: expected_name.escape_debug().to_string(),
        });
    }
    if statement.version != *expected_version {
        return Err(SigningError::VersionMismatch {
            signed: statement.version.to_string(),
            expected: expected_version.to_string(),
        });
    }
    if statement.sha256 != archive_sha256 {
        return Err(SigningError::DigestMismatch {
            signed: statement.sha256,
            actual: archive_sha256.to_string(),
        });
    }
    if statement.size != archive_size {
        return Err(SigningError::SizeMismatch {
            signed: statement.size,
            actual: archive_size,
        });
    }
    Ok(VerifiedStatement {
        statement,
        public_key,
        key_id: actual_id,
    })
}

// ---------------------------------------------------------------------------
// Trust store
// ---------------------------------------------------------------------------

/// One key the user has decided to trust (or has revoked).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustedKey {
    pub key_id: String,
    pub label: String,
    /// Raw 32-byte public key, hex.
    pub public_key: String,
    pub added_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub revoked: bool,
    /// Package-name patterns (`*` wildcards) this key is trusted for; empty
    /// means every package. A key trusted for `acme-*` does not vouch for
    /// `other-cli`, whatever it signed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub packages: Vec<String>,
}

impl TrustedKey {
    /// Whether this entry covers `package` (its patterns, or none at all).
    pub fn covers(&self, package: &str) -> bool {
        self.packages.is_empty()
            || self
                .packages
                .iter()
                .any(|p| crate::name::pattern_matches(p, package))
    }
}

/// The answer of [`TrustStore::is_trusted`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TrustStatus {
    Trusted,
    Unknown,
    Expired,
    Revoked,
    /// Trusted, but only for packages matching other patterns.
    OtherPackages,
}

impl TrustStatus {
    pub fn is_trusted(self) -> bool {
        self == Self::Trusted
    }
}

impl fmt::Display for TrustStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Trusted => "trusted",
            Self::Unknown => "unknown",
            Self::Expired => "expired",
            Self::Revoked => "revoked",
            Self::OtherPackages => "trusted for other packages only",
        })
    }
}

const TRUST_STORE_VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TrustFile {
    version: u32,
    keys: Vec<TrustedKey>,
}

/// Keys trusted for package signatures, kept in a JSON file at a path the caller
/// chooses. Changes are in memory until [`TrustStore::save`].
#[derive(Debug, Clone)]
pub struct TrustStore {
    path: PathBuf,
    keys: Vec<TrustedKey>,
}

impl TrustStore {
    /// Opens the store at `path`; a missing file is an empty store. Every entry is
    /// checked: a valid, non-weak key whose id matches, and no duplicate ids.
    pub fn open(path: impl Into<PathBuf>) -> Result<Self> {
        let path = path.into();
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Self {
                    path,
                    keys: Vec::new(),
                });
            }
            Err(e) => return Err(SigningError::io(&path, e)),
        };
        let corrupt = |reason: String| SigningError::CorruptTrustStore {
            path: path.clone(),
            reason,
        };
        let file: TrustFile = serde_json::from_slice(&bytes).map_err(|e| corrupt(e.to_string()))?;
        if file.version != TRUST_STORE_VERSION {
            return Err(corrupt(format!(
                "unsupported version {} (expected {TRUST_STORE_VERSION})",
                file.version
            )));
        }
        let mut seen = std::collections::HashSet::new();
        for entry in &file.keys {
            let key = parse_public_key_hex(&entry.public_key)
                .map_err(|e| corrupt(format!("key {}: {e}", quoted(&entry.key_id))))?;
            if key_id(&key) != entry.key_id {
                return Err(corrupt(format!(
                    "key id {} does not match its public key (id {})",
                    quoted(&entry.key_id),
                    key_id(&key)
                )));
            }
            if !seen.insert(entry.key_id.clone()) {
                return Err(corrupt(format!("key {} is listed twice", entry.key_id)));
            }
        }
        Ok(Self {
            path,
            keys: file.keys,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes the store atomically.
    pub fn save(&self) -> Result<()> {
        let file = TrustFile {
            version: TRUST_STORE_VERSION,
            keys: self.keys.clone(),
        };
        let mut json = serde_json::to_vec_pretty(&file).expect("the trust store serialises");
        json.push(b'\n');
        fsutil::atomic_write(&self.path, &json)?;
        Ok(())
    }

    /// Trusts `key` under `label` (non-empty, no control characters).
    pub fn add(
        &mut self,
        key: &VerifyingKey,
        label: &str,
        expires_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<&TrustedKey> {
        let label = label.trim();
        let bad_label = |reason: &str| SigningError::InvalidLabel {
            label: label.to_string(),
            reason: reason.to_string(),
        };
        if label.is_empty() {
            return Err(bad_label("it is empty"));
        }
        if label.chars().any(char::is_control) {
            return Err(bad_label("it contains control characters"));
        }
        if label.chars().count() > 200 {
            return Err(bad_label("it is longer than 200 characters"));
        }
        if key.is_weak() {
            return Err(SigningError::WeakKey {
                key_id: key_id(key),
            });
        }
        let id = key_id(key);
        if let Some(existing) = self.get(&id) {
            return Err(SigningError::AlreadyTrusted {
                key_id: id,
                label: existing.label.clone(),
            });
        }
        self.keys.push(TrustedKey {
            key_id: id,
            label: label.to_string(),
            public_key: hex::encode(key.as_bytes()),
            added_at: truncate_to_seconds(now),
            expires_at,
            revoked: false,
            packages: Vec::new(),
        });
        Ok(self.keys.last().expect("just pushed"))
    }

    /// Limits a trusted key to package names matching `patterns` (`*`
    /// wildcards; empty lifts the limit).
    pub fn restrict(&mut self, key_id: &str, patterns: &[String]) -> Result<()> {
        for p in patterns {
            crate::name::validate_pattern(p).map_err(|e| SigningError::InvalidLabel {
                label: p.clone(),
                reason: e.to_string(),
            })?;
        }
        let entry = self
            .keys
            .iter_mut()
            .find(|k| k.key_id == key_id)
            .ok_or_else(|| SigningError::NotInTrustStore {
                key_id: key_id.escape_debug().to_string(),
            })?;
        entry.packages = patterns.to_vec();
        Ok(())
    }

    /// Trusts the public key in `key_path` (SPKI PEM, or derived from a PKCS#8 PEM).
    pub fn add_key_file(
        &mut self,
        key_path: &Path,
        label: &str,
        expires_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<&TrustedKey> {
        let key = load_verifying_key(key_path)?;
        self.add(&key, label, expires_at, now)
    }

    pub fn list(&self) -> &[TrustedKey] {
        &self.keys
    }

    pub fn get(&self, key_id: &str) -> Option<&TrustedKey> {
        self.keys.iter().find(|k| k.key_id == key_id)
    }

    /// Forgets a key entirely (it becomes unknown, not revoked).
    pub fn remove(&mut self, key_id: &str) -> Result<TrustedKey> {
        let i = self
            .keys
            .iter()
            .position(|k| k.key_id == key_id)
            .ok_or_else(|| SigningError::NotInTrustStore {
                key_id: key_id.escape_debug().to_string(),
            })?;
        Ok(self.keys.remove(i))
    }

    /// Marks a key revoked: signatures by it are refused from now on.
    pub fn revoke(&mut self, key_id: &str) -> Result<()> {
        let entry = self
            .keys
            .iter_mut()
            .find(|k| k.key_id == key_id)
            .ok_or_else(|| SigningError::NotInTrustStore {
                key_id: key_id.escape_debug().to_string(),
            })?;
        entry.revoked = true;
        Ok(())
    }

    /// The status of a key id at time `now`. Revocation wins over expiry.
    pub fn is_trusted(&self, key_id: &str, now: DateTime<Utc>) -> TrustStatus {
        match self.get(key_id) {
            None => TrustStatus::Unknown,
            Some(k) if k.revoked => TrustStatus::Revoked,
            Some(k) if k.expires_at.is_some_and(|t| t <= now) => TrustStatus::Expired,
            Some(_) => TrustStatus::Trusted,
        }
    }

    /// Like [`TrustStore::is_trusted`], but also requires the full public key to
    /// match the stored one, so a key whose 64-bit id collides is never trusted.
    /// Prefer this with a [`VerifiedStatement`]'s `public_key`.
    pub fn status_of_key(&self, key: &VerifyingKey, now: DateTime<Utc>) -> TrustStatus {
        let id = key_id(key);
        match self.get(&id) {
            Some(k) if k.public_key == hex::encode(key.as_bytes()) => self.is_trusted(&id, now),
            _ => TrustStatus::Unknown,
        }
    }

    /// The question an install asks: is this exact key (all 32 bytes, not its
    /// id) trusted now, for this package?
    pub fn status_for(&self, key: &VerifyingKey, package: &str, now: DateTime<Utc>) -> TrustStatus {
        match self.status_of_key(key, now) {
            TrustStatus::Trusted => match self.get(&key_id(key)) {
                Some(k) if !k.covers(package) => TrustStatus::OtherPackages,
                _ => TrustStatus::Trusted,
            },
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::Verifier;
    use std::process::Command;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    const ARCHIVE: &[u8] = b"pretend this is a gzipped tarball of templates";

    fn signed() -> (SigningKey, Signature) {
        let key = generate_keypair().unwrap();
        let sig = sign_archive(
            &key,
            "hello-world",
            &v("1.0.0"),
            ARCHIVE,
            t("2026-11-23T12:00:00.750Z"),
        )
        .unwrap();
        (key, sig)
    }

    fn has_openssl() -> bool {
        Command::new("openssl")
            .arg("version")
            .output()
            .is_ok_and(|o| o.status.success())
    }

    macro_rules! require_openssl {
        () => {
            if !has_openssl() {
                println!("skipping: `openssl` is not on PATH");
                return;
            }
        };
    }

    fn openssl(args: &[&str]) -> std::process::Output {
        Command::new("openssl")
            .args(args)
            .output()
            .expect("run openssl")
    }

    fn s(p: &Path) -> &str {
        p.to_str().unwrap()
    }

    // --- key ids and statements ---

    #[test]
    fn key_id_is_first_8_bytes_of_sha256_of_raw_key() {
        let key = SigningKey::from_bytes(&[7u8; 32]).verifying_key();
        let id = key_id(&key);
        assert_eq!(id.len(), 16);
        assert_eq!(id, sha256_hex(key.as_bytes())[..16]);
        assert!(is_key_id(&id));
    }

    #[test]
    fn statement_has_the_documented_byte_form() {
        let key = SigningKey::from_bytes(&[1u8; 32]);
        let sha = sha256_hex(b"x");
        let (bytes, _) = sign(
            &key,
            "x",
            &v("1.2.3"),
            &sha,
            123,
            t("2026-11-23T12:00:00.999Z"),
        )
        .unwrap();
        let expected = format!(
            "ggen-marketplace-signature-v1\nname: x\nversion: 1.2.3\nsha256: {sha}\nsize: 123\nkey-id: {}\nsigned-at: 2026-11-23T12:00:00Z\n",
            key_id(&key.verifying_key())
        );
        assert_eq!(String::from_utf8(bytes.clone()).unwrap(), expected);
        let parsed = Statement::parse(&bytes).unwrap();
        assert_eq!(parsed.to_bytes(), bytes);
        assert_eq!(parsed.size, 123);
        assert_eq!(parsed.signed_at, t("2026-11-23T12:00:00Z"));
    }

    #[test]
    fn statement_parse_is_strict() {
        let good = Statement {
            name: "pkg".into(),
            version: v("1.0.0-rc.1+build.5"),
            sha256: sha256_hex(b"a"),
            size: 0,
            key_id: "0123456789abcdef".into(),
            signed_at: t("2026-01-02T03:04:05Z"),
        }
        .to_string();
        Statement::parse(good.as_bytes()).unwrap();
        let sha = sha256_hex(b"a");
        let cases: Vec<(String, &str)> = vec![
            (good.trim_end().to_string(), "newline"),
            (format!("{good}extra: 1\n"), "expected 7 lines"),
            (
                good.replace(
                    "ggen-marketplace-signature-v1",
                    "ggen-marketplace-signature-v2",
                ),
                "first line",
            ),
            (
                good.replace(
                    "name: pkg\nversion: 1.0.0-rc.1+build.5\n",
                    "version: 1.0.0-rc.1+build.5\nname: pkg\n",
                ),
                "line 2 must be `name",
            ),
            (good.replace("name: pkg", "name:  pkg"), "name"),
            (
                good.replace("name: pkg", "Name: pkg"),
                "line 2 must be `name",
            ),
            (good.replace("name: pkg", "name: ../etc"), "name"),
            (good.replace("1.0.0-rc.1+build.5", "1.0"), "version"),
            (good.replace("1.0.0-rc.1+build.5", "01.0.0"), "version"),
            (good.replace(&sha, &sha.to_uppercase()), "sha256"),
            (good.replace(&sha, &sha[..63]), "sha256"),
            (good.replace("size: 0", "size: 00"), "size"),
            (good.replace("size: 0", "size: +0"), "size"),
            (good.replace("size: 0", "size: -1"), "size"),
            (
                good.replace("0123456789abcdef", "0123456789ABCDEF"),
                "key-id",
            ),
            (
                good.replace("0123456789abcdef", "0123456789abcde"),
                "key-id",
            ),
            (
                good.replace("2026-01-02T03:04:05Z", "2026-01-02T03:04:05+00:00"),
                "signed-at",
            ),
            (
                good.replace("2026-01-02T03:04:05Z", "2026-01-02T03:04:05.5Z"),
                "signed-at",
            ),
            (
                good.replace("2026-01-02T03:04:05Z", "2026-1-02T03:04:05Z"),
                "signed-at",
            ),
            (good.replace('\n', "\r\n"), ""),
            (format!("{good}\n"), "expected 7 lines"),
        ];
        for (text, needle) in cases {
            let err = Statement::parse(text.as_bytes()).expect_err(&text);
            assert!(
                matches!(err, SigningError::InvalidStatement(_)),
                "{text:?}: {err}"
            );
            assert!(
                err.to_string().contains(needle),
                "{text:?}: {err} (wanted {needle:?})"
            );
        }
        assert!(Statement::parse(b"\xff\n").is_err());
        assert!(Statement::parse(b"").is_err());
    }

    #[test]
    fn sign_refuses_invalid_inputs() {
        let key = SigningKey::from_bytes(&[2u8; 32]);
        let now = t("2026-01-01T00:00:00Z");
        let sha = sha256_hex(b"x");
        assert!(matches!(
            sign(&key, "Bad\nname", &v("1.0.0"), &sha, 1, now),
            Err(SigningError::InvalidStatement(_))
        ));
        assert!(matches!(
            sign(&key, "ok", &v("1.0.0"), "abc", 1, now),
            Err(SigningError::InvalidStatement(_))
        ));
    }

    // --- sign / verify ---

    #[test]
    fn round_trip() {
        let (key, sig) = signed();
        assert_eq!(sig.algorithm, "ed25519");
        assert_eq!(sig.key_id, key_id(&key.verifying_key()));
        assert_eq!(sig.public_key, hex::encode(key.verifying_key().as_bytes()));
        assert_eq!(sig.signature.len(), 128);
        let ok = verify(&sig, "hello-world", &v("1.0.0"), ARCHIVE).unwrap();
        assert_eq!(ok.key_id, sig.key_id);
        assert_eq!(ok.public_key, key.verifying_key());
        assert_eq!(ok.statement.name, "hello-world");
        assert_eq!(ok.statement.size, ARCHIVE.len() as u64);
        assert_eq!(ok.statement.signed_at, t("2026-11-23T12:00:00Z"));
        // The record survives JSON (the index stores it).
        let json = serde_json::to_string(&sig).unwrap();
        let back: Signature = serde_json::from_str(&json).unwrap();
        verify(&back, "hello-world", &v("1.0.0"), ARCHIVE).unwrap();
    }

    #[test]
    fn flipped_archive_byte_is_refused() {
        let (_, sig) = signed();
        let mut archive = ARCHIVE.to_vec();
        archive[10] ^= 1;
        let err = verify(&sig, "hello-world", &v("1.0.0"), &archive).unwrap_err();
        assert!(matches!(err, SigningError::DigestMismatch { .. }), "{err}");
        assert!(
            err.to_string()
                .contains("archive sha256 does not match the signed statement")
        );
        let err = verify(
            &sig,
            "hello-world",
            &v("1.0.0"),
            &ARCHIVE[..ARCHIVE.len() - 1],
        )
        .unwrap_err();
        assert!(matches!(err, SigningError::DigestMismatch { .. }), "{err}");
    }

    #[test]
    fn flipped_signature_byte_is_refused() {
        let (_, sig) = signed();
        for i in [0usize, 31, 32, 40] {
            let mut raw = hex::decode(&sig.signature).unwrap();
            raw[i] ^= 0x01;
            let bad = Signature {
                signature: hex::encode(&raw),
                ..sig.clone()
            };
            let err = verify(&bad, "hello-world", &v("1.0.0"), ARCHIVE).unwrap_err();
            assert!(
                matches!(
                    err,
                    SigningError::BadSignature | SigningError::NonCanonicalSignature
                ),
                "byte {i}: {err}"
            );
        }
        let mut raw = hex::decode(&sig.signature).unwrap();
        raw[5] ^= 0x80;
        let bad = Signature {
            signature: hex::encode(&raw),
            ..sig.clone()
        };
        let err = verify(&bad, "hello-world", &v("1.0.0"), ARCHIVE).unwrap_err();
        assert!(matches!(err, SigningError::BadSignature), "{err}");
        assert_eq!(err.to_string(), "signature does not verify");

        let short = Signature {
            signature: sig.signature[..126].to_string(),
            ..sig.clone()
        };
        let err = verify(&short, "hello-world", &v("1.0.0"), ARCHIVE).unwrap_err();
        assert!(matches!(err, SigningError::MalformedSignature(_)), "{err}");
    }

    #[test]
    fn altered_statement_is_refused() {
        let (_, sig) = signed();
        // Any edit to the signed bytes, even one that still parses, breaks the signature.
        let edits = [
            sig.statement.replace("size: ", "size: 1"),
            sig.statement.replace("hello-world", "hello-worle"),
            sig.statement.replace("12:00:00Z", "12:00:01Z"),
            format!("{} ", sig.statement),
        ];
        for statement in edits {
            let bad = Signature {
                statement,
                ..sig.clone()
            };
            let err = verify(&bad, "hello-world", &v("1.0.0"), ARCHIVE).unwrap_err();
            assert!(matches!(err, SigningError::BadSignature), "{err}");
        }
        let mut bytes = sig.statement.clone().into_bytes();
        bytes[3] ^= 0x20;
        let bad = Signature {
            statement: String::from_utf8(bytes).unwrap(),
            ..sig.clone()
        };
        assert!(matches!(
            verify(&bad, "hello-world", &v("1.0.0"), ARCHIVE),
            Err(SigningError::BadSignature)
        ));
    }

    #[test]
    fn signature_for_another_package_is_refused() {
        let key = generate_keypair().unwrap();
        let sig = sign_archive(&key, "a", &v("1.0.0"), ARCHIVE, Utc::now()).unwrap();
        let err = verify(&sig, "b", &v("1.0.0"), ARCHIVE).unwrap_err();
        assert!(matches!(err, SigningError::NameMismatch { .. }), "{err}");
        assert_eq!(err.to_string(), "signature is for package a, not b");
    }

    #[test]
    fn signature_for_another_version_is_refused() {
        let key = generate_keypair().unwrap();
        let sig = sign_archive(&key, "a", &v("1.0.0"), ARCHIVE, Utc::now()).unwrap();
        let err = verify(&sig, "a", &v("1.1.0"), ARCHIVE).unwrap_err();
        assert!(matches!(err, SigningError::VersionMismatch { .. }), "{err}");
        assert_eq!(err.to_string(), "signature is for version 1.0.0, not 1.1.0");
    }

    #[test]
    fn wrong_key_id_is_refused() {
        let (_, sig) = signed();
        let bad = Signature {
            key_id: "0000000000000000".into(),
            ..sig.clone()
        };
        let err = verify(&bad, "hello-world", &v("1.0.0"), ARCHIVE).unwrap_err();
        assert!(matches!(err, SigningError::KeyIdMismatch { .. }), "{err}");
        assert!(err.to_string().starts_with("key id mismatch"));

        // Another key's public key with its own id: the statement's key id (signed)
        // gives it away even before the signature does.
        let other = generate_keypair().unwrap().verifying_key();
        let swapped = Signature {
            key_id: key_id(&other),
            public_key: hex::encode(other.as_bytes()),
            ..sig.clone()
        };
        let err = verify(&swapped, "hello-world", &v("1.0.0"), ARCHIVE).unwrap_err();
        assert!(matches!(err, SigningError::BadSignature), "{err}");

        // A statement naming a different key id, correctly signed, is still refused.
        let key = generate_keypair().unwrap();
        let statement = Statement {
            name: "hello-world".into(),
            version: v("1.0.0"),
            sha256: sha256_hex(ARCHIVE),
            size: ARCHIVE.len() as u64,
            key_id: "fedcba9876543210".into(),
            signed_at: t("2026-01-01T00:00:00Z"),
        }
        .to_bytes();
        let raw = key.sign(&statement).to_bytes();
        let rec = signature_record(&key.verifying_key(), &statement, &raw);
        let err = verify(&rec, "hello-world", &v("1.0.0"), ARCHIVE).unwrap_err();
        assert!(
            matches!(
                err,
                SigningError::KeyIdMismatch {
                    place: "the signed statement",
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn other_algorithm_and_bad_public_key_are_refused() {
        let (_, sig) = signed();
        let rsa = Signature {
            algorithm: "rsa".into(),
            ..sig.clone()
        };
        assert!(matches!(
            verify(&rsa, "hello-world", &v("1.0.0"), ARCHIVE),
            Err(SigningError::UnsupportedAlgorithm(_))
        ));
        let short = Signature {
            public_key: sig.public_key[..62].into(),
            ..sig.clone()
        };
        assert!(matches!(
            verify(&short, "hello-world", &v("1.0.0"), ARCHIVE),
            Err(SigningError::InvalidPublicKey(_))
        ));
    }

    /// The classic forgery against lax verifiers: public key = identity point,
    /// R = identity, S = 0 satisfies [S]B = R + [k]A for every message.
    #[test]
    fn small_order_public_keys_are_refused() {
        let mut identity = [0u8; 32];
        identity[0] = 1;
        let all_zero = [0u8; 32];
        let statement = Statement {
            name: "hello-world".into(),
            version: v("1.0.0"),
            sha256: sha256_hex(ARCHIVE),
            size: ARCHIVE.len() as u64,
            key_id: String::new(),
            signed_at: t("2026-01-01T00:00:00Z"),
        };
        for weak in [identity, all_zero] {
            let vk = VerifyingKey::from_bytes(&weak).expect("decodes as a point");
            assert!(vk.is_weak());
            let statement = Statement {
                key_id: key_id(&vk),
                ..statement.clone()
            }
            .to_bytes();
            let mut raw = [0u8; 64];
            raw[..32].copy_from_slice(&identity); // R = identity, S = 0
            let forged = ed25519_dalek::Signature::from_bytes(&raw);
            if weak == identity {
                // A lax verifier is fooled; this is what the strict checks are for.
                assert!(vk.verify(&statement, &forged).is_ok());
            }
            assert!(vk.verify_strict(&statement, &forged).is_err());
            let rec = signature_record(&vk, &statement, &raw);
            let err = verify(&rec, "hello-world", &v("1.0.0"), ARCHIVE).unwrap_err();
            assert!(matches!(err, SigningError::WeakKey { .. }), "{err}");
            assert!(matches!(
                parse_public_key_hex(&hex::encode(weak)),
                Err(SigningError::WeakKey { .. })
            ));
        }
    }

    /// S + L is the same scalar mod L: a malleated copy of a valid signature.
    #[test]
    fn non_canonical_signature_is_refused() {
        let (key, sig) = signed();
        let mut raw: [u8; 64] = hex::decode(&sig.signature).unwrap().try_into().unwrap();
        let mut carry = 0u16;
        for i in 0..32 {
            let sum = raw[32 + i] as u16 + GROUP_ORDER_LE[i] as u16 + carry;
            raw[32 + i] = sum as u8;
            carry = sum >> 8;
        }
        assert_eq!(carry, 0);
        assert!(!is_canonical_scalar(&raw[32..]));
        let malleated = ed25519_dalek::Signature::from_bytes(&raw);
        assert!(
            key.verifying_key()
                .verify_strict(sig.statement.as_bytes(), &malleated)
                .is_err()
        );
        let bad = Signature {
            signature: hex::encode(raw),
            ..sig
        };
        let err = verify(&bad, "hello-world", &v("1.0.0"), ARCHIVE).unwrap_err();
        assert!(matches!(err, SigningError::NonCanonicalSignature), "{err}");
    }

    #[test]
    fn canonical_scalar_boundary() {
        let mut l_minus_1 = GROUP_ORDER_LE;
        l_minus_1[0] -= 1;
        assert!(is_canonical_scalar(&l_minus_1));
        assert!(!is_canonical_scalar(&GROUP_ORDER_LE));
        assert!(is_canonical_scalar(&[0u8; 32]));
        assert!(!is_canonical_scalar(&[0xff; 32]));
    }

    #[test]
    fn signing_error_converts_into_marketplace_error() {
        let e: MarketplaceError = SigningError::BadSignature.into();
        assert_eq!(e.to_string(), "signature does not verify");
        let e: MarketplaceError =
            SigningError::io(Path::new("/k"), std::io::ErrorKind::Other.into()).into();
        assert!(matches!(e, MarketplaceError::Io { .. }));
    }

    // --- key files ---

    #[cfg(unix)]
    fn mode(p: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn keypair_files_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys/signing.pem");
        let key = generate_keypair().unwrap();
        write_keypair(&path, &key, false).unwrap();
        let pub_path = dir.path().join("keys/signing.pem.pub");
        assert_eq!(public_key_path(&path), pub_path);
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("-----BEGIN PRIVATE KEY-----\n"), "{text}");
        let pub_text = fs::read_to_string(&pub_path).unwrap();
        assert!(
            pub_text.starts_with("-----BEGIN PUBLIC KEY-----\n"),
            "{pub_text}"
        );
        assert_eq!(load_signing_key(&path).unwrap(), key);
        assert_eq!(load_verifying_key(&pub_path).unwrap(), key.verifying_key());
        assert_eq!(load_verifying_key(&path).unwrap(), key.verifying_key());
        // Only the two key files; no temp files left behind.
        assert_eq!(fs::read_dir(path.parent().unwrap()).unwrap().count(), 2);
        #[cfg(unix)]
        {
            assert_eq!(mode(&path), 0o600);
            assert_eq!(mode(&pub_path), 0o644);
        }
    }

    #[test]
    fn keygen_refuses_to_overwrite_without_force() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.pem");
        let first = generate_keypair().unwrap();
        write_keypair(&path, &first, false).unwrap();
        let second = generate_keypair().unwrap();
        let err = write_keypair(&path, &second, false).unwrap_err();
        assert!(matches!(err, SigningError::KeyExists { .. }), "{err}");
        assert_eq!(load_signing_key(&path).unwrap(), first);

        // Only the .pub exists: still refused, and the private key is not written.
        let lone = dir.path().join("lone.pem");
        fs::write(public_key_path(&lone), "x").unwrap();
        let err = write_keypair(&lone, &second, false).unwrap_err();
        assert!(
            matches!(err, SigningError::KeyExists { ref path } if path.ends_with("lone.pem.pub")),
            "{err}"
        );
        assert!(!lone.exists());

        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        }
        write_keypair(&path, &second, true).unwrap();
        assert_eq!(load_signing_key(&path).unwrap(), second);
        assert_eq!(
            load_verifying_key(&public_key_path(&path)).unwrap(),
            second.verifying_key()
        );
        #[cfg(unix)]
        assert_eq!(mode(&path), 0o600);
    }

    #[test]
    fn generated_keys_differ() {
        let a = generate_keypair().unwrap();
        let b = generate_keypair().unwrap();
        assert_ne!(a.to_bytes(), b.to_bytes());
    }

    /// An EC P-256 PKCS#8 key made by `openssl genpkey -algorithm EC -pkeyopt
    /// ec_paramgen_curve:P-256` (a throwaway test key).
    const EC_P256_PKCS8: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgDoQJO4R3GDfYD5yV
ZV2DnFbXTN4t/HicxWM3Nex/D1ihRANCAAR/Qywgok/0Zz0+mdXJUxu//gE03ikX
oSF5ptw+f9YXeeSACNTR+sDGyCrSuqdQs0uhOQVKnyPCEmBjcRBoh5kl
-----END PRIVATE KEY-----
";

    /// An Ed25519 key made by `openssl genpkey -algorithm ed25519` (a throwaway test key).
    const OPENSSL_ED25519: &str = "-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIDNN/Bv7k3OjvzY2LlrF6WnR4hKFfi6vyGTfmg1em6gi
-----END PRIVATE KEY-----
";
    const OPENSSL_ED25519_PUB: &str = "-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAvFk74Tl4m2uKcMekffFSJfoaOR2WTri2tXQQ3xA7dDI=
-----END PUBLIC KEY-----
";

    fn write(dir: &Path, name: &str, body: impl AsRef<[u8]>) -> PathBuf {
        let p = dir.join(name);
        fs::write(&p, body).unwrap();
        p
    }

    #[test]
    fn key_loading_errors_are_precise() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();

        let err = load_signing_key(&d.join("nope.pem")).unwrap_err();
        assert!(matches!(err, SigningError::KeyMissing { .. }), "{err}");
        assert!(err.to_string().contains("does not exist"));

        let p = write(d, "garbage.pem", "hello, I am not a key\n");
        let err = load_verifying_key(&p).unwrap_err();
        assert!(matches!(err, SigningError::NotPem { .. }), "{err}");

        let p = write(
            d,
            "badb64.pem",
            "-----BEGIN PRIVATE KEY-----\n!!!notbase64!!!\n-----END PRIVATE KEY-----\n",
        );
        let err = load_signing_key(&p).unwrap_err();
        assert!(matches!(err, SigningError::NotPem { .. }), "{err}");

        // Cut in the middle of the text: no END line.
        let p = write(d, "cut.pem", &OPENSSL_ED25519[..40]);
        let err = load_signing_key(&p).unwrap_err();
        assert!(matches!(err, SigningError::NotPem { .. }), "{err}");

        // Valid PEM around truncated DER.
        let (_, der) = pem::decode_vec(OPENSSL_ED25519.as_bytes()).unwrap();
        let truncated =
            pem::encode_string("PRIVATE KEY", LineEnding::LF, &der[..der.len() - 5]).unwrap();
        let p = write(d, "trunc.pem", truncated);
        let err = load_signing_key(&p).unwrap_err();
        assert!(matches!(err, SigningError::MalformedKey { .. }), "{err}");
        let (_, der) = pem::decode_vec(OPENSSL_ED25519_PUB.as_bytes()).unwrap();
        let truncated =
            pem::encode_string("PUBLIC KEY", LineEnding::LF, &der[..der.len() - 1]).unwrap();
        let p = write(d, "trunc.pub", truncated);
        let err = load_verifying_key(&p).unwrap_err();
        assert!(matches!(err, SigningError::MalformedKey { .. }), "{err}");

        let p = write(d, "ec.pem", EC_P256_PKCS8);
        let err = load_signing_key(&p).unwrap_err();
        assert!(matches!(err, SigningError::WrongKeyType { .. }), "{err}");
        assert!(
            err.to_string()
                .contains("is not Ed25519 (found OID 1.2.840.10045.2.1, EC)"),
            "{err}"
        );
        let err = load_verifying_key(&p).unwrap_err();
        assert!(matches!(err, SigningError::WrongKeyType { .. }), "{err}");

        let p = write(
            d,
            "cert.pem",
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        );
        let err = load_verifying_key(&p).unwrap_err();
        assert!(matches!(err, SigningError::NotAKey { .. }), "{err}");

        let p = write(
            d,
            "enc.pem",
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n",
        );
        let err = load_signing_key(&p).unwrap_err();
        assert!(matches!(err, SigningError::EncryptedKey { .. }), "{err}");

        let p = write(d, "pub.pem", OPENSSL_ED25519_PUB);
        let err = load_signing_key(&p).unwrap_err();
        assert!(matches!(err, SigningError::NotAPrivateKey { .. }), "{err}");

        // A weak public key in valid SPKI is refused on load.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        let weak = VerifyingKey::from_bytes(&identity).unwrap();
        let p = write(d, "weak.pub", public_key_pem(&weak));
        let err = load_verifying_key(&p).unwrap_err();
        assert!(matches!(err, SigningError::WeakKey { .. }), "{err}");
    }

    #[test]
    fn openssl_made_ed25519_key_constant_loads() {
        let dir = tempfile::tempdir().unwrap();
        let k = write(dir.path(), "k.pem", OPENSSL_ED25519);
        let p = write(dir.path(), "k.pub", OPENSSL_ED25519_PUB);
        let key = load_signing_key(&k).unwrap();
        assert_eq!(load_verifying_key(&p).unwrap(), key.verifying_key());
        assert_eq!(load_verifying_key(&k).unwrap(), key.verifying_key());
    }

    // --- OpenSSL interop ---

    #[test]
    fn openssl_rejects_nothing_we_write_and_reads_our_keys() {
        require_openssl!();
        let dir = tempfile::tempdir().unwrap();
        let k = dir.path().join("k.pem");
        let key = generate_keypair().unwrap();
        write_keypair(&k, &key, false).unwrap();
        let pubp = public_key_path(&k);

        let out = openssl(&["pkey", "-in", s(&k), "-noout", "-text"]);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(text.contains("ED25519"), "{text}");

        let out = openssl(&["pkey", "-pubin", "-in", s(&pubp), "-noout", "-text"]);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(text.contains("ED25519 Public-Key"), "{text}");
        // The public key OpenSSL prints is ours.
        let printed: String = text
            .lines()
            .skip_while(|l| !l.starts_with("pub:"))
            .skip(1)
            .flat_map(|l| l.trim().split(':'))
            .collect();
        assert_eq!(printed, hex::encode(key.verifying_key().as_bytes()));

        // OpenSSL derives the same public key from our private key.
        let out = openssl(&["pkey", "-in", s(&k), "-pubout"]);
        assert!(out.status.success());
        assert_eq!(
            String::from_utf8(out.stdout).unwrap(),
            fs::read_to_string(&pubp).unwrap()
        );
    }

    #[test]
    fn openssl_verifies_our_signatures() {
        require_openssl!();
        let dir = tempfile::tempdir().unwrap();
        let k = dir.path().join("k.pem");
        let key = generate_keypair().unwrap();
        write_keypair(&k, &key, false).unwrap();
        let (statement, sig) = sign(
            &key,
            "hello-world",
            &v("2.0.0"),
            &sha256_hex(ARCHIVE),
            ARCHIVE.len() as u64,
            Utc::now(),
        )
        .unwrap();
        let st = write(dir.path(), "x.statement", &statement);
        let sg = write(dir.path(), "x.sig", sig);
        let pubp = public_key_path(&k);
        let out = openssl(&[
            "pkeyutl",
            "-verify",
            "-pubin",
            "-inkey",
            s(&pubp),
            "-rawin",
            "-in",
            s(&st),
            "-sigfile",
            s(&sg),
        ]);
        assert!(
            out.status.success(),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("Signature Verified Successfully"));

        // And OpenSSL refuses a tampered statement, so the check above means something.
        let mut tampered = statement.clone();
        tampered[40] ^= 1;
        let st2 = write(dir.path(), "y.statement", tampered);
        let out = openssl(&[
            "pkeyutl",
            "-verify",
            "-pubin",
            "-inkey",
            s(&pubp),
            "-rawin",
            "-in",
            s(&st2),
            "-sigfile",
            s(&sg),
        ]);
        assert!(!out.status.success());
    }

    #[test]
    fn we_verify_openssl_signatures_with_openssl_keys() {
        require_openssl!();
        let dir = tempfile::tempdir().unwrap();
        let k = dir.path().join("k.pem");
        let out = openssl(&["genpkey", "-algorithm", "ed25519", "-out", s(&k)]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let key = load_signing_key(&k).unwrap();
        let pubp = dir.path().join("k.pub");
        let out = openssl(&["pkey", "-in", s(&k), "-pubout", "-out", s(&pubp)]);
        assert!(out.status.success());
        assert_eq!(load_verifying_key(&pubp).unwrap(), key.verifying_key());

        let (statement, ours) = sign(
            &key,
            "hello-world",
            &v("1.0.0"),
            &sha256_hex(ARCHIVE),
            ARCHIVE.len() as u64,
            Utc::now(),
        )
        .unwrap();
        let st = write(dir.path(), "x.statement", &statement);
        let sg = dir.path().join("x.sig");
        let out = openssl(&[
            "pkeyutl",
            "-sign",
            "-inkey",
            s(&k),
            "-rawin",
            "-in",
            s(&st),
            "-out",
            s(&sg),
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let theirs: [u8; 64] = fs::read(&sg).unwrap().try_into().unwrap();
        // Ed25519 is deterministic: OpenSSL and dalek produce the same bytes.
        assert_eq!(theirs, ours);
        let rec = signature_record(&key.verifying_key(), &statement, &theirs);
        let ok = verify(&rec, "hello-world", &v("1.0.0"), ARCHIVE).unwrap();
        assert_eq!(ok.key_id, key_id(&key.verifying_key()));
        assert!(matches!(
            verify(&rec, "hello-world", &v("1.0.1"), ARCHIVE),
            Err(SigningError::VersionMismatch { .. })
        ));
    }

    #[test]
    fn openssl_rsa_and_ec_keys_are_refused_as_not_ed25519() {
        require_openssl!();
        let dir = tempfile::tempdir().unwrap();
        let cases: [(&str, &[&str], &str); 3] = [
            (
                "rsa.pem",
                &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024"],
                "1.2.840.113549.1.1.1, RSA",
            ),
            (
                "ec.pem",
                &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
                "1.2.840.10045.2.1, EC",
            ),
            ("ed448.pem", &["-algorithm", "ed448"], "1.3.101.113, Ed448"),
        ];
        for (file, args, found) in cases {
            let k = dir.path().join(file);
            let mut full = vec!["genpkey"];
            full.extend_from_slice(args);
            full.extend_from_slice(&["-out", s(&k)]);
            let out = openssl(&full);
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let err = load_signing_key(&k).unwrap_err();
            assert!(
                matches!(err, SigningError::WrongKeyType { .. }),
                "{file}: {err}"
            );
            assert!(err.to_string().contains(found), "{file}: {err}");
            let pubp = dir.path().join(format!("{file}.pub"));
            let out = openssl(&["pkey", "-in", s(&k), "-pubout", "-out", s(&pubp)]);
            assert!(out.status.success());
            let err = load_verifying_key(&pubp).unwrap_err();
            assert!(err.to_string().contains(found), "{file}.pub: {err}");
        }
        // Traditional (non-PKCS#8) RSA PEM.
        let k = dir.path().join("rsa.pem");
        let trad = dir.path().join("rsa-trad.pem");
        let out = openssl(&["pkey", "-in", s(&k), "-traditional", "-out", s(&trad)]);
        if out.status.success() {
            let err = load_signing_key(&trad).unwrap_err();
            assert!(matches!(err, SigningError::WrongKeyType { .. }), "{err}");
        }
    }

    // --- trust store ---

    #[test]
    fn trust_store_add_list_remove_persist() {
        let dir = tempfile::tempdir().unwrap();
        let store_path = dir.path().join("trust/trusted-keys.json");
        let now = t("2026-06-01T00:00:00Z");

        let mut store = TrustStore::open(&store_path).unwrap();
        assert!(store.list().is_empty());

        let a = generate_keypair().unwrap();
        let key_path = dir.path().join("a.pem");
        write_keypair(&key_path, &a, false).unwrap();
        let added = store
            .add_key_file(
                &public_key_path(&key_path),
                "Alice <a@example.com>",
                None,
                now,
            )
            .unwrap()
            .clone();
        assert_eq!(added.key_id, key_id(&a.verifying_key()));
        assert_eq!(added.public_key, hex::encode(a.verifying_key().as_bytes()));
        assert_eq!(added.added_at, now);
        assert!(!added.revoked);

        let b = generate_keypair().unwrap().verifying_key();
        store
            .add(&b, "bob", Some(t("2027-01-01T00:00:00Z")), now)
            .unwrap();
        // The same key again is refused, even from the private key file.
        let err = store
            .add_key_file(&key_path, "again", None, now)
            .unwrap_err();
        assert!(matches!(err, SigningError::AlreadyTrusted { .. }), "{err}");
        assert!(matches!(
            store.add(
                &generate_keypair().unwrap().verifying_key(),
                " \t",
                None,
                now
            ),
            Err(SigningError::InvalidLabel { .. })
        ));
        store.save().unwrap();

        let reopened = TrustStore::open(&store_path).unwrap();
        assert_eq!(reopened.list(), store.list());
        let ids: Vec<&str> = reopened.list().iter().map(|k| k.key_id.as_str()).collect();
        assert_eq!(ids, [key_id(&a.verifying_key()), key_id(&b)]);

        let mut store = reopened;
        let removed = store.remove(&key_id(&a.verifying_key())).unwrap();
        assert_eq!(removed.label, "Alice <a@example.com>");
        assert!(matches!(
            store.remove(&key_id(&a.verifying_key())),
            Err(SigningError::NotInTrustStore { .. })
        ));
        store.save().unwrap();
        let reopened = TrustStore::open(&store_path).unwrap();
        assert_eq!(reopened.list().len(), 1);
        assert_eq!(
            reopened.is_trusted(&key_id(&a.verifying_key()), now),
            TrustStatus::Unknown
        );
        assert_eq!(reopened.is_trusted(&key_id(&b), now), TrustStatus::Trusted);
    }

    #[test]
    fn trust_needs_the_whole_key_and_covers_only_its_packages() {
        let now = t("2026-06-01T00:00:00Z");
        let trusted = generate_keypair().unwrap().verifying_key();
        let impostor = generate_keypair().unwrap().verifying_key();
        // An entry whose 64-bit id an impostor's key shares (as if ground to
        // collide): trust by id alone would accept the impostor.
        let store = TrustStore {
            path: PathBuf::from("(memory)"),
            keys: vec![TrustedKey {
                key_id: key_id(&impostor),
                label: "collision".into(),
                public_key: hex::encode(trusted.as_bytes()),
                added_at: now,
                expires_at: None,
                revoked: false,
                packages: Vec::new(),
            }],
        };
        assert_eq!(
            store.is_trusted(&key_id(&impostor), now),
            TrustStatus::Trusted
        );
        assert_eq!(
            store.status_for(&impostor, "anything", now),
            TrustStatus::Unknown
        );

        let dir = tempfile::tempdir().unwrap();
        let mut store = TrustStore::open(dir.path().join("trust.json")).unwrap();
        store.add(&trusted, "acme", None, now).unwrap();
        store
            .restrict(&key_id(&trusted), &["acme-*".to_string()])
            .unwrap();
        assert_eq!(
            store.status_for(&trusted, "acme-cli", now),
            TrustStatus::Trusted
        );
        assert_eq!(
            store.status_for(&trusted, "other-cli", now),
            TrustStatus::OtherPackages
        );
        assert!(
            store
                .restrict(&key_id(&trusted), &["../*".to_string()])
                .is_err()
        );
        store.save().unwrap();
        let reopened = TrustStore::open(dir.path().join("trust.json")).unwrap();
        assert_eq!(
            reopened.status_for(&trusted, "other-cli", now),
            TrustStatus::OtherPackages
        );
        store.restrict(&key_id(&trusted), &[]).unwrap();
        assert_eq!(
            store.status_for(&trusted, "other-cli", now),
            TrustStatus::Trusted
        );
    }

    #[test]
    fn trust_store_expiry_and_revocation() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("trust.json");
        let mut store = TrustStore::open(&path).unwrap();
        let now = t("2026-06-01T00:00:00Z");
        let k = generate_keypair().unwrap().verifying_key();
        let id = key_id(&k);
        store
            .add(&k, "expiring", Some(t("2026-07-01T00:00:00Z")), now)
            .unwrap();

        assert_eq!(store.is_trusted(&id, now), TrustStatus::Trusted);
        assert!(store.is_trusted(&id, now).is_trusted());
        assert_eq!(
            store.is_trusted(&id, t("2026-06-30T23:59:59Z")),
            TrustStatus::Trusted
        );
        assert_eq!(
            store.is_trusted(&id, t("2026-07-01T00:00:00Z")),
            TrustStatus::Expired
        );
        assert_eq!(
            store.is_trusted(&id, t("2030-01-01T00:00:00Z")),
            TrustStatus::Expired
        );
        assert_eq!(
            store.is_trusted("0000000000000000", now),
            TrustStatus::Unknown
        );

        store.revoke(&id).unwrap();
        assert_eq!(store.is_trusted(&id, now), TrustStatus::Revoked);
        // Revocation wins over expiry.
        assert_eq!(
            store.is_trusted(&id, t("2030-01-01T00:00:00Z")),
            TrustStatus::Revoked
        );
        store.save().unwrap();
        let reopened = TrustStore::open(&path).unwrap();
        assert_eq!(reopened.is_trusted(&id, now), TrustStatus::Revoked);
        assert!(reopened.get(&id).unwrap().revoked);
        assert!(matches!(
            store.revoke("0000000000000000"),
            Err(SigningError::NotInTrustStore { .. })
        ));
    }

    #[test]
    fn trust_store_checks_the_full_key_not_just_the_id() {
        let mut store =
            TrustStore::open(tempfile::tempdir().unwrap().path().join("t.json")).unwrap();
        let now = Utc::now();
        let k = generate_keypair().unwrap().verifying_key();
        store.add(&k, "k", None, now).unwrap();
        assert_eq!(store.status_of_key(&k, now), TrustStatus::Trusted);
        // Simulate an id collision: same id, different key.
        let other = generate_keypair().unwrap().verifying_key();
        store.keys[0].public_key = hex::encode(other.as_bytes());
        assert_eq!(store.is_trusted(&key_id(&k), now), TrustStatus::Trusted);
        assert_eq!(store.status_of_key(&k, now), TrustStatus::Unknown);
    }

    #[test]
    fn corrupt_trust_store_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let k = generate_keypair().unwrap().verifying_key();
        let good = format!(
            r#"{{"version":1,"keys":[{{"key_id":"{}","label":"x","public_key":"{}","added_at":"2026-01-01T00:00:00Z"}}]}}"#,
            key_id(&k),
            hex::encode(k.as_bytes())
        );
        let p = write(dir.path(), "good.json", &good);
        let store = TrustStore::open(&p).unwrap();
        assert_eq!(
            store.is_trusted(&key_id(&k), Utc::now()),
            TrustStatus::Trusted
        );

        let bad_cases = [
            "not json".to_string(),
            good.replace(r#""version":1"#, r#""version":9"#),
            good.replace(&key_id(&k), "0000000000000000"),
            good.replace(&hex::encode(k.as_bytes()), &hex::encode([0u8; 32])),
            good.replace(
                "]}",
                &format!(",{}]}}", &good[good.find('[').unwrap() + 1..good.len() - 2]),
            ),
        ];
        for (i, body) in bad_cases.iter().enumerate() {
            let p = write(dir.path(), &format!("bad{i}.json"), body);
            let err = TrustStore::open(&p).unwrap_err();
            assert!(
                matches!(err, SigningError::CorruptTrustStore { .. }),
                "{i}: {body}: {err}"
            );
        }
    }
}
