//! Who may write what: API tokens, the owners of package names, and the keys
//! that may sign each package.
//!
//! One policy for both front ends: the CLI publishing into a local registry
//! and the registry server publishing for a token call the same
//! [`authorize_publish`], so they cannot disagree. The rules, in order:
//!
//! - a new name may not be confusable with a published one (same name once
//!   case is folded and `-`, `_`, `.` are read as one: `foo_bar` = `foo-bar`);
//! - a name with owners may be written only by one of them (a token acts for
//!   its owner; the operator at the registry's own machine is not bound by
//!   ownership, as anyone who can write the registry's files is not);
//! - once a package is signed, every new version must be signed by one of its
//!   keys; the keys change only explicitly (`ggen registry owner key-add`).
//!
//! The first publish through a token records the owner; the first signed
//! publish records the key.

mod owners;
mod tokens;

use ggen_marketplace_core::name::canonical_name;
use ggen_marketplace_core::{MarketplaceError, Package, PackageVersion};

pub use owners::{OWNERS_FILE, Owners, Ownership};
pub use tokens::{
    AuthError, RevocationMerge, Scope, TOKENS_FILE, TokenRecord, TokenStore, parse_expiry,
    validate_owner,
};

use crate::error::Result;

/// Who asks to write a package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Writer {
    /// The CLI on the machine that holds the registry.
    Operator,
    /// A token (through the registry server), acting for its owner on the
    /// names its pattern allows.
    Token(TokenRecord),
}

impl Writer {
    /// The owner a token acts for (`None` for the operator).
    fn owner(&self) -> Option<String> {
        match self {
            Writer::Operator => None,
            Writer::Token(t) => Some(t.owner()),
        }
    }

    /// Checks that the writer may use `scope` on `name`: a token needs the
    /// scope, an unexpired life and a pattern that matches.
    pub fn may(&self, scope: Scope, name: &str) -> Result<()> {
        let Writer::Token(t) = self else {
            return Ok(());
        };
        if t.allows(scope, Some(name), chrono::Utc::now()) {
            return Ok(());
        }
        Err(forbidden(
            format!(
                "token {} may {scope} `{}` only, not `{name}` (or lacks the `{scope}` scope, or has expired)",
                t.id, t.packages
            ),
            "use a token made for this package: `ggen registry token create --package PATTERN`",
        ))
    }
}

fn forbidden(message: String, hint: &str) -> crate::Error {
    MarketplaceError::Forbidden {
        message,
        hint: Some(hint.to_string()),
    }
    .into()
}

/// The keys new versions of a package must be signed with: those recorded,
/// or, for a package signed before keys were recorded, every key that signed
/// one of its versions.
pub(crate) fn effective_keys(
    record: Option<&Ownership>,
    existing: Option<&Package>,
) -> Vec<String> {
    match record {
        Some(r) if !r.keys.is_empty() => r.keys.clone(),
        _ => {
            let mut keys: Vec<String> = existing
                .into_iter()
                .flat_map(|p| &p.versions)
                .filter_map(|v| {
                    v.signature
                        .as_ref()
                        .map(|s| s.public_key.to_ascii_lowercase())
                })
                .collect();
            keys.sort();
            keys.dedup();
            keys
        }
    }
}

/// Checks that `writer` may publish `release`, given the package as the
/// registry holds it (`existing`, `None` for a new name) and, for a new name,
/// every published name (`names`). With `claim`, records what the publish
/// establishes (the owner of a new name, the first signing key) in the same
/// locked update, so two writers racing for a new name cannot both win.
pub fn authorize_publish(
    owners: &Owners,
    writer: &Writer,
    release: &PackageVersion,
    existing: Option<&Package>,
    names: impl FnOnce() -> Result<Vec<String>>,
    claim: bool,
) -> Result<()> {
    let name = release.name.as_str();
    let decide = |all: &mut std::collections::BTreeMap<String, Ownership>| -> Result<()> {
        let record = all.get(name).cloned();
        if existing.is_none() && record.is_none() {
            let wanted = canonical_name(name);
            let published = names()?;
            if let Some(other) = published
                .iter()
                .map(String::as_str)
                .chain(all.keys().map(String::as_str))
                .find(|n| *n != name && canonical_name(n) == wanted)
            {
                return Err(MarketplaceError::ConfusableName {
                    name: name.to_string(),
                    existing: other.to_string(),
                }
                .into());
            }
        }
        must_own(
            writer,
            name,
            record.as_ref(),
            "ask an owner, or the registry's operator (`ggen registry owner add NAME OWNER`), to add you",
        )?;
        let keys = effective_keys(record.as_ref(), existing);
        if !keys.is_empty() {
            let signed_by = release
                .signature
                .as_ref()
                .map(|s| s.public_key.to_ascii_lowercase());
            match signed_by {
                Some(k) if keys.contains(&k) => {}
                Some(_) => {
                    return Err(forbidden(
                        format!(
                            "`{}` is signed by a key that is not one of `{name}`'s signing keys; earlier versions were signed, so new ones must be signed by the same key",
                            release.id()
                        ),
                        "sign with the package's key; to change keys, have the registry operator add the new one (`ggen registry owner key-add NAME KEY.pub`)",
                    ));
                }
                None => {
                    return Err(forbidden(
                        format!(
                            "`{}` is not signed, but earlier versions of `{name}` are; a signed package stays signed",
                            release.id()
                        ),
                        "publish with --key (the package's signing key)",
                    ));
                }
            }
        }
        if claim {
            let entry = all.entry(name.to_string()).or_default();
            if let Some(who) = writer.owner()
                && entry.owners.is_empty()
            {
                entry.owners.push(who);
            }
            if entry.keys.is_empty() {
                entry.keys = keys;
                if let Some(s) = &release.signature
                    && entry.keys.is_empty()
                {
                    entry.keys.push(s.public_key.to_ascii_lowercase());
                }
            }
        }
        Ok(())
    };
    if claim {
        owners.update(decide)
    } else {
        decide(&mut owners.all()?)
    }
}

/// Refuses a writer acting for someone who is not among `name`'s owners (a
/// package without owners yet, or a writer acting for nobody, passes).
fn must_own(
    writer: &Writer,
    name: &str,
    record: Option<&Ownership>,
    hint: &'static str,
) -> Result<()> {
    if let (Some(who), Some(r)) = (writer.owner(), record)
        && !r.owners.is_empty()
        && !r.owners.contains(&who)
    {
        return Err(forbidden(
            format!(
                "`{name}` is owned by {}; this token acts for `{who}`",
                r.owners.join(", ")
            ),
            hint,
        ));
    }
    Ok(())
}

/// Retires `old` and adds `new` as signing keys of `existing` (a rotation
/// endorsed by `old`, checked by the caller): `old` must be one of the
/// package's keys now, and `writer` one of its owners. Returns the keys after.
pub fn rotate_keys(
    owners: &Owners,
    writer: &Writer,
    existing: &Package,
    old: &str,
    new: &str,
) -> Result<Vec<String>> {
    let name = existing.name.as_str();
    owners.update(|all| {
        let record = all.get(name).cloned();
        must_own(
            writer,
            name,
            record.as_ref(),
            "ask an owner to rotate the key",
        )?;
        let mut keys = effective_keys(record.as_ref(), Some(existing));
        if !keys.iter().any(|k| k == old) {
            return Err(forbidden(
                format!("the endorsing key is not one of `{name}`'s signing keys"),
                "endorse the new key with the key that signs the package now",
            ));
        }
        keys.retain(|k| k != old);
        if !keys.iter().any(|k| k == new) {
            keys.push(new.to_string());
        }
        let entry = all.entry(name.to_string()).or_default();
        entry.keys = keys.clone();
        Ok(keys)
    })
}

/// Checks that `writer` may yank (or unyank) a version of `name`.
pub fn authorize_yank(owners: &Owners, writer: &Writer, name: &str) -> Result<()> {
    let Some(who) = writer.owner() else {
        return Ok(());
    };
    match owners.get(name)? {
        Some(r) if !r.owners.is_empty() && !r.owners.contains(&who) => Err(forbidden(
            format!(
                "`{name}` is owned by {}; this token acts for `{who}`",
                r.owners.join(", ")
            ),
            "ask an owner, or the registry's operator (`ggen registry owner add NAME OWNER`), to add you",
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ggen_marketplace_core::model::Signature;

    fn release(name: &str, signed_by: Option<&str>) -> PackageVersion {
        let mut v = PackageVersion::new(name, "1.0.0".parse().unwrap());
        v.signature = signed_by.map(|k| Signature {
            algorithm: "ed25519".into(),
            key_id: "0000000000000000".into(),
            public_key: k.into(),
            signature: String::new(),
            statement: String::new(),
        });
        v
    }

    fn existing(name: &str, signed_by: Option<&str>) -> Package {
        Package {
            name: name.into(),
            downloads: 0,
            stars: 0,
            versions: vec![release(name, signed_by)],
        }
    }

    fn token(owner: &str) -> Writer {
        Writer::Token(TokenRecord {
            id: format!("id-{owner}"),
            sha256: String::new(),
            scopes: vec![Scope::Publish, Scope::Yank],
            packages: "*".into(),
            owner: owner.into(),
            created: chrono::Utc::now(),
            expires: None,
        })
    }

    #[test]
    fn the_operator_is_held_to_names_and_keys_but_not_to_owners() {
        let dir = tempfile::tempdir().unwrap();
        let owners = Owners::new(dir.path());
        let alice = token("alice");
        let none = || Ok(vec!["foo-bar".to_string()]);
        authorize_publish(&owners, &alice, &release("mine", None), None, none, true).unwrap();
        assert_eq!(owners.get("mine").unwrap().unwrap().owners, ["alice"]);
        // The operator may publish alice's name; bob may not.
        let e = existing("mine", None);
        authorize_publish(
            &owners,
            &Writer::Operator,
            &release("mine", None),
            Some(&e),
            none,
            true,
        )
        .unwrap();
        let bob = token("bob");
        assert!(
            authorize_publish(&owners, &bob, &release("mine", None), Some(&e), none, false)
                .is_err()
        );
        assert!(authorize_yank(&owners, &bob, "mine").is_err());
        authorize_yank(&owners, &Writer::Operator, "mine").unwrap();
        // Confusable names are refused for everyone, the operator included.
        for w in [&Writer::Operator, &alice] {
            let err = authorize_publish(&owners, w, &release("foo_bar", None), None, none, false)
                .unwrap_err()
                .to_string();
            assert!(err.contains("foo-bar"), "{err}");
        }
        // A package signed before keys were recorded keeps its signers' keys.
        let signed = existing("legacy", Some("aa"));
        for (key, ok) in [(Some("aa"), true), (Some("bb"), false), (None, false)] {
            let r = authorize_publish(
                &owners,
                &Writer::Operator,
                &release("legacy", key),
                Some(&signed),
                none,
                false,
            );
            assert_eq!(r.is_ok(), ok, "{key:?}: {r:?}");
        }
        // The first signed publish records its key; then another key is refused.
        authorize_publish(
            &owners,
            &alice,
            &release("keyed", Some("cc")),
            None,
            none,
            true,
        )
        .unwrap();
        assert_eq!(owners.get("keyed").unwrap().unwrap().keys, ["cc"]);
        let keyed = existing("keyed", Some("cc"));
        assert!(
            authorize_publish(
                &owners,
                &alice,
                &release("keyed", Some("dd")),
                Some(&keyed),
                none,
                false
            )
            .is_err()
        );
    }
}
