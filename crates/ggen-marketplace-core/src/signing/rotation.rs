//! A package's move to a new signing key, endorsed by a key it has now.
//!
//! Once a package is signed, a registry accepts new versions only when they
//! are signed by one of the package's keys. To change keys without the
//! registry's operator, the owner signs a small statement with a current key
//! naming the package and the new key; the registry then adds the new key and
//! retires the endorsing one. A stolen token alone cannot do this: it takes
//! the current private key.

use chrono::{DateTime, Utc};
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

use super::keys::{parse_public_key_hex, public_key_hex};
use super::statement::{format_time, truncate_to_seconds};
use super::{Result, SigningError};
use crate::name::validate_name;

/// First line of every rotation statement; names its format.
pub const ROTATION_HEADER: &str = "ggen-marketplace-key-rotation-v1";

/// A rotation as it travels (a request body, a file): what was signed, by
/// which key, and the signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KeyRotation {
    /// The package whose keys change.
    #[cfg_attr(feature = "openapi", schema(value_type = crate::openapi::PackageName))]
    pub package: String,
    /// The key to accept from now on: raw 32 bytes, hex.
    #[cfg_attr(feature = "openapi", schema(pattern = "^[0-9a-fA-F]{64}$"))]
    pub new_key: String,
    /// The endorsing key, one the package has now: raw 32 bytes, hex.
    #[cfg_attr(feature = "openapi", schema(pattern = "^[0-9a-fA-F]{64}$"))]
    pub old_key: String,
    /// When it was signed (whole seconds, UTC).
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub signed_at: DateTime<Utc>,
    /// Raw 64-byte Ed25519 signature by `old_key` over the statement, hex.
    #[cfg_attr(feature = "openapi", schema(pattern = "^[0-9a-fA-F]{128}$"))]
    pub signature: String,
}

impl KeyRotation {
    /// The exact bytes that are signed: rebuilt from the fields, never taken
    /// from the sender, so there is one form to check.
    pub fn statement(&self) -> String {
        format!(
            "{ROTATION_HEADER}\npackage: {}\nnew-key: {}\nold-key: {}\nsigned-at: {}\n",
            self.package,
            self.new_key,
            self.old_key,
            format_time(&self.signed_at)
        )
    }
}

/// Endorses `new` as a signing key of `package` with the current key `old`.
pub fn sign_rotation(
    old: &SigningKey,
    package: &str,
    new: &VerifyingKey,
    now: DateTime<Utc>,
) -> Result<KeyRotation> {
    validate_name(package)?;
    let mut rotation = KeyRotation {
        package: package.to_string(),
        new_key: public_key_hex(new),
        old_key: public_key_hex(&old.verifying_key()),
        signed_at: truncate_to_seconds(now),
        signature: String::new(),
    };
    if rotation.new_key == rotation.old_key {
        return Err(SigningError::InvalidStatement(
            "the new key is the current key".into(),
        ));
    }
    rotation.signature = hex::encode(old.sign(rotation.statement().as_bytes()).to_bytes());
    Ok(rotation)
}

/// Checks a rotation for `package`: both keys valid and not weak, distinct,
/// the statement names this package, and the endorsing key signed it
/// (strictly). Returns the endorsing and the new key; whether the endorsing
/// key is one of the package's is the caller's question.
pub fn verify_rotation(
    rotation: &KeyRotation,
    package: &str,
) -> Result<(VerifyingKey, VerifyingKey)> {
    if rotation.package != package {
        return Err(SigningError::NameMismatch {
            signed: rotation.package.escape_debug().to_string(),
            expected: package.to_string(),
        });
    }
    let old = parse_public_key_hex(&rotation.old_key)?;
    let new = parse_public_key_hex(&rotation.new_key)?;
    if old == new {
        return Err(SigningError::InvalidStatement(
            "the new key is the endorsing key".into(),
        ));
    }
    let raw = hex::decode(&rotation.signature)
        .map_err(|e| SigningError::MalformedSignature(format!("not hex: {e}")))?;
    let raw: [u8; 64] = raw.try_into().map_err(|b: Vec<u8>| {
        SigningError::MalformedSignature(format!("expected 64 bytes, got {}", b.len()))
    })?;
    old.verify_strict(
        rotation.statement().as_bytes(),
        &ed25519_dalek::Signature::from_bytes(&raw),
    )
    .map_err(|_| SigningError::BadSignature)?;
    Ok((old, new))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signing::generate_keypair;

    #[test]
    fn a_rotation_verifies_only_for_its_package_keys_and_bytes() {
        let old = generate_keypair().unwrap();
        let new = generate_keypair().unwrap().verifying_key();
        let r = sign_rotation(&old, "acme-cli", &new, Utc::now()).unwrap();
        let (o, n) = verify_rotation(&r, "acme-cli").unwrap();
        assert_eq!((o, n), (old.verifying_key(), new));
        assert!(r.statement().starts_with(ROTATION_HEADER));
        assert!(matches!(
            verify_rotation(&r, "other"),
            Err(SigningError::NameMismatch { .. })
        ));
        // Any field changed after signing breaks it.
        let mut other_key = r.clone();
        other_key.new_key = public_key_hex(&generate_keypair().unwrap().verifying_key());
        assert!(matches!(
            verify_rotation(&other_key, "acme-cli"),
            Err(SigningError::BadSignature)
        ));
        let mut later = r.clone();
        later.signed_at += chrono::Duration::seconds(1);
        assert!(verify_rotation(&later, "acme-cli").is_err());
        // Signed by a key other than the one it names.
        let mut forged = r.clone();
        forged.old_key = public_key_hex(&generate_keypair().unwrap().verifying_key());
        assert!(verify_rotation(&forged, "acme-cli").is_err());
        assert!(sign_rotation(&old, "acme-cli", &old.verifying_key(), Utc::now()).is_err());
    }
}
