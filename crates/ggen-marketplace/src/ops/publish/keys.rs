//! A package's move to a new signing key: the owner endorses the new key
//! with a current one (`ggen marketplace key rotate`), and the registry, local
//! or a server, checks the endorsement and swaps the keys. See
//! `ggen_marketplace_core::signing` for the endorsement itself.

use std::path::Path;

use chrono::Utc;
use ggen_marketplace_core::signing::{self, KeyRotation};
use serde::Serialize;

use crate::access::{Owners, Writer};
use crate::config::Operation;
use crate::error::Result;
use crate::marketplace::Marketplace;

/// What a rotation left: the package's signing keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RotationReport {
    /// The package.
    pub name: String,
    /// Ids of the keys that may sign its new versions now.
    pub keys: Vec<String>,
}

fn key_ids(keys: &[String]) -> Vec<String> {
    keys.iter()
        .filter_map(|k| signing::parse_public_key_hex(k).ok())
        .map(|k| signing::key_id(&k))
        .collect()
}

impl Marketplace {
    /// Endorses the public key in `new_public` as `name`'s signing key with
    /// the current private key `old_key`, and hands the endorsement to this
    /// registry (or, in remote mode, to the server).
    pub fn rotate_key(
        &self,
        name: &str,
        old_key: &Path,
        new_public: &Path,
    ) -> Result<RotationReport> {
        let old = signing::load_signing_key(old_key)?;
        let new = signing::load_verifying_key(new_public)?;
        let rotation = signing::sign_rotation(&old, name, &new, Utc::now())?;
        match self.remote_client()? {
            Some(remote) => {
                let keys = remote.rotate_key(&rotation)?;
                Ok(RotationReport {
                    name: name.to_string(),
                    keys: key_ids(&keys),
                })
            }
            None => self.accept_rotation(&rotation, &Writer::Operator),
        }
    }

    /// Checks an endorsement and applies it: the endorsing key must be one of
    /// the package's keys now, and `writer` one of its owners; the endorsing
    /// key is retired and the new one takes its place.
    pub fn accept_rotation(
        &self,
        rotation: &KeyRotation,
        writer: &Writer,
    ) -> Result<RotationReport> {
        ggen_marketplace_core::name::validate_name(&rotation.package)?;
        writer.may(crate::access::Scope::Publish, &rotation.package)?;
        let (old, new) = signing::verify_rotation(rotation, &rotation.package)?;
        let existing = self
            .backend_for(Operation::Info)?
            .package(&rotation.package)?;
        let keys = crate::access::rotate_keys(
            &Owners::new(&self.paths.registry),
            writer,
            &existing,
            &signing::public_key_hex(&old),
            &signing::public_key_hex(&new),
        )?;
        Ok(RotationReport {
            name: rotation.package.clone(),
            keys: key_ids(&keys),
        })
    }
}

impl Marketplace {
    /// Ids of the keys that may sign new versions of `name` now.
    pub fn signing_keys(&self, name: &str) -> Result<Vec<String>> {
        let existing = self.backend_for(Operation::Info)?.package(name)?;
        let record = Owners::new(&self.paths.registry).get(name)?;
        Ok(key_ids(&crate::access::effective_keys(
            record.as_ref(),
            Some(&existing),
        )))
    }
}
