//! Command-line grammar: every command, flag and help text. Parsing only;
//! what a command does is in `commands`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use ggen_marketplace::core::SortOrder;

#[derive(Debug, Parser)]
#[command(
    name = "ggen",
    version,
    about = "Search, install and publish code-generation template packages (gpacks), and generate projects from them",
    long_about = "ggen finds and installs template packages from a marketplace registry, generates \
        projects from them (`ggen new`) and keeps those projects in step with newer template \
        versions (`ggen update`).\n\n\
        A fresh installation keeps its registry in $GGEN_HOME (default ~/.ggen), seeded on first use \
        from a catalogue bundled in this binary: no network is needed.",
    propagate_version = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Work with the package marketplace (search, install, publish, migrate ...).
    #[command(subcommand, visible_alias = "market")]
    Marketplace(Box<Marketplace>),
    /// Run the registry server, and manage its API tokens.
    #[command(subcommand)]
    Registry(Box<Registry>),
    /// Generate a project from a package: resolve and verify it (and its
    /// dependencies) as `install` does, answer its questions, render its
    /// templates into DIR.
    ///
    /// Answers come from --var, --answers FILE, prompts on a terminal, or the
    /// package's defaults. The project records where it came from in
    /// DIR/.ggen-answers.toml, which `ggen update` reads.
    New(Box<NewArgs>),
    /// Bring a generated project up to a newer version of its template,
    /// keeping your edits (three-way merge; overlapping edits get conflict
    /// markers). Not `ggen marketplace update`, which updates installed packages.
    Update(Box<ProjectUpdateArgs>),
}

#[derive(Debug, Args)]
pub struct NewArgs {
    /// NAME or NAME@REQUIREMENT, e.g. rust-cli or rust-cli@^1.2.
    pub package: String,
    /// The directory to create; it must not exist or be empty.
    pub dir: PathBuf,
    /// Read answers from FILE: a table of NAME = VALUE in TOML, JSON or YAML
    /// (another project's .ggen-answers.toml works too).
    #[arg(long, value_name = "FILE")]
    pub answers: Option<PathBuf>,
    /// Also render optional dependencies.
    #[arg(long)]
    pub with_optional: bool,
    #[command(flatten)]
    pub common: GenerateArgs,
}

#[derive(Debug, Args)]
pub struct ProjectUpdateArgs {
    /// The project ggen generated (default: the current directory).
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// Move to the newest version matching REQ, e.g. ^2 or =1.4.0 (default:
    /// the newest compatible with the recorded version).
    #[arg(long, value_name = "REQ")]
    pub to: Option<String>,
    /// Also render optional dependencies.
    #[arg(long)]
    pub with_optional: bool,
    #[command(flatten)]
    pub common: GenerateArgs,
}

/// Flags `new` and `update` share.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Answer a question, e.g. --var project_name=demo (repeatable). Text is
    /// converted to the variable's type: 8080, true/false, a,b for lists.
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub vars: Vec<String>,
    /// Never prompt: unanswered questions take their defaults, and a required
    /// one without an answer is an error (the default when not on a terminal).
    #[arg(long)]
    pub defaults: bool,
    /// Require a valid signature from a trusted key on every package.
    #[arg(long)]
    pub verify_signature: bool,
    /// Show what would be written (for update, a diff), writing nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub global: Global,
}

#[derive(Debug, Subcommand)]
pub enum Registry {
    /// Serve the registry over HTTP: REST API under /api/v1, /metrics, /healthz,
    /// /readyz, and a web page at /. Stops cleanly on Ctrl-C or SIGTERM,
    /// finishing requests in flight.
    ///
    /// Routing (v1, v2, A/B, compare, fallback) follows the same config as the
    /// CLI; the A/B subject is the X-Ggen-Client-Id header, else the client's address.
    Serve {
        /// Address to listen on (port 0 picks a free port, printed on start).
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: std::net::SocketAddr,
        /// Serve this registry directory instead of $GGEN_HOME/registry.
        #[arg(long, value_name = "DIR")]
        registry_dir: Option<PathBuf>,
        /// Reads need a token too (any scope); otherwise only publish and yank do.
        #[arg(long)]
        auth_required: bool,
        /// Requests per second per client address (bursts of twice that); 0 = unlimited.
        #[arg(long, default_value_t = 200, value_name = "N")]
        rate_limit: u32,
        /// Publishes and yanks per minute per token; 0 = unlimited.
        #[arg(long, default_value_t = 60, value_name = "N")]
        write_rate_limit: u32,
        /// Seconds a client has to send a request's headers (and an idle
        /// kept-alive connection stays open).
        #[arg(long, default_value_t = 10, value_name = "SECS")]
        header_timeout: u64,
        /// Open connections in all; more wait until one closes.
        #[arg(long, default_value_t = 1024, value_name = "N")]
        max_connections: usize,
        /// Open connections per client address; more are closed at once.
        #[arg(long, default_value_t = 64, value_name = "N")]
        max_connections_per_address: usize,
        /// Whole listings, web index pages and uploads served at once; more
        /// are answered 503 with Retry-After.
        #[arg(long, default_value_t = 8, value_name = "N")]
        max_expensive_requests: usize,
        /// Serve /metrics on this address alone (e.g. 127.0.0.1:9100), not on --addr.
        /// Without it, /metrics on --addr needs a token when --auth-required is set.
        #[arg(long, value_name = "ADDR")]
        metrics_addr: Option<std::net::SocketAddr>,
        /// A reverse proxy (address or CIDR, repeatable) whose X-Forwarded-For
        /// names the client for rate limits and A/B buckets. From any other
        /// peer the header is ignored.
        #[arg(
            long = "trusted-proxy",
            value_name = "CIDR",
            env = "GGEN_REGISTRY_TRUSTED_PROXIES",
            value_delimiter = ','
        )]
        trusted_proxies: Vec<String>,
        #[command(flatten)]
        global: Global,
    },
    /// Create, list and revoke API tokens (stored hashed in the registry directory).
    #[command(subcommand)]
    Token(TokenAction),
    /// Who owns each package name and which keys may sign it (see docs/registry.md).
    #[command(subcommand)]
    Owner(OwnerAction),
}

#[derive(Debug, Subcommand)]
pub enum OwnerAction {
    /// Show the owners and signing keys of one package, or of every package.
    List {
        name: Option<String>,
        #[arg(long, value_name = "DIR")]
        registry_dir: Option<PathBuf>,
        #[command(flatten)]
        global: Global,
    },
    /// Let OWNER (a token's --owner) publish and yank NAME.
    Add(OwnerChange),
    /// Stop OWNER from publishing and yanking NAME.
    Remove(OwnerChange),
    /// Accept signatures by the public key in KEYFILE for new versions of NAME
    /// (how a package changes keys: add the new one, then remove the old).
    KeyAdd {
        name: String,
        keyfile: PathBuf,
        #[arg(long, value_name = "DIR")]
        registry_dir: Option<PathBuf>,
        #[command(flatten)]
        global: Global,
    },
    /// Stop accepting signatures by KEY_ID for new versions of NAME.
    KeyRemove {
        name: String,
        key_id: String,
        #[arg(long, value_name = "DIR")]
        registry_dir: Option<PathBuf>,
        #[command(flatten)]
        global: Global,
    },
}

/// One package name and one of its owners, in a registry directory.
#[derive(Debug, Args)]
pub struct OwnerChange {
    pub name: String,
    pub owner: String,
    #[arg(long, value_name = "DIR")]
    pub registry_dir: Option<PathBuf>,
    #[command(flatten)]
    pub global: Global,
}

#[derive(Debug, Subcommand)]
pub enum TokenAction {
    /// Create a token and print it once: it cannot be shown again.
    Create {
        /// What the token may do: publish, yank or read (repeat for several).
        #[arg(long = "scope", required = true, value_name = "SCOPE")]
        scopes: Vec<String>,
        /// Package names the token may write, `*` wildcards allowed; required
        /// for publish and yank tokens (say `--package '*'` for every name).
        #[arg(long, value_name = "GLOB")]
        package: Option<String>,
        /// Who the token acts for (a person or team): the owner recorded on
        /// names it publishes first. Required for publish and yank tokens.
        #[arg(long, value_name = "NAME")]
        owner: Option<String>,
        /// Lifetime, e.g. 30d, 12h, 90m (default: no expiry).
        #[arg(long, value_name = "DURATION")]
        expires: Option<String>,
        #[arg(long, value_name = "DIR")]
        registry_dir: Option<PathBuf>,
        #[command(flatten)]
        global: Global,
    },
    /// List tokens (ids, scopes, packages, expiry; never the tokens themselves).
    List {
        #[arg(long, value_name = "DIR")]
        registry_dir: Option<PathBuf>,
        #[command(flatten)]
        global: Global,
    },
    /// Revoke a token by id.
    Revoke {
        id: String,
        #[arg(long, value_name = "DIR")]
        registry_dir: Option<PathBuf>,
        #[command(flatten)]
        global: Global,
    },
}

#[derive(Debug, Clone, Args)]
pub struct Global {
    /// Answer from this backend only (overrides config and GGEN_MARKETPLACE_BACKEND).
    #[arg(long, global = true, value_enum)]
    pub backend: Option<BackendArg>,
    /// Print machine-readable JSON on stdout.
    #[arg(long, global = true)]
    pub json: bool,
    /// Show backend choice, latency and cache use on stderr.
    #[arg(long, short, global = true)]
    pub verbose: bool,
    /// Use the registry server at URL (`ggen registry serve`) instead of the local
    /// registry (also GGEN_REGISTRY_URL or `registry.url` in the config).
    #[arg(long, global = true, value_name = "URL")]
    pub registry: Option<String>,
    /// Token for publishing and yanking on a registry server (default: $GGEN_REGISTRY_TOKEN).
    #[arg(long, global = true, value_name = "TOKEN")]
    pub token: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackendArg {
    V1,
    V2,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SortArg {
    Relevance,
    Downloads,
    Name,
    Recent,
}

impl From<SortArg> for SortOrder {
    fn from(s: SortArg) -> Self {
        match s {
            SortArg::Relevance => SortOrder::Relevance,
            SortArg::Downloads => SortOrder::Downloads,
            SortArg::Name => SortOrder::Name,
            SortArg::Recent => SortOrder::Recent,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Marketplace {
    /// Seed the local registry from the bundled catalogue (done automatically on first use).
    Init {
        /// Re-import the bundled catalogue into an existing registry (existing versions are kept).
        #[arg(long, conflicts_with = "empty")]
        force: bool,
        /// Create the registry with no packages (a private registry) instead of
        /// seeding the bundled catalogue.
        #[arg(long)]
        empty: bool,
        #[command(flatten)]
        global: Global,
    },
    /// Search packages by name, description, tags and keywords (typos and prefixes welcome).
    Search {
        /// Words to search for, e.g. "rust cli" or "bibtex".
        #[arg(long, short)]
        query: Option<String>,
        /// The query as a positional argument (same as --query).
        #[arg(conflicts_with = "query")]
        words: Vec<String>,
        /// Only packages in this category (case-insensitive).
        #[arg(long, short)]
        category: Option<String>,
        /// Only packages with this tag (case-insensitive; repeat to require several).
        #[arg(long, short)]
        tag: Vec<String>,
        #[arg(long, value_enum, default_value = "relevance")]
        sort: SortArg,
        /// How many results to show (1-1000).
        #[arg(long, short = 'n', default_value_t = 20)]
        limit: usize,
        /// Skip this many results (for paging).
        #[arg(long, default_value_t = 0)]
        offset: usize,
        /// Say why each hit matched: the field, the term, the kind of match
        /// (name, exact, prefix, typo, stem or topic) and what it added to
        /// the score (`explain` in --json).
        #[arg(long)]
        explain: bool,
        #[command(flatten)]
        global: Global,
    },
    /// List every package (latest versions), or what is installed in a target directory.
    List {
        /// List the packages installed in --target (from its ggen.lock).
        #[arg(long)]
        installed: bool,
        #[arg(long, default_value = ".")]
        target: PathBuf,
        #[command(flatten)]
        global: Global,
    },
    /// Show a package: description, versions, dependencies, checksum and signature.
    Info {
        /// NAME or NAME@VERSION.
        package: String,
        #[command(flatten)]
        global: Global,
    },
    /// List the published versions of a package.
    Versions {
        name: String,
        #[command(flatten)]
        global: Global,
    },
    /// Install packages and their dependencies into a directory, recorded in ggen.lock.
    Install {
        /// NAME or NAME@REQUIREMENT, e.g. rust-cli@^1.2 (several allowed).
        #[arg(required = true)]
        packages: Vec<String>,
        /// Directory to install into; each package lands in TARGET/NAME.
        #[arg(long, short, default_value = ".")]
        target: PathBuf,
        /// Resolve and show what would change, writing nothing.
        #[arg(long)]
        dry_run: bool,
        /// Replace directories in the target that ggen did not install.
        #[arg(long)]
        force: bool,
        /// Install only the named packages, not their dependencies.
        #[arg(long)]
        no_dependencies: bool,
        /// Fail if ggen.lock would change.
        #[arg(long)]
        locked: bool,
        /// Also install optional dependencies.
        #[arg(long)]
        with_optional: bool,
        /// Require a valid signature from a trusted key on every package.
        #[arg(long)]
        verify_signature: bool,
        #[command(flatten)]
        global: Global,
    },
    /// Update installed packages to the newest versions their requirements allow.
    Update {
        /// Only this package (default: everything in ggen.lock).
        name: Option<String>,
        #[arg(long, short, default_value = ".")]
        target: PathBuf,
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        global: Global,
    },
    /// Remove an installed package (and dependencies nothing else needs).
    Remove {
        name: String,
        #[arg(long, short, default_value = ".")]
        target: PathBuf,
        /// Remove it even if other installed packages depend on it.
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        global: Global,
    },
    /// Check a package directory or manifest (or a directory of packages) for errors.
    Validate {
        path: PathBuf,
        #[command(flatten)]
        global: Global,
    },
    /// Rebuild the search indexes (V1 tantivy and V2 term index) from the stored data.
    RebuildIndex {
        #[command(flatten)]
        global: Global,
    },
    /// Show compiled features, effective routing per operation and where each setting came from.
    Status {
        #[command(flatten)]
        global: Global,
    },
    /// Copy every V1 package and version into the V2 store (idempotent and resumable).
    Migrate {
        /// Show what would be copied without writing.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        global: Global,
    },
    /// Compare every package in V1 and V2; exits non-zero listing each difference.
    VerifyMigration {
        #[command(flatten)]
        global: Global,
    },
    /// Rebuild the V2 store from the V1 index and archives.
    RebuildDb {
        #[command(flatten)]
        global: Global,
    },
    /// Dump the V2 graph as Turtle, N-Triples or JSON-LD.
    Export {
        #[arg(long, value_enum, default_value = "turtle")]
        format: ExportFormat,
        #[command(flatten)]
        global: Global,
    },
    /// The topics search understands: list them, export them as Turtle, or
    /// replace them with your own SKOS scheme (V2).
    ///
    /// A query naming a topic (`k8s`, `medical`, `shop`) also finds packages
    /// that use the topic's other labels and its narrower topics, ranked
    /// below direct matches. V2 keeps the scheme in its graph (query it with
    /// `sparql`; versions link to concepts by `dcterms:subject`); V1 uses
    /// the scheme built in.
    Topics {
        #[command(subcommand)]
        action: TopicsAction,
    },
    /// Run a read-only SPARQL query against the V2 store.
    Sparql {
        query: String,
        #[command(flatten)]
        global: Global,
    },
    /// Summarise compare-mode results: match rate, overlap, latencies, worst mismatches.
    AbReport {
        #[command(flatten)]
        global: Global,
    },
    /// Manage the local caches (search results, downloaded archives).
    Cache {
        #[command(subcommand)]
        action: CacheAction,
    },
    /// Create an Ed25519 signing key: PATH (PKCS#8 PEM, mode 0600) and PATH.pub (SPKI PEM).
    Keygen {
        #[arg(long, short)]
        output: PathBuf,
        /// Overwrite existing key files.
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        global: Global,
    },
    /// Check a private or public key file (ours or OpenSSL's) and print its key id.
    VerifyKey {
        path: PathBuf,
        #[command(flatten)]
        global: Global,
    },
    /// Pack and sign a package: writes NAME-VERSION.tar.gz, .sig and .statement.
    Sign {
        /// Package directory or its manifest (gpack.toml, gpack.yaml, package.toml).
        #[arg(long, short)]
        package: PathBuf,
        /// Private key (PKCS#8 PEM).
        #[arg(long, short)]
        key: PathBuf,
        /// Where to write the three files.
        #[arg(long, default_value = ".")]
        output: PathBuf,
        #[command(flatten)]
        global: Global,
    },
    /// Check a published package: checksum, signature, signing key and whether it is trusted.
    Verify {
        /// NAME or NAME@VERSION.
        #[arg(long, short)]
        package: String,
        #[command(flatten)]
        global: Global,
    },
    /// Back up the registry to one file, restore it, or show what a backup holds.
    Backup {
        #[command(subcommand)]
        action: BackupAction,
    },
    /// Manage the keys whose signatures you trust.
    Trust {
        #[command(subcommand)]
        action: TrustAction,
    },
    /// Publish a package directory into the registry (optionally signed).
    Publish {
        /// Package directory or manifest (default: the current directory).
        #[arg(default_value = ".")]
        path: PathBuf,
        /// Sign the package with --key.
        #[arg(long, requires = "key")]
        sign: bool,
        #[arg(long, short)]
        key: Option<PathBuf>,
        /// Validate and show what would be published; write nothing.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        global: Global,
    },
    /// Change a package's signing key (endorsed by its current key).
    Key {
        #[command(subcommand)]
        action: KeyAction,
    },
    /// Mark a published version as yanked (new resolutions skip it), or undo that.
    Yank {
        /// NAME@VERSION.
        package: String,
        #[arg(long)]
        undo: bool,
        #[command(flatten)]
        global: Global,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeyAction {
    /// Endorse NEW.pub as NAME's signing key with the current private key:
    /// the registry (local, or the server with --registry) retires the current
    /// key and accepts signatures by the new one from then on.
    Rotate {
        /// The package.
        name: String,
        /// The private key that signs the package now.
        #[arg(long, short)]
        key: PathBuf,
        /// The new public key (SPKI PEM, or a private key file).
        #[arg(long, value_name = "NEW.pub")]
        new_key: PathBuf,
        #[command(flatten)]
        global: Global,
    },
}

#[derive(Debug, Subcommand)]
pub enum TrustAction {
    /// Trust a public key (or the public half of a private key file).
    Add {
        keyfile: PathBuf,
        /// A label to recognise the key by.
        #[arg(long)]
        name: Option<String>,
        /// Stop trusting it after this long, e.g. 90d.
        #[arg(long)]
        expires: Option<String>,
        /// Trust it only for packages matching this pattern (`*` wildcards;
        /// repeatable). Without it the key is trusted for every package.
        #[arg(long = "package", value_name = "PATTERN")]
        packages: Vec<String>,
        #[command(flatten)]
        global: Global,
    },
    /// List trusted keys.
    List {
        #[command(flatten)]
        global: Global,
    },
    /// Stop trusting a key.
    Remove {
        key_id: String,
        #[command(flatten)]
        global: Global,
    },
}

#[derive(Debug, Subcommand)]
pub enum BackupAction {
    /// Write a consistent backup of the registry (V1 index and archives, the V2
    /// graph, token hashes) while it stays in use: writers wait for the snapshot.
    Create {
        /// Where to write it (default: ggen-backup-<time>.tar.gz in the current directory).
        #[arg(long, short)]
        output: Option<PathBuf>,
        #[command(flatten)]
        global: Global,
    },
    /// Restore a backup as the registry. Checks the whole file first; the current
    /// registry is only replaced with --force, and is then kept beside it.
    Restore {
        file: PathBuf,
        /// Replace an existing registry (moved aside to registry.replaced-<time>).
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        global: Global,
    },
    /// Check a backup and show what it holds.
    List {
        file: PathBuf,
        #[command(flatten)]
        global: Global,
    },
}

#[derive(Debug, Subcommand)]
pub enum CacheAction {
    /// Remove cached search results and downloads.
    Clear {
        /// Only entries older than this, e.g. 30m, 1h, 7d.
        #[arg(long)]
        older_than: Option<String>,
        #[command(flatten)]
        global: Global,
    },
}

#[derive(Debug, Subcommand)]
pub enum TopicsAction {
    /// Every concept: its labels, narrower concepts and linked packages.
    List {
        #[command(flatten)]
        global: Global,
    },
    /// The scheme in use, as Turtle (a starting point for your own).
    Export {
        #[command(flatten)]
        global: Global,
    },
    /// Replace V2's scheme with a SKOS file (Turtle): every `skos:Concept`
    /// with one `skos:prefLabel`, its `skos:altLabel`s, `skos:narrower` or
    /// `skos:broader` and `skos:related`, under one `skos:ConceptScheme`.
    /// Every version is linked to the new concepts in the same step.
    Import {
        /// The Turtle file (at most 4 MiB).
        file: PathBuf,
        #[command(flatten)]
        global: Global,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ExportFormat {
    Turtle,
    Ntriples,
    Jsonld,
}

impl Marketplace {
    /// Whether this is a dry run, which writes nothing anywhere.
    pub fn is_dry_run(&self) -> bool {
        matches!(
            self,
            Self::Install { dry_run: true, .. }
                | Self::Update { dry_run: true, .. }
                | Self::Migrate { dry_run: true, .. }
                | Self::Publish { dry_run: true, .. }
        )
    }

    /// Commands that read packages and write nothing to the registry (an
    /// install writes its target directory and the download cache, not the
    /// registry), so an embedded V2 store is opened only if an answer needs it.
    pub fn only_reads_packages(&self) -> bool {
        matches!(
            self,
            Self::Search { .. }
                | Self::List { .. }
                | Self::Info { .. }
                | Self::Versions { .. }
                | Self::Install { .. }
                | Self::Update { .. }
                | Self::Remove { .. }
        )
    }

    pub fn global(&self) -> &Global {
        match self {
            Self::Init { global, .. }
            | Self::Search { global, .. }
            | Self::List { global, .. }
            | Self::Info { global, .. }
            | Self::Versions { global, .. }
            | Self::Install { global, .. }
            | Self::Update { global, .. }
            | Self::Remove { global, .. }
            | Self::Validate { global, .. }
            | Self::RebuildIndex { global }
            | Self::Status { global }
            | Self::Migrate { global, .. }
            | Self::VerifyMigration { global }
            | Self::RebuildDb { global }
            | Self::Export { global, .. }
            | Self::Sparql { global, .. }
            | Self::AbReport { global }
            | Self::Cache {
                action: CacheAction::Clear { global, .. },
            }
            | Self::Topics {
                action:
                    TopicsAction::List { global }
                    | TopicsAction::Export { global }
                    | TopicsAction::Import { global, .. },
            }
            | Self::Keygen { global, .. }
            | Self::VerifyKey { global, .. }
            | Self::Sign { global, .. }
            | Self::Verify { global, .. }
            | Self::Trust {
                action:
                    TrustAction::Add { global, .. }
                    | TrustAction::List { global }
                    | TrustAction::Remove { global, .. },
            }
            | Self::Backup {
                action:
                    BackupAction::Create { global, .. }
                    | BackupAction::Restore { global, .. }
                    | BackupAction::List { global, .. },
            }
            | Self::Key {
                action: KeyAction::Rotate { global, .. },
            }
            | Self::Publish { global, .. }
            | Self::Yank { global, .. } => global,
        }
    }
}
