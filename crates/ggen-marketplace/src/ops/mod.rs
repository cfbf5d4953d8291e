//! What a user does with packages and registries, each a [`crate::Marketplace`]
//! method (or a free function where no registry is involved).
//!
//! | module | holds |
//! |---|---|
//! | `install` | install, update, remove: the transaction into a target |
//! | `generate` | `ggen new` and `ggen update`: projects rendered from packages |
//! | `lockfile` | `ggen.lock` |
//! | `publish` | publish, sign, verify, yank, key rotation |
//! | `validate` | checking package directories |
//! | `graph` | SPARQL and export of V2's graph |
//! | `topics` | the topic scheme search expands through: list, export, import |
//! | `backup` | backup and restore of a registry |
//! | `catalogue` | the bundled catalogue, and seeding a new registry from it |
//! | `status` | what this build and configuration do |
//! | `rebuild` | the derived search indexes, rebuilt |

pub(crate) mod backup;
pub(crate) mod catalogue;
pub(crate) mod generate;
pub(crate) mod graph;
pub(crate) mod install;
pub(crate) mod lockfile;
pub(crate) mod publish;
pub(crate) mod rebuild;
pub(crate) mod status;
pub(crate) mod topics;
pub(crate) mod validate;

/// Where a journal of `dir` lives in `journal_dir`: `<prefix><digest>`, the
/// digest of the directory's canonical path, so each directory has exactly
/// one whatever path it was named by (install's and `ggen update`'s).
pub(crate) fn journal_stem(
    journal_dir: &std::path::Path,
    dir: &std::path::Path,
    prefix: &str,
) -> crate::Result<std::path::PathBuf> {
    use ggen_marketplace_core::MarketplaceError;
    let canonical = std::fs::canonicalize(dir).map_err(|e| MarketplaceError::io(dir, e))?;
    let digest =
        ggen_marketplace_core::checksum::sha256_hex(canonical.as_os_str().as_encoded_bytes());
    Ok(journal_dir.join(format!("{prefix}{}", &digest[..32])))
}
