//! The trust store: which keys the user trusts, until when, for which packages.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use ed25519_dalek::VerifyingKey;
use serde::{Deserialize, Serialize};

use super::keys::{key_id, load_verifying_key, parse_public_key_hex};
use super::statement::{quoted, truncate_to_seconds};
use super::{Result, SigningError};
use crate::fsutil;

// ---------------------------------------------------------------------------

/// One key the user has decided to trust (or has revoked).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustedKey {
    /// The key's id ([`crate::signing::key_id`]).
    pub key_id: String,
    /// Who the user says it belongs to.
    pub label: String,
    /// Raw 32-byte public key, hex.
    pub public_key: String,
    /// When it was trusted.
    pub added_at: DateTime<Utc>,
    /// When trust ends; `None`: never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
    /// Trust withdrawn; kept so the key is not trusted again by mistake.
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
    /// In the store, live, and covering the package.
    Trusted,
    /// Not in the store.
    Unknown,
    /// In the store, past its expiry.
    Expired,
    /// In the store, revoked.
    Revoked,
    /// Trusted, but only for packages matching other patterns.
    OtherPackages,
}

impl TrustStatus {
    /// Only [`TrustStatus::Trusted`] is.
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
    pub(super) path: PathBuf,
    pub(super) keys: Vec<TrustedKey>,
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

    /// The trust store's file.
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
        let i = self.index_of(key_id)?;
        self.keys[i].packages = patterns.to_vec();
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

    /// Every entry, revoked and expired ones included.
    pub fn list(&self) -> &[TrustedKey] {
        &self.keys
    }

    /// The entry of `key_id`, if any.
    pub fn get(&self, key_id: &str) -> Option<&TrustedKey> {
        self.keys.iter().find(|k| k.key_id == key_id)
    }

    /// Forgets a key entirely (it becomes unknown, not revoked).
    pub fn remove(&mut self, key_id: &str) -> Result<TrustedKey> {
        let i = self.index_of(key_id)?;
        Ok(self.keys.remove(i))
    }

    /// Marks a key revoked: signatures by it are refused from now on.
    pub fn revoke(&mut self, key_id: &str) -> Result<()> {
        let i = self.index_of(key_id)?;
        self.keys[i].revoked = true;
        Ok(())
    }

    /// The position of `key_id`'s entry, or the error naming the missing key.
    fn index_of(&self, key_id: &str) -> Result<usize> {
        self.keys
            .iter()
            .position(|k| k.key_id == key_id)
            .ok_or_else(|| SigningError::NotInTrustStore {
                key_id: key_id.escape_debug().to_string(),
            })
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
    /// Prefer this with a [`super::VerifiedStatement`]'s `public_key`.
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
