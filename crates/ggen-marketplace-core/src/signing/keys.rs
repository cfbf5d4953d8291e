//! Keys as files OpenSSL reads and writes: the private key PKCS#8 PEM (mode
//! 0600), the public key SPKI PEM beside it as `PATH.pub`; key ids; raw public
//! keys in hex as records store them.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use ed25519_dalek::pkcs8::spki::der::pem::{self, LineEnding};
use ed25519_dalek::pkcs8::spki::der::zeroize::Zeroizing;
use ed25519_dalek::pkcs8::spki::{ObjectIdentifier, SubjectPublicKeyInfoRef};
use ed25519_dalek::pkcs8::{EncodePrivateKey, EncodePublicKey, KeypairBytes, PrivateKeyInfoRef};
use ed25519_dalek::{SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use super::{KEY_ID_LEN, Result, SigningError};
use crate::fsutil;

/// Ed25519 in PKCS#8 / SPKI (RFC 8410).
const ED25519_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");

// ---------------------------------------------------------------------------

/// A public key as records store it: its 32 raw bytes, lowercase hex.
pub fn public_key_hex(key: &VerifyingKey) -> String {
    hex::encode(key.as_bytes())
}

/// The key id: the first 8 bytes of SHA-256 over the raw 32-byte public key, as
/// 16 lowercase hex characters.
pub fn key_id(key: &VerifyingKey) -> String {
    hex::encode(&Sha256::digest(key.as_bytes())[..KEY_ID_LEN / 2])
}

pub(super) fn is_key_id(s: &str) -> bool {
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

/// Refuses a key whose algorithm `oid` is not Ed25519, naming the one it is.
fn require_ed25519(path: &Path, oid: &ObjectIdentifier) -> Result<()> {
    if *oid == ED25519_OID {
        return Ok(());
    }
    let found = match algorithm_name(oid) {
        Some(name) => format!("OID {oid}, {name}"),
        None => format!("OID {oid}"),
    };
    Err(SigningError::WrongKeyType {
        path: path.to_path_buf(),
        found,
    })
}

/// Refuses a weak (small-order) public key.
fn refuse_weak(key: VerifyingKey) -> Result<VerifyingKey> {
    if key.is_weak() {
        return Err(SigningError::WeakKey {
            key_id: key_id(&key),
        });
    }
    Ok(key)
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
            require_ed25519(path, &info.algorithm.oid)?;
            SigningKey::try_from(info)
                .map(KeyFile::Private)
                .map_err(|e| malformed(format!("invalid Ed25519 private key: {e}")))
        }
        "PUBLIC KEY" => {
            let info = SubjectPublicKeyInfoRef::try_from(der.as_slice())
                .map_err(|e| malformed(format!("invalid SPKI DER: {e}")))?;
            require_ed25519(path, &info.algorithm.oid)?;
            let key = VerifyingKey::try_from(info)
                .map_err(|e| malformed(format!("invalid Ed25519 public key: {e}")))?;
            Ok(KeyFile::Public(refuse_weak(key)?))
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
    refuse_weak(key)
}
