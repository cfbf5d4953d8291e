//! Signing a statement and verifying one strictly: canonical signatures, no
//! weak keys, and a statement that names exactly the package, version and
//! archive being installed.

use chrono::{DateTime, Utc};
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use semver::Version;

use super::keys::{key_id, parse_public_key_hex};
use super::statement::{Statement, truncate_to_seconds};
use super::{ALGORITHM, Result, SigningError};
use crate::checksum::sha256_hex;
use crate::model::Signature;

/// The order of the Ed25519 base point, little-endian. A signature's S must be below it.
pub(super) const GROUP_ORDER_LE: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

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

/// Signs an archive held in memory (its sha256 and size are computed here),
/// packaged as the model's [`Signature`] record.
pub fn sign_archive(
    key: &SigningKey,
    name: &str,
    version: &Version,
    archive: &[u8],
    now: DateTime<Utc>,
) -> Result<Signature> {
    let sha256 = sha256_hex(archive);
    let (statement, signature) = sign(key, name, version, &sha256, archive.len() as u64, now)?;
    Ok(signature_record(
        &key.verifying_key(),
        &statement,
        &signature,
    ))
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
    /// What was signed.
    pub statement: Statement,
    /// The key that signed it.
    pub public_key: VerifyingKey,
    /// That key's id.
    pub key_id: String,
}

pub(super) fn is_canonical_scalar(s: &[u8]) -> bool {
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
/// This says nothing about whether the key is trusted: ask a [`super::TrustStore`].
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
