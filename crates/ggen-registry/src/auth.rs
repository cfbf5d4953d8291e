//! API tokens: created once by `ggen registry token create`, shown to the
//! operator once, stored only as a SHA-256 hash in `tokens.json` inside the
//! registry directory (so a backup of the registry carries them).
//!
//! Tokens are 32 random bytes, so a plain SHA-256 is enough: there is nothing
//! to brute-force that a slow password hash would protect.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use ggen_marketplace_core::fsutil::{FileLock, atomic_write};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

pub const TOKENS_FILE: &str = "tokens.json";
const PREFIX: &str = "ggen_";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Reads, when the server runs with `--auth-required`.
    Read,
    Publish,
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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRecord {
    /// Public handle for listing and revoking; not a secret.
    pub id: String,
    /// SHA-256 of the token, hex.
    pub sha256: String,
    pub scopes: Vec<Scope>,
    /// Package names this token may write, `*` wildcards allowed.
    pub packages: String,
    pub created: DateTime<Utc>,
    pub expires: Option<DateTime<Utc>>,
}

impl TokenRecord {
    pub fn allows(&self, scope: Scope, package: Option<&str>, now: DateTime<Utc>) -> bool {
        let live = self.expires.is_none_or(|e| e > now);
        let scoped = self.scopes.contains(&scope) || scope == Scope::Read;
        let package_ok = package.is_none_or(|p| glob_matches(&self.packages, p));
        live && scoped && package_ok
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("token store {}: {message}", path.display())]
    Store { path: PathBuf, message: String },
    #[error("no token with id `{0}`")]
    UnknownId(String),
}

/// The tokens of one registry directory.
pub struct TokenStore {
    path: PathBuf,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct TokenFile {
    tokens: Vec<TokenRecord>,
}

impl TokenStore {
    pub fn new(registry_dir: &Path) -> Self {
        Self {
            path: registry_dir.join(TOKENS_FILE),
        }
    }

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

    /// Creates a token; returns it (the only time it is ever visible) and its record.
    pub fn create(
        &self,
        scopes: Vec<Scope>,
        packages: &str,
        expires: Option<DateTime<Utc>>,
    ) -> Result<(String, TokenRecord), AuthError> {
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

    pub fn list(&self) -> Result<Vec<TokenRecord>, AuthError> {
        Ok(self.read()?.tokens)
    }

    pub fn revoke(&self, id: &str) -> Result<TokenRecord, AuthError> {
        self.update(|f| {
            let i = f
                .tokens
                .iter()
                .position(|t| t.id == id)
                .ok_or_else(|| AuthError::UnknownId(id.to_string()))?;
            Ok(f.tokens.remove(i))
        })
    }

    /// The record of a presented token. Every stored hash is compared in
    /// constant time, so timing says nothing about how close a guess was.
    pub fn authenticate(&self, presented: &str) -> Result<Option<TokenRecord>, AuthError> {
        let digest = hash(presented);
        let mut found = None;
        for t in self.read()?.tokens {
            if bool::from(t.sha256.as_bytes().ct_eq(digest.as_bytes())) {
                found = Some(t);
            }
        }
        Ok(found)
    }
}

fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// `*` matches any run of characters; everything else matches itself. Package
/// names have no other metacharacters, so a glob crate would add nothing.
pub fn glob_matches(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == name;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !name.starts_with(first) || !name[first.len()..].ends_with(last) {
        return false;
    }
    let mut rest = &name[first.len()..name.len() - last.len()];
    for middle in &parts[1..parts.len() - 1] {
        match rest.find(middle) {
            Some(i) => rest = &rest[i + middle.len()..],
            None => return false,
        }
    }
    true
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
    fn globs() {
        assert!(glob_matches("*", "anything"));
        assert!(glob_matches("acme-*", "acme-cli"));
        assert!(!glob_matches("acme-*", "other-cli"));
        assert!(glob_matches("*-cli", "acme-cli"));
        assert!(glob_matches("a*b*c", "axxbyyc"));
        assert!(!glob_matches("a*b*c", "axxc"));
        assert!(glob_matches("exact", "exact"));
        assert!(!glob_matches("exact", "exactly"));
        assert!(
            !glob_matches("ab*ba", "aba"),
            "prefix and suffix may not overlap"
        );
    }

    #[test]
    fn tokens_are_stored_hashed_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let store = TokenStore::new(dir.path());
        let (token, rec) = store.create(vec![Scope::Publish], "acme-*", None).unwrap();
        let on_disk = std::fs::read_to_string(store.path()).unwrap();
        assert!(
            !on_disk.contains(&token),
            "the token itself is never stored"
        );
        assert!(on_disk.contains(&rec.sha256));
        let found = store.authenticate(&token).unwrap().unwrap();
        assert_eq!(found.id, rec.id);
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
}
