//! Where the bucket is and how to reach it, checked before anything is sent.

use std::fmt;
use std::time::Duration;

/// An S3-compatible store: a bucket (and a key prefix in it) at an endpoint.
#[derive(Clone, PartialEq, Eq)]
pub struct S3Config {
    /// The bucket's name.
    pub bucket: String,
    /// Key prefix inside the bucket, without leading or trailing `/` (may be empty).
    pub prefix: String,
    /// `http(s)://host[:port]` of an S3-compatible server; `None` is AWS itself.
    pub endpoint: Option<String>,
    /// Signing region (`garage` for Garage, `us-east-1` for most others).
    pub region: String,
    /// Access key; with no keys, none are sent (a public bucket).
    pub access_key_id: Option<String>,
    /// Secret key. Never printed: `Debug` shows whether it is set.
    pub secret_access_key: Option<String>,
    /// Whole-request limit, body included.
    pub timeout: Duration,
    /// Limit on opening a connection, apart from `timeout`: a server that is
    /// down is reported in seconds, not after a whole request's wait.
    pub connect_timeout: Duration,
    /// Retries of a failed request, with exponential backoff (object_store's).
    pub retries: usize,
}

/// A setting that cannot work, named by its field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct ConfigError {
    /// `url`, `endpoint`, `region`, `access_key_id` or `secret_access_key`.
    pub field: &'static str,
    /// What is wrong and what would do.
    pub reason: String,
}

impl S3Config {
    /// A config from `s3://bucket[/prefix]`, with the default limits and no
    /// endpoint or keys yet.
    pub fn from_url(url: &str) -> Result<Self, ConfigError> {
        let bad = |reason: String| ConfigError {
            field: "url",
            reason,
        };
        let rest = url
            .strip_prefix("s3://")
            .ok_or_else(|| bad(format!("`{url}` is not an `s3://bucket[/prefix]` URL")))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let config = Self {
            bucket: bucket.to_string(),
            prefix: prefix.trim_end_matches('/').to_string(),
            endpoint: None,
            region: "us-east-1".into(),
            access_key_id: None,
            secret_access_key: None,
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(5),
            retries: 3,
        };
        config.check()?;
        Ok(config)
    }

    /// `s3://bucket/prefix`, for messages.
    pub fn url(&self) -> String {
        if self.prefix.is_empty() {
            format!("s3://{}", self.bucket)
        } else {
            format!("s3://{}/{}", self.bucket, self.prefix)
        }
    }

    /// Refuses what no S3 server accepts, or what would be unsafe to send:
    /// bucket names outside S3's rules, prefixes with empty, `.` or `..`
    /// segments, an endpoint that is not a plain `http(s)://host[:port]`, and
    /// one key without the other.
    pub fn check(&self) -> Result<(), ConfigError> {
        let err = |field, reason: String| Err(ConfigError { field, reason });
        let b = &self.bucket;
        let bucket_ok = (3..=63).contains(&b.len())
            && b.bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-' || c == b'.')
            && !b.starts_with(['-', '.'])
            && !b.ends_with(['-', '.'])
            && !b.contains("..");
        if !bucket_ok {
            return err(
                "url",
                format!(
                    "bucket `{b}` is not a valid S3 bucket name (3-63 of a-z, 0-9, `-`, `.`, starting and ending with a letter or digit)"
                ),
            );
        }
        if !self.prefix.is_empty() {
            for segment in self.prefix.split('/') {
                let printable = segment.bytes().all(|c| c.is_ascii_graphic());
                if segment.is_empty() || segment == "." || segment == ".." || !printable {
                    return err(
                        "url",
                        format!(
                            "prefix `{}` has an empty, `.`, `..` or non-printable segment",
                            self.prefix
                        ),
                    );
                }
            }
        }
        if let Some(endpoint) = &self.endpoint {
            let authority = endpoint
                .strip_prefix("http://")
                .or_else(|| endpoint.strip_prefix("https://"));
            let plain = authority.is_some_and(|a| {
                let a = a.trim_end_matches('/');
                !a.is_empty()
                    && a.bytes()
                        .all(|c| c.is_ascii_alphanumeric() || b".-:[]".contains(&c))
            });
            if !plain {
                return err(
                    "endpoint",
                    format!("`{endpoint}` is not `http(s)://host[:port]` (no path, user or query)"),
                );
            }
        }
        if self.region.is_empty() || !self.region.bytes().all(|c| c.is_ascii_graphic()) {
            return err("region", format!("`{}` is not a region name", self.region));
        }
        match (&self.access_key_id, &self.secret_access_key) {
            (Some(_), None) => err(
                "secret_access_key",
                "an access key is set without its secret key".into(),
            ),
            (None, Some(_)) => err(
                "access_key_id",
                "a secret key is set without its access key".into(),
            ),
            _ => Ok(()),
        }
    }

    /// Where requests go, for messages: the endpoint, or AWS.
    pub fn endpoint_name(&self) -> String {
        self.endpoint
            .clone()
            .unwrap_or_else(|| format!("AWS S3 ({})", self.region))
    }
}

impl fmt::Debug for S3Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Config")
            .field("url", &self.url())
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field(
                "secret_access_key",
                &self.secret_access_key.as_ref().map(|_| "(set)"),
            )
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("retries", &self.retries)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_give_bucket_and_prefix() {
        let c = S3Config::from_url("s3://ggen-archives/prod/eu/").unwrap();
        assert_eq!(
            (c.bucket.as_str(), c.prefix.as_str()),
            ("ggen-archives", "prod/eu")
        );
        assert_eq!(c.url(), "s3://ggen-archives/prod/eu");
        assert_eq!(S3Config::from_url("s3://abc").unwrap().prefix, "");
    }

    #[test]
    fn unsafe_or_impossible_settings_are_refused_by_field() {
        for (url, field) in [
            ("https://bucket", "url"),
            ("s3://Bucket", "url"),
            ("s3://ab", "url"),
            ("s3://bucket/../other", "url"),
            ("s3://bucket/a//b", "url"),
            ("s3://bucket/a b", "url"),
        ] {
            assert_eq!(S3Config::from_url(url).unwrap_err().field, field, "{url}");
        }
        let mut c = S3Config::from_url("s3://bucket").unwrap();
        for endpoint in [
            "ftp://h",
            "http://",
            "http://u:p@h",
            "http://h/path?q",
            "h:9000",
        ] {
            c.endpoint = Some(endpoint.into());
            assert_eq!(c.check().unwrap_err().field, "endpoint", "{endpoint}");
        }
        c.endpoint = Some("http://127.0.0.1:3900".into());
        c.access_key_id = Some("GK1".into());
        assert_eq!(c.check().unwrap_err().field, "secret_access_key");
        c.secret_access_key = Some("s3cr3t".into());
        c.check().unwrap();
        assert!(!format!("{c:?}").contains("s3cr3t"));
    }
}
