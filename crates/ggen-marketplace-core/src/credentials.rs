//! Credentials for a remote service (a SPARQL endpoint), shared by the
//! settings that hold them and the client that sends them. A secret is only
//! ever shown as its kind: `Debug` and `Serialize` print [`Credentials::kind`].

use std::fmt;

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
