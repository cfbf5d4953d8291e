//! API tokens: created once by `ggen registry token create`, shown to the
//! operator once, stored only as a SHA-256 hash in `tokens.json` inside the
//! registry directory (so a backup of the registry carries them).
//!
//! Tokens are 32 random bytes, so a plain SHA-256 is enough: there is nothing
//! to brute-force that a slow password hash would protect.
//!
//! A token acts for an owner (a person or team name) and only on package
//! names matching its pattern; creating one names both explicitly, so no
//! token silently means "every name". A revoked token leaves a tombstone (its
//! id and hash) that outlives a backup restore: restoring an older
//! `tokens.json` never brings a revoked token back (see
//! [`TokenStore::merge_revocations`]).

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use ggen_marketplace_core::fsutil::{FileLock, atomic_write};
use ggen_marketplace_core::name::pattern_matches;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The token store's name in the registry directory.
pub const TOKENS_FILE: &str = "tokens.json";
const PREFIX: &str = "ggen_";

/// What a registry token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Reads, when the server runs with `--auth-required`.
    Read,
    /// Publish new versions of the names it covers.
    Publish,
    /// Yank and unyank versions of the names it covers.
    Yank,
}

impl std::str::FromStr for Scope {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "read" => Ok(Self::Read),
            "publish" => Ok(Self::Publish),
            "yank" => Ok(Self::Yank),
            other => Err(format!(
                "unknown scope `{other}` (expected read, publish or yank)"
            )),
        }
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Read => "read",
            Self::Publish => "publish",
            Self::Yank => "yank",
        })
    }
}

/// One token as stored: never the secret itself, only its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRecord {
    /// Public handle for listing and revoking; not a secret.
    pub id: String,
    /// SHA-256 of the token, hex.
    pub sha256: String,
    /// What it may do.
    pub scopes: Vec<Scope>,
    /// Package names this token may write, `*` wildcards allowed.
    pub packages: String,
    /// Who the token acts for: the owner recorded on the names it publishes
    /// first. Tokens made before owners existed act for themselves.
    #[serde(default)]
    pub owner: String,
    /// When it was made.
    pub created: DateTime<Utc>,
    /// When it stops working; `None`: never.
    pub expires: Option<DateTime<Utc>>,
}

impl TokenRecord {
    /// Whether this token, at `now`, may do `scope` to `package` (`None`: a
    /// request naming no package, such as a read).
    pub fn allows(&self, scope: Scope, package: Option<&str>, now: DateTime<Utc>) -> bool {
        let live = self.expires.is_none_or(|e| e > now);
        let scoped = self.scopes.contains(&scope) || scope == Scope::Read;
        let package_ok = package.is_none_or(|p| pattern_matches(&self.packages, p));
        live && scoped && package_ok
    }

    /// The owner this token acts for.
    pub fn owner(&self) -> String {
        if self.owner.is_empty() {
            format!("token:{}", self.id)
        } else {
            self.owner.clone()
        }
    }
}

/// What is left of a revoked token: enough to recognise it, nothing to use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revoked {
    pub id: String,
    pub sha256: String,
    pub revoked: DateTime<Utc>,
}

/// Why the token store refused.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The store could not be read or written.
    #[error("token store {}: {message}", path.display())]
    Store {
        /// The store's file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// No token has this id.
    #[error("no token with id `{0}`")]
    UnknownId(String),
    /// The request itself is malformed (an empty scope list, a bad pattern).
    #[error("{0}")]
    Invalid(String),
}

/// The tokens of one registry directory.
pub struct TokenStore {
    path: PathBuf,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct TokenFile {
    tokens: Vec<TokenRecord>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    revoked: Vec<Revoked>,
}

/// What [`TokenStore::merge_revocations`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RevocationMerge {
    /// Tokens in the restored file that had been revoked since: dropped.
    pub kept_revoked: usize,
}

impl TokenStore {
    /// The token store of the registry at `registry_dir`.
    pub fn new(registry_dir: &Path) -> Self {
        Self {
            path: registry_dir.join(TOKENS_FILE),
        }
    }

    /// Where the token store lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn err(&self, message: impl std::fmt::Display) -> AuthError {
        AuthError::Store {
            path: self.path.clone(),
            message: message.to_string(),
        }
    }

    fn read(&self) -> Result<TokenFile, AuthError> {
        match std::fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| self.err(e)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(TokenFile::default()),
            Err(e) => Err(self.err(e)),
        }
    }

    fn update<T>(
        &self,
        change: impl FnOnce(&mut TokenFile) -> Result<T, AuthError>,
    ) -> Result<T, AuthError> {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(|e| self.err(e))?;
        let _lock = FileLock::exclusive(&dir.join(".tokens.lock")).map_err(|e| self.err(e))?;
        let mut file = self.read()?;
        let out = change(&mut file)?;
        let json = serde_json::to_vec_pretty(&file).map_err(|e| self.err(e))?;
        atomic_write(&self.path, &json).map_err(|e| self.err(e))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(&self.path, std::fs::Permissions::from_mode(0o600));
        }
        Ok(out)
    }

    /// Creates a token acting for `owner` on names matching `packages` (say
    /// `*` for every name, explicitly); returns it (the only time it is ever
    /// visible) and its record.
    pub fn create(
        &self,
        scopes: Vec<Scope>,
        packages: &str,
        owner: &str,
        expires: Option<DateTime<Utc>>,
    ) -> Result<(String, TokenRecord), AuthError> {
        ggen_marketplace_core::name::validate_pattern(packages)
            .map_err(|e| AuthError::Invalid(format!("--package `{packages}`: {e}")))?;
        validate_owner(owner).map_err(AuthError::Invalid)?;
        let mut secret = [0u8; 32];
        rand::rng().fill_bytes(&mut secret);
        let token = format!("{PREFIX}{}", hex::encode(secret));
        let mut id = [0u8; 6];
        rand::rng().fill_bytes(&mut id);
        let record = TokenRecord {
            id: hex::encode(id),
            sha256: hash(&token),
            scopes,
            packages: packages.to_string(),
            owner: owner.to_string(),
            created: Utc::now(),
            expires,
        };
        let r = record.clone();
        self.update(|f| {
            f.tokens.push(r);
            Ok(())
        })?;
        Ok((token, record))
    }

    /// Every live token, oldest first.
    pub fn list(&self) -> Result<Vec<TokenRecord>, AuthError> {
        Ok(self.read()?.tokens)
    }

    /// Revokes a token: its record goes, a tombstone stays.
    pub fn revoke(&self, id: &str) -> Result<TokenRecord, AuthError> {
        self.update(|f| {
            let i = f
                .tokens
                .iter()
                .position(|t| t.id == id)
                .ok_or_else(|| AuthError::UnknownId(id.to_string()))?;
            let record = f.tokens.remove(i);
            f.revoked.push(Revoked {
                id: record.id.clone(),
                sha256: record.sha256.clone(),
                revoked: Utc::now(),
            });
            Ok(record)
        })
    }

    /// The record of a presented token. Every stored hash is compared in
    /// constant time, so timing says nothing about how close a guess was; a
    /// token with a tombstone is never valid, even if its record came back.
    pub fn authenticate(&self, presented: &str) -> Result<Option<TokenRecord>, AuthError> {
        let digest = hash(presented);
        let file = self.read()?;
        let mut found = None;
        for t in file.tokens {
            if bool::from(t.sha256.as_bytes().ct_eq(digest.as_bytes())) {
                found = Some(t);
            }
        }
        if file.revoked.iter().any(|r| r.sha256 == digest) {
            return Ok(None);
        }
        Ok(found)
    }

    /// Carries the tombstones of `current` (the registry being replaced) into
    /// this store (a restored copy): every token revoked there is dropped here
    /// and stays revoked, so restoring an old backup never silently revives a
    /// token that was revoked after it was made.
    pub fn merge_revocations(&self, current: &TokenStore) -> Result<RevocationMerge, AuthError> {
        let theirs = current.read()?.revoked;
        if theirs.is_empty() {
            return Ok(RevocationMerge::default());
        }
        self.update(|f| {
            let before = f.tokens.len();
            f.tokens
                .retain(|t| !theirs.iter().any(|r| r.id == t.id || r.sha256 == t.sha256));
            for r in theirs {
                if !f.revoked.iter().any(|mine| mine.sha256 == r.sha256) {
                    f.revoked.push(r);
                }
            }
            Ok(RevocationMerge {
                kept_revoked: before - f.tokens.len(),
            })
        })
    }
}

fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Owner names: what a person or team is called, printable, short.
pub fn validate_owner(owner: &str) -> Result<(), String> {
    if owner.is_empty() || owner.len() > 64 {
        return Err(format!(
            "owner `{}` must be 1 to 64 characters",
            owner.escape_debug()
        ));
    }
    if !owner
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@' | ':'))
    {
        return Err(format!(
            "owner `{}` may use letters, digits and `-_.@:` only",
            owner.escape_debug()
        ));
    }
    Ok(())
}

/// Parses `30d`, `12h`, `90m` into a point in time from now.
pub fn parse_expiry(text: &str) -> Result<DateTime<Utc>, String> {
    let (num, unit) = text.split_at(text.len().saturating_sub(1));
    let n: i64 = num
        .parse()
        .map_err(|_| format!("`{text}` is not a duration like 30d, 12h or 90m"))?;
    let d = match unit {
        "d" => chrono::Duration::days(n),
        "h" => chrono::Duration::hours(n),
        "m" => chrono::Duration::minutes(n),
        _ => return Err(format!("`{text}` is not a duration like 30d, 12h or 90m")),
    };
    Ok(Utc::now() + d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_stored_hashed_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let store = TokenStore::new(dir.path());
        let (token, rec) = store
            .create(vec![Scope::Publish], "acme-*", "acme", None)
            .unwrap();
        let on_disk = std::fs::read_to_string(store.path()).unwrap();
        assert!(
            !on_disk.contains(&token),
            "the token itself is never stored"
        );
        assert!(on_disk.contains(&rec.sha256));
        let found = store.authenticate(&token).unwrap().unwrap();
        assert_eq!(found.id, rec.id);
        assert_eq!(found.owner(), "acme");
        let now = Utc::now();
        assert!(found.allows(Scope::Publish, Some("acme-cli"), now));
        assert!(!found.allows(Scope::Publish, Some("other"), now));
        assert!(!found.allows(Scope::Yank, Some("acme-cli"), now));
        assert!(store.authenticate("ggen_wrong").unwrap().is_none());
        store.revoke(&rec.id).unwrap();
        assert!(store.authenticate(&token).unwrap().is_none());
        let expired = TokenRecord {
            expires: Some(now - chrono::Duration::seconds(1)),
            ..rec
        };
        assert!(!expired.allows(Scope::Publish, Some("acme-cli"), now));
    }

    #[test]
    fn a_token_needs_an_explicit_pattern_and_owner() {
        let dir = tempfile::tempdir().unwrap();
        let store = TokenStore::new(dir.path());
        assert!(
            store
                .create(vec![Scope::Publish], "", "acme", None)
                .is_err()
        );
        assert!(
            store
                .create(vec![Scope::Publish], "../*", "acme", None)
                .is_err()
        );
        assert!(store.create(vec![Scope::Publish], "*", "", None).is_err());
        assert!(
            store
                .create(vec![Scope::Publish], "*", "a b", None)
                .is_err()
        );
        store
            .create(vec![Scope::Publish], "*", "ops", None)
            .unwrap();
    }

    #[test]
    fn a_restored_token_file_does_not_revive_revoked_tokens() {
        let dir = tempfile::tempdir().unwrap();
        let live = TokenStore::new(&dir.path().join("live"));
        let (token, rec) = live.create(vec![Scope::Publish], "*", "ops", None).unwrap();
        // The backup is taken while the token is valid...
        std::fs::create_dir_all(dir.path().join("restored")).unwrap();
        std::fs::copy(live.path(), dir.path().join("restored").join(TOKENS_FILE)).unwrap();
        // ...then it is revoked, then the backup is restored.
        live.revoke(&rec.id).unwrap();
        let restored = TokenStore::new(&dir.path().join("restored"));
        assert!(
            restored.authenticate(&token).unwrap().is_some(),
            "the old file alone revives it"
        );
        let merged = restored.merge_revocations(&live).unwrap();
        assert_eq!(merged.kept_revoked, 1);
        assert!(restored.authenticate(&token).unwrap().is_none());
        assert!(restored.list().unwrap().is_empty());
    }
}
