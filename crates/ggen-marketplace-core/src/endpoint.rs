//! How a client talks to a SPARQL endpoint, shared by the settings that hold
//! it (the facade's config) and the client that uses it (V2): the credentials
//! and the protocol form. A secret is only ever shown as its kind: `Debug` and
//! `Serialize` print [`Credentials::kind`].

use std::fmt;
use std::str::FromStr;

use serde::{Serialize, Serializer};

/// What is sent in the `Authorization` header.
#[derive(Clone, Default, PartialEq, Eq)]
pub enum Credentials {
    /// Nothing is sent.
    #[default]
    None,
    /// HTTP Basic.
    Basic {
        /// The user name (no `:`).
        user: String,
        /// The password; never shown.
        password: String,
    },
    /// A bearer token; never shown.
    Bearer(String),
}

impl Credentials {
    /// `none`, `basic (user NAME)` or `bearer token`: what may be shown.
    pub fn kind(&self) -> String {
        match self {
            Self::None => "none".into(),
            Self::Basic { user, .. } => format!("basic (user {user})"),
            Self::Bearer(_) => "bearer token".into(),
        }
    }

    /// The `Authorization` header's value, if any.
    pub fn header(&self) -> Option<String> {
        use base64::Engine as _;
        match self {
            Self::None => None,
            Self::Basic { user, password } => Some(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
            )),
            Self::Bearer(token) => Some(format!("Bearer {token}")),
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.kind())
    }
}

impl Serialize for Credentials {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.kind())
    }
}

/// The SPARQL 1.1 Protocol forms a query can take. Servers differ on which
/// they answer; the form-encoded POST is the one every server tried answers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Protocol {
    /// `POST` with `application/x-www-form-urlencoded` (`query=`, `update=`).
    #[default]
    Form,
    /// `POST` of the bare text (`application/sparql-query`,
    /// `application/sparql-update`), the dataset in the URL.
    Direct,
    /// `GET ...?query=` for queries (updates cannot be GETs; they go as forms).
    Get,
}

impl Protocol {
    /// The spellings [`FromStr`] accepts, for messages.
    pub const NAMES: &'static str = "form, direct or get";

    /// The spelling of this form in settings.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Form => "form",
            Self::Direct => "direct",
            Self::Get => "get",
        }
    }
}

impl FromStr for Protocol {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "form" => Ok(Self::Form),
            "direct" => Ok(Self::Direct),
            "get" => Ok(Self::Get),
            other => Err(format!(
                "`{other}` is not a SPARQL protocol form; use {}",
                Self::NAMES
            )),
        }
    }
}

impl Serialize for Protocol {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
