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
