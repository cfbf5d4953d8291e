//! The canonical statement a signature covers, and its one accepted byte form.

use std::fmt;

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};
use semver::Version;

use super::keys::is_key_id;
use super::{KEY_ID_LEN, Result, STATEMENT_HEADER, SigningError};
use crate::checksum::is_sha256_hex;
use crate::name::validate_name;

// ---------------------------------------------------------------------------

/// What a signature vouches for. Its byte form ([`Statement::to_bytes`]) is what is
/// signed; [`Statement::parse`] accepts exactly that form and nothing else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The package signed for.
    pub name: String,
    /// The version signed for.
    pub version: Version,
    /// Lowercase hex SHA-256 of the archive.
    pub sha256: String,
    /// Archive size in bytes.
    pub size: u64,
    /// The signing key's id ([`crate::signing::key_id`]).
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
        // "FIELD VALUE is not WHAT", for a value not in its canonical form.
        let not_canonical = |field: &str, value: &str, what: &str| {
            bad(format!("{field} {} is not {what}", quoted(value)))
        };
        let version_parsed = Version::parse(version)
            .ok()
            .filter(|v| v.to_string() == version)
            .ok_or_else(|| not_canonical("version", version, "a canonical semver version"))?;
        if !is_sha256_hex(sha256) {
            return Err(not_canonical("sha256", sha256, "64 lowercase hex digits"));
        }
        let size_parsed = size
            .parse::<u64>()
            .ok()
            .filter(|n| n.to_string() == size)
            .ok_or_else(|| not_canonical("size", size, "a canonical decimal number"))?;
        if !is_key_id(key_id) {
            let what = format!("{KEY_ID_LEN} lowercase hex digits");
            return Err(not_canonical("key-id", key_id, &what));
        }
        let signed_at_parsed = NaiveDateTime::parse_from_str(signed_at, "%Y-%m-%dT%H:%M:%SZ")
            .ok()
            .map(|t| t.and_utc())
            .filter(|t| format_time(t) == signed_at)
            .ok_or_else(|| {
                not_canonical(
                    "signed-at",
                    signed_at,
                    "an RFC 3339 UTC time like 2026-01-31T12:00:00Z",
                )
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

pub(super) fn format_time(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Quotes untrusted text for an error message, escaped and cut to a sane length.
pub(super) fn quoted(s: &str) -> String {
    const MAX: usize = 80;
    match s.char_indices().nth(MAX) {
        Some((i, _)) => format!("{:?}...", &s[..i]),
        None => format!("{s:?}"),
    }
}

pub(super) fn truncate_to_seconds(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(t.timestamp(), 0).expect("a valid timestamp stays valid")
}
