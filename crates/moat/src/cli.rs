//! The command-line interface: every command, flag and argument of `moat`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "moat",
    version,
    about = "Moat: the AI security control plane",
    long_about = "Moat keeps an inventory of every model and dataset with risk tiers and review \
                  cycles, enforces least privilege with API keys and roles, and records every \
                  change in a tamper-evident audit log."
)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub(crate) struct Global {
    /// Data directory: the embedded database, the audit signing key and the admin key.
    #[arg(long, global = true, env = "MOAT_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// PostgreSQL URL instead of the embedded SQLite store (postgres://…).
    #[arg(
        long,
        global = true,
        env = "MOAT_DATABASE_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    pub database_url: Option<String>,
    /// Configuration file (default: moat.toml in the current directory, if present).
    #[arg(long, global = true, env = "MOAT_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// API key to act with (default: the admin key that `moat init` wrote in the data directory).
    #[arg(
        long,
        global = true,
        env = "MOAT_API_KEY",
        value_name = "KEY",
        hide_env_values = true
    )]
    pub api_key: Option<String>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Create the data directory, the database, the audit signing key and the first admin key.
    Init(InitArgs),
    /// Run the REST API, the dashboard and /metrics.
    Serve(ServeArgs),
    /// Scan model artifacts for code that runs when they are loaded, without running it
    /// (pickles of every protocol, PyTorch zip checkpoints, NumPy object arrays).
    Scan(ScanArgs),
    /// Sign a model folder (or file): an OpenSSF model-signing bundle with per-file
    /// SHA-256 digests, signed with a local EC private key (P-256 or P-384).
    Sign(SignArgs),
    /// Verify a model against its signature; names every file that changed, was added
    /// or is missing. Exit 0 verified, 1 not verified, 2 usage or I/O error.
    Verify(VerifyArgs),
    /// An AI bill of materials (CycloneDX 1.6 JSON) of a registered model version
    /// (`NAME@VERSION`) or of a model folder or file: model card, file hashes, datasets,
    /// scan findings.
    Bom(BomArgs),
    /// Find personal data and secrets in text, and redact them.
    #[command(subcommand)]
    Guard(GuardCmd),
    /// Compare datasets: drift per column and for the dataset (CSV, JSON lines, Parquet).
    #[command(subcommand)]
    Data(DataCmd),
    /// Adversarial robustness of a classifier (an ONNX file run in-process, or an HTTP
    /// endpoint) with query-only attacks; `moat attack membership` for privacy.
    /// Exit 0 gate passed (or none), 1 a gate condition failed, 2 usage or I/O error.
    Attack(Box<AttackCmd>),
    /// Permutation feature importance with confidence intervals and partial dependence:
    /// the explainability evidence of a tabular model (JSON and an HTML page).
    Explain(Box<ExplainArgs>),
    /// Probe an OpenAI-compatible chat endpoint: prompt injection, jailbreaks,
    /// system-prompt and canary leakage, PII leakage, encoding tricks. Pass rate per
    /// category. Exit 0 gate passed (or none), 1 a gate condition failed, 2 usage error.
    Probe(Box<ProbeArgs>),
    /// Register, list, classify and review model versions; move aliases.
    #[command(subcommand)]
    Model(ModelCmd),
    /// Register, list and review dataset versions.
    #[command(subcommand)]
    Dataset(DatasetCmd),
    /// Show where a model version comes from and where it is served: datasets -> model -> endpoints.
    Lineage(RefArgs),
    /// Third-party sources: licence, questionnaire status, last review.
    #[command(subcommand)]
    Vendor(VendorCmd),
    /// AI systems (use cases): the governed units grouping models, datasets and endpoints.
    #[command(subcommand)]
    System(SystemCmd),
    /// Detections of the gateway, newest first (security and auditors).
    Events {
        /// How many.
        #[arg(long, default_value_t = 50)]
        limit: u32,
        #[command(flatten)]
        out: JsonFlag,
    },
    /// The gateway's request log, newest first (security and auditors): redacted paths,
    /// key ids, status, latency and the detectors' verdicts.
    Traffic {
        /// Only this endpoint's requests.
        #[arg(long)]
        endpoint: Option<String>,
        /// How many.
        #[arg(long, default_value_t = 50)]
        limit: u32,
        #[command(flatten)]
        out: JsonFlag,
    },
    /// Inference endpoints (what the gateway serves).
    #[command(subcommand)]
    Endpoint(EndpointCmd),
    /// Results of checks (scan, signature, data check, attack, …) attached to versions.
    #[command(subcommand)]
    Evidence(EvidenceCmd),
    /// Every asset with owner, tier, sensitivity and review due date.
    Inventory(InventoryArgs),
    /// API keys: create, list, revoke, rotate.
    #[command(subcommand)]
    Key(KeyCmd),
    /// The tamper-evident audit log: entries, checkpoints, proofs, verification.
    #[command(subcommand)]
    Audit(AuditCmd),
}

#[derive(Debug, Args)]
pub(crate) struct InitArgs {
    /// Name of the first admin principal.
    #[arg(long, default_value = "admin")]
    pub admin_name: String,
}

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "MOAT_ADDR", value_name = "HOST:PORT")]
    pub addr: Option<String>,
    /// Seed a demo organisation into an empty store and open the dashboard without a key.
    #[arg(long)]
    pub demo: bool,
    /// Run the gateway on this address too (overrides `[gateway] addr`).
    #[arg(long, env = "MOAT_GATEWAY_ADDR", value_name = "HOST:PORT")]
    pub gateway_addr: Option<String>,
    /// Share the gateway's rate limits with other replicas through this Redis
    /// (`redis://127.0.0.1:6379`); without it each replica limits on its own.
    #[arg(long, env = "MOAT_REDIS_URL", value_name = "URL")]
    pub redis_url: Option<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum ScanFormat {
    Table,
    Json,
    /// SARIF 2.1.0, for code-scanning UIs.
    Sarif,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum SeverityArg {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

#[derive(Debug, Args)]
pub(crate) struct ScanArgs {
    /// Files or folders (scanned recursively); the format is sniffed from the bytes.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    #[arg(long, value_enum, default_value = "table")]
    pub format: ScanFormat,
    /// Exit 1 when a finding is at or above this severity.
    #[arg(long, value_enum, default_value = "high")]
    pub fail_on: SeverityArg,
}

#[derive(Debug, Args)]
pub(crate) struct SignArgs {
    /// The model folder (or a single model file).
    pub model: PathBuf,
    /// PEM EC private key (PKCS#8 or SEC1; P-256 or P-384), e.g. from
    /// `openssl ecparam -name prime256v1 -genkey -noout -out key.pem`.
    #[arg(long, value_name = "KEY.pem")]
    pub key: PathBuf,
    /// Where to write the signature [default: MODEL/model.sig for a folder,
    /// MODEL.sig for a file].
    #[arg(long, value_name = "PATH")]
    pub signature: Option<PathBuf>,
    /// Paths inside the model (relative to it) to leave out of the signature.
    #[arg(long = "ignore-path", value_name = "PATH")]
    pub ignore_paths: Vec<String>,
}

#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// The model folder (or a single model file).
    pub model: PathBuf,
    /// PEM EC public key of the signer (`openssl ec -in key.pem -pubout`).
    #[arg(long, value_name = "PUB.pem")]
    pub key: PathBuf,
    /// The signature to check [default: MODEL/model.sig for a folder, MODEL.sig for a
    /// file].
    #[arg(long, value_name = "PATH")]
    pub signature: Option<PathBuf>,
    /// Accept files the signature does not list.
    #[arg(long)]
    pub ignore_unsigned_files: bool,
    #[command(flatten)]
    pub json: JsonFlag,
}

#[derive(Debug, Args)]
pub(crate) struct BomArgs {
    /// `NAME@VERSION` (or `NAME@ALIAS`) of a registered model, or a path to a model
    /// folder or file (an existing path wins).
    pub target: String,
    /// Write the BOM here instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// For a folder: verify its `model.sig` with this PEM public key.
    #[arg(long = "signing-key", value_name = "PUB.pem")]
    pub signing_key: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum GuardCmd {
    /// Report personal data and secrets per text (exit 1 when something is found).
    Scan(GuardScanArgs),
    /// Write the text with every finding replaced.
    Redact(GuardRedactArgs),
    /// Put back the values of `tokenize` redaction, with the same key.
    Detokenize(GuardInput),
    /// Judge each text for prompt injection and jailbreaks: score, verdict, signals
    /// (one JSON line per text; exit 1 when one is an injection).
    Injection(GuardInjectionArgs),
}

#[derive(Debug, Subcommand)]
pub(crate) enum DataCmd {
    /// Profile datasets into a baseline of a few kilobytes: per column type, rows,
    /// nulls, distinct count, range, moments, quantiles, fixed histogram bins, top
    /// categories (several files are profiled as one dataset).
    Profile(DataProfileArgs),
    /// Merge profiles of parts of a dataset into the profile of the whole.
    Merge(DataMergeArgs),
    /// Validate a dataset against a baseline profile and constraints: schema, nulls,
    /// ranges, allowed categories, uniqueness, row counts; every violation with rows
    /// (exit 0 valid, 1 violations, 2 usage or I/O error).
    Check(DataCheckArgs),
    /// Rank the rows of a training set by signs of poisoning — label disagreement with
    /// neighbours, duplicates, trigger candidates, planted values, outliers (exit 0
    /// none, 1 suspicious rows, 2 usage or I/O error).
    Poison(DataPoisonArgs),
    /// Drift of CURRENT against a reference dataset or a baseline profile, per column
    /// and for the dataset (exit 0 no dataset drift, 1 dataset drift, 2 usage or I/O
    /// error).
    Drift(DataDriftArgs),
}

#[derive(Debug, Args)]
pub(crate) struct DataProfileArgs {
    /// The dataset (CSV with a header row, JSON lines or Parquet); several files of the
    /// same columns make one profile.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Where to write the profile (JSON); without it the profile goes to stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// With `-o`: `table` prints a summary, `json` the profile itself.
    #[arg(long, value_enum, default_value_t = DataFormat::Table)]
    pub format: DataFormat,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("rules").required(true).multiple(true).args(["baseline", "baseline_dataset", "constraints"])))]
pub(crate) struct DataCheckArgs {
    /// The dataset to validate (CSV with a header row, JSON lines or Parquet).
    pub file: PathBuf,
    /// The profile it should conform to (schema, and rules inferred from it).
    #[arg(long, value_name = "FILE", conflicts_with = "baseline_dataset")]
    pub baseline: Option<PathBuf>,
    /// The profile of a registered dataset version instead (kept by `moat dataset register`).
    #[arg(long, value_name = "NAME@VERSION")]
    pub baseline_dataset: Option<String>,
    /// FILE is this registered dataset version: the result is recorded as its evidence
    /// and as evidence of the models trained on it (audited).
    #[arg(long, value_name = "NAME@VERSION")]
    pub dataset: Option<String>,
    /// Explicit rules (TOML: `[dataset]` min_rows, max_rows, allow_extra_columns,
    /// optional_columns, infer, allow_type_widening; `[columns.NAME]` type, not_null,
    /// max_null_share, min, max, allowed, unique).
    #[arg(long, value_name = "FILE")]
    pub constraints: Option<PathBuf>,
    /// `table` for people, `json` for tools.
    #[arg(long, value_enum, default_value_t = DataFormat::Table)]
    pub format: DataFormat,
}

#[derive(Debug, Args)]
pub(crate) struct DataPoisonArgs {
    /// The training set (CSV with a header row, JSON lines or Parquet).
    pub train: PathBuf,
    /// The label column.
    #[arg(long, value_name = "COLUMN")]
    pub label: String,
    /// A clean dataset of the same columns: neighbours, outlier thresholds and token
    /// frequencies are then taken from it.
    #[arg(long, value_name = "FILE")]
    pub reference: Option<PathBuf>,
    /// An identifier column, excluded from the analysis.
    #[arg(long, value_name = "COLUMN")]
    pub id: Option<String>,
    /// Another column to leave out; repeat for several.
    #[arg(long, value_name = "COLUMN")]
    pub ignore: Vec<String>,
    /// Rows listed from this score (0 to 1).
    #[arg(long, default_value_t = 0.5, value_name = "SCORE")]
    pub min_score: f64,
    /// Neighbours consulted per row.
    #[arg(long, default_value_t = 10)]
    pub neighbours: usize,
    /// At most this many rows in the table (JSON lists them all).
    #[arg(long, default_value_t = 20)]
    pub top: usize,
    /// `table` for people, `json` for tools (`{"rows":[{"row":…,"score":…,"reasons":[…]}],"findings":[…]}`).
    #[arg(long, value_enum, default_value_t = DataFormat::Table)]
    pub format: DataFormat,
}

#[derive(Debug, Args)]
pub(crate) struct DataMergeArgs {
    /// Profiles written by `moat data profile`.
    #[arg(required = true, num_args = 2..)]
    pub profiles: Vec<PathBuf>,
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("against").required(true).args(["reference", "baseline", "baseline_dataset"])))]
pub(crate) struct DataDriftArgs {
    /// The dataset to judge (CSV with a header row, JSON lines or Parquet).
    pub current: PathBuf,
    /// The reference dataset it is compared with.
    #[arg(long, value_name = "FILE")]
    pub reference: Option<PathBuf>,
    /// A profile (`moat data profile … -o baseline.json`) it is compared with instead.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// The profile of a registered dataset version (kept by `moat dataset register`).
    #[arg(long, value_name = "NAME@VERSION")]
    pub baseline_dataset: Option<String>,
    /// CURRENT is this registered dataset version: the result is recorded as its
    /// evidence and as evidence of the models trained on it (audited).
    #[arg(long, value_name = "NAME@VERSION")]
    pub dataset: Option<String>,
    /// `table` for people, `json` for tools (`{"columns":[…],"drift_share":…,"dataset_drift":…}`).
    #[arg(long, value_enum, default_value_t = DataFormat::Table)]
    pub format: DataFormat,
    /// Also write the report as one self-contained HTML page (plots of reference and
    /// current distributions per column, and a drift summary chart).
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// The dataset drifts when this share of its columns drifts (or their weighed
    /// severity) [default: 0.5, or `[data.drift] drift_share` in moat.toml].
    #[arg(long, value_name = "SHARE")]
    pub drift_share: Option<f64>,
    /// A column to leave out (an identifier); repeat for several.
    #[arg(long, value_name = "COLUMN")]
    pub ignore: Vec<String>,
    /// The test for a column, with an optional threshold: `amount=psi`, `amount=ks:0.01`
    /// (ks, wasserstein, psi, chisquare, jensenshannon); repeat for several.
    #[arg(long = "test", value_name = "COLUMN=TEST[:THRESHOLD]")]
    pub tests: Vec<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum DataFormat {
    Table,
    Json,
}

#[derive(Debug, Args)]
pub(crate) struct GuardInjectionArgs {
    #[command(flatten)]
    pub input: GuardInput,
    /// Scores at or above this are injections.
    #[arg(long, default_value_t = 0.5)]
    pub threshold: f64,
}

#[derive(Debug, Args)]
pub(crate) struct GuardInput {
    /// A file, or `-` for standard input.
    #[arg(default_value = "-")]
    pub input: PathBuf,
    /// The input is JSON lines; the text is in `--field`, and `id` is echoed.
    #[arg(long)]
    pub jsonl: bool,
    /// The field holding the text in JSON lines.
    #[arg(long, default_value = "text")]
    pub field: String,
    /// Key for `hash` and `tokenize` (else MOAT_GUARD_KEY).
    #[arg(long, value_name = "FILE")]
    pub key_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum GuardFormat {
    Json,
    Jsonl,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum RedactMode {
    Mask,
    Tag,
    Hash,
    Tokenize,
}

#[derive(Debug, Args)]
pub(crate) struct GuardScanArgs {
    #[command(flatten)]
    pub input: GuardInput,
    #[arg(long, value_enum, default_value = "json")]
    pub format: GuardFormat,
}

#[derive(Debug, Args)]
pub(crate) struct GuardRedactArgs {
    #[command(flatten)]
    pub input: GuardInput,
    #[arg(long, value_enum, default_value = "tag")]
    pub mode: RedactMode,
}

#[derive(Debug, Args)]
pub(crate) struct JsonFlag {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct RefArgs {
    /// NAME@VERSION
    pub reference: String,
    #[command(flatten)]
    pub out: JsonFlag,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum TierArg {
    Minimal,
    Limited,
    High,
    Unacceptable,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum SensitivityArg {
    Public,
    Internal,
    Confidential,
    Restricted,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum RoleArg {
    Admin,
    Security,
    Owner,
    DataScientist,
    Auditor,
    Service,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ModelCmd {
    /// Register a model version: hashes every artifact file (SHA-256, streaming) and records lineage.
    Register(ModelRegister),
    /// List model versions.
    List(ListArgs),
    /// Show one model version with aliases, lineage, reviews and evidence.
    Show(RefArgs),
    /// Change the risk tier and/or sensitivity of a model version.
    Classify(ClassifyArgs),
    /// Record a review; moves the next due date by the tier's review cycle.
    Review(ReviewArgs),
    /// Aliases (production, staging, …): the only mutable pointers to versions.
    #[command(subcommand)]
    Alias(AliasCmd),
    /// Kill switch: the gateway answers 503 for this version until it is released
    /// (every replica within a second). Audited.
    Quarantine {
        /// NAME@VERSION.
        reference: String,
        /// Why (kept with the quarantine and in the audit log).
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        out: JsonFlag,
    },
    /// Lift the quarantine of a version. Audited.
    Release {
        /// NAME@VERSION.
        reference: String,
    },
    /// The versions under quarantine.
    Quarantined(JsonFlag),
}

#[derive(Debug, Args)]
pub(crate) struct ModelRegister {
    pub name: String,
    #[arg(long)]
    pub version: String,
    /// Artifact file or folder (folders are hashed file by file); repeat for several.
    #[arg(long = "artifact", value_name = "PATH", required = true)]
    pub artifacts: Vec<PathBuf>,
    /// Dataset version it was trained on (NAME@VERSION); repeat for several.
    #[arg(long = "dataset", value_name = "NAME@VERSION")]
    pub datasets: Vec<String>,
    /// Owning team.
    #[arg(long)]
    pub owner: String,
    #[arg(long, value_enum)]
    pub tier: TierArg,
    #[arg(long, value_enum)]
    pub sensitivity: SensitivityArg,
    /// internal, hub:URL or vendor:NAME.
    #[arg(long, default_value = "internal")]
    pub source: String,
    /// AI system (use case) it belongs to.
    #[arg(long)]
    pub system: Option<String>,
    /// Register even though the scanner finds critical problems; the reason is kept in
    /// the scan evidence and the audit log.
    #[arg(long, value_name = "REASON")]
    pub accept_risk: Option<String>,
    /// The model's signature (`moat sign`), when not at the default place
    /// (`model.sig` in an artifact folder, `FILE.sig` beside an artifact file).
    #[arg(long, value_name = "PATH")]
    pub signature: Option<PathBuf>,
    /// A trusted signer's PEM public key (repeatable; adds to `signing.public_keys`).
    #[arg(long = "signing-key", value_name = "PUB.pem")]
    pub signing_keys: Vec<PathBuf>,
    #[command(flatten)]
    pub out: JsonFlag,
}

#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    /// Only this name.
    pub name: Option<String>,
    #[command(flatten)]
    pub out: JsonFlag,
}

#[derive(Debug, Args)]
pub(crate) struct ClassifyArgs {
    /// NAME@VERSION
    pub reference: String,
    #[arg(long, value_enum)]
    pub tier: Option<TierArg>,
    #[arg(long, value_enum)]
    pub sensitivity: Option<SensitivityArg>,
    #[command(flatten)]
    pub out: JsonFlag,
}

#[derive(Debug, Args)]
pub(crate) struct ReviewArgs {
    /// NAME@VERSION
    pub reference: String,
    /// What was reviewed and the conclusion.
    #[arg(long)]
    pub notes: String,
    #[command(flatten)]
    pub out: JsonFlag,
}

#[derive(Debug, Subcommand)]
pub(crate) enum AliasCmd {
    /// Point ALIAS of MODEL at VERSION (moving `production` needs the model.promote permission).
    Set {
        model: String,
        alias: String,
        version: String,
        #[command(flatten)]
        out: JsonFlag,
    },
    /// Every move of ALIAS: who moved it, from which version, when.
    History {
        model: String,
        alias: String,
        #[command(flatten)]
        out: JsonFlag,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum DatasetCmd {
    /// Register a dataset version: digest plus schema summary (CSV, Parquet, JSON lines).
    Register(DatasetRegister),
    List(ListArgs),
    Show(RefArgs),
    /// Record a review of a dataset version.
    Review(ReviewArgs),
}

#[derive(Debug, Args)]
pub(crate) struct DatasetRegister {
    pub name: String,
    #[arg(long)]
    pub version: String,
    #[arg(long)]
    pub path: PathBuf,
    #[arg(long)]
    pub owner: String,
    #[arg(long, value_enum)]
    pub sensitivity: SensitivityArg,
    /// internal, hub:URL or vendor:NAME.
    #[arg(long, default_value = "internal")]
    pub source: String,
    #[arg(long)]
    pub system: Option<String>,
    #[command(flatten)]
    pub out: JsonFlag,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum QuestionnaireArg {
    NotSent,
    Sent,
    Received,
    Approved,
    Rejected,
}

#[derive(Debug, Subcommand)]
pub(crate) enum VendorCmd {
    /// Add (or with --update, change) a vendor.
    Add {
        name: String,
        /// Where its models or data come from (hub organisation URL, contract, …).
        #[arg(long)]
        source: String,
        #[arg(long)]
        licence: String,
        #[arg(long, value_enum, default_value = "not-sent")]
        questionnaire: QuestionnaireArg,
        /// Date of the last vendor review (YYYY-MM-DD or RFC 3339).
        #[arg(long)]
        last_review: Option<String>,
        #[arg(long, default_value = "")]
        notes: String,
        /// Replace the record of an existing vendor.
        #[arg(long)]
        update: bool,
        #[command(flatten)]
        out: JsonFlag,
    },
    List(JsonFlag),
}

#[derive(Debug, Subcommand)]
pub(crate) enum SystemCmd {
    /// Create an AI system with its accountable owner.
    Add {
        name: String,
        #[arg(long)]
        owner: String,
        #[arg(long, default_value = "")]
        description: String,
        #[command(flatten)]
        out: JsonFlag,
    },
    /// Add a member: --model NAME[@V], --dataset NAME[@V] or --endpoint NAME.
    Assign {
        system: String,
        #[arg(long, group = "member")]
        model: Option<String>,
        #[arg(long, group = "member")]
        dataset: Option<String>,
        #[arg(long, group = "member")]
        endpoint: Option<String>,
    },
    /// AI systems with members and the tier of their riskiest part.
    List(JsonFlag),
}

#[derive(Debug, Subcommand)]
pub(crate) enum EndpointCmd {
    /// Register an inference endpoint serving an alias or version of a model.
    Add {
        name: String,
        #[arg(long)]
        model: String,
        /// Alias (production, staging) or version served.
        #[arg(long, default_value = "production")]
        target: String,
        #[arg(long)]
        upstream: String,
        #[arg(long)]
        owner: String,
        #[arg(long)]
        system: Option<String>,
        #[command(flatten)]
        out: JsonFlag,
    },
    List(JsonFlag),
    /// Move the alias an endpoint serves back to the version it served before
    /// (quarantined and unacceptable-risk versions skipped). Gateways follow within a
    /// second. Audited.
    Rollback {
        name: String,
        /// Why (kept in the audit log).
        #[arg(long)]
        reason: Option<String>,
        #[command(flatten)]
        out: JsonFlag,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum EvidenceCmd {
    /// Attach the result of a check to a model (or, with --dataset, a dataset) version.
    Add {
        /// NAME@VERSION
        reference: String,
        /// scan, signature, data-check, drift, attack, probe, explain, privacy, review, approval, other.
        #[arg(long)]
        kind: String,
        /// pass, warn or fail.
        #[arg(long)]
        verdict: String,
        #[arg(long)]
        summary: String,
        /// The full report, a JSON file.
        #[arg(long, value_name = "FILE")]
        report: Option<PathBuf>,
        /// The subject is a dataset version.
        #[arg(long)]
        dataset: bool,
        #[command(flatten)]
        out: JsonFlag,
    },
    /// Evidence attached to MODEL@VERSION (or, with --dataset, a dataset version).
    List {
        reference: String,
        #[arg(long)]
        dataset: bool,
        #[command(flatten)]
        out: JsonFlag,
    },
}

#[derive(Debug, Args)]
pub(crate) struct InventoryArgs {
    /// Only overdue assets; exit 1 when there are any (for a scheduled CI job).
    #[arg(long)]
    pub overdue: bool,
    #[command(flatten)]
    pub out: JsonFlag,
}

#[derive(Debug, Subcommand)]
pub(crate) enum KeyCmd {
    /// Create a key; the key alone is printed on the last line of stdout, once.
    Create {
        /// Principal (user or service) the key belongs to; created if new.
        name: String,
        #[arg(long, value_enum)]
        role: RoleArg,
        /// Endpoint the key may call through the gateway; repeat for several.
        #[arg(long = "endpoint", value_name = "NAME")]
        endpoints: Vec<String>,
        /// Lifetime: 30d, 12h, 90m, 3600s.
        #[arg(long, value_name = "DURATION")]
        expires: Option<String>,
        #[command(flatten)]
        out: JsonFlag,
    },
    /// List keys (never their secrets). Audited.
    List(JsonFlag),
    /// Revoke a key at once.
    Revoke {
        id: String,
        #[command(flatten)]
        out: JsonFlag,
    },
    /// Issue a replacement key; the old one stays valid for the overlap window.
    Rotate {
        id: String,
        /// How long the old key stays valid (default from the configuration, 24h).
        #[arg(long, value_name = "DURATION")]
        overlap: Option<String>,
        #[command(flatten)]
        out: JsonFlag,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum AuditCmd {
    /// Print entries (a privileged read: itself audited).
    Log {
        /// Only entries at or after this time (YYYY-MM-DD or RFC 3339).
        #[arg(long)]
        since: Option<String>,
        /// First sequence number.
        #[arg(long, default_value_t = 0)]
        from: u64,
        #[arg(long, default_value_t = 100)]
        limit: u64,
        #[command(flatten)]
        out: JsonFlag,
    },
    /// Sign a checkpoint of the current log, keep it in the history and print it (for a witness).
    Checkpoint,
    /// Inclusion proof of entry SEQ in the latest signed checkpoint.
    Proof {
        seq: u64,
        #[command(flatten)]
        out: JsonFlag,
    },
    /// Consistency proof between two tree sizes.
    Consistency {
        size1: u64,
        size2: u64,
        #[command(flatten)]
        out: JsonFlag,
    },
    /// Recompute the whole log and check every signed checkpoint; exit 1 when anything is wrong.
    Verify {
        /// Also check against this signed checkpoint (e.g. a copy kept by a witness); repeatable.
        #[arg(long = "checkpoint", value_name = "FILE")]
        checkpoints: Vec<PathBuf>,
        #[command(flatten)]
        out: JsonFlag,
    },
    /// Print the public key that verifies the log's checkpoints.
    PublicKey,
    /// Erase the personal details kept beside an entry (right to erasure); the entry stays and the log still verifies.
    Erase {
        seq: u64,
        /// Why (recorded in the audit log).
        #[arg(long)]
        reason: String,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub(crate) enum NormArg {
    L2,
    Linf,
}

/// How results are reported, gated and recorded: shared by attack, membership,
/// explain and probe.
#[derive(Debug, Args)]
pub(crate) struct ReportArgs {
    /// `table` for people, `json` for tools (the report contract).
    #[arg(long, value_enum, default_value_t = DataFormat::Table)]
    pub format: DataFormat,
    /// Also write the JSON report to this file.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Conditions on the report's numbers, e.g. `success_rate<=0.2,median_l2>=0.5`;
    /// exit 1 when one fails.
    #[arg(long, value_name = "CONDITIONS")]
    pub gate: Option<String>,
    /// Write a JUnit XML file for CI.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Record the result as evidence of this registered model version (audited). With
    /// `--model`, the file must be one of the version's artifacts (by digest).
    #[arg(long, value_name = "NAME@VERSION")]
    pub model_ref: Option<String>,
}

/// Where the classifier is.
#[derive(Debug, Args)]
pub(crate) struct TargetArgs {
    /// An ONNX classifier, run in-process (float input `[N, d]` or `[N, c, h, w]`).
    #[arg(long, value_name = "FILE", conflicts_with = "endpoint")]
    pub model: Option<PathBuf>,
    /// An HTTP prediction endpoint taking `{"instances": [[…], …]}` and answering
    /// `{"predictions": [[p0, p1, …] | label, …]}` (fields set by the options below).
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
    /// A TOML file with the endpoint mapping: `input`, `output`, `batch_size`,
    /// `concurrency`, `timeout_s`, `retries`, `key_env`, `[headers]`. Flags override it.
    #[arg(long, value_name = "FILE")]
    pub endpoint_config: Option<PathBuf>,
    /// Request field that carries the rows [default: instances].
    #[arg(long, value_name = "FIELD")]
    pub endpoint_input: Option<String>,
    /// Response field (or JSON pointer such as `/outputs/0`) with one prediction per
    /// row [default: predictions].
    #[arg(long, value_name = "FIELD")]
    pub endpoint_output: Option<String>,
    /// Rows per request [default: 64].
    #[arg(long, value_name = "N")]
    pub endpoint_batch: Option<usize>,
    /// Requests in flight at once [default: 8].
    #[arg(long, value_name = "N")]
    pub endpoint_concurrency: Option<usize>,
    /// Environment variable holding a key sent as `Authorization: Bearer …`.
    #[arg(long, value_name = "VAR")]
    pub endpoint_key_env: Option<String>,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub(crate) struct AttackCmd {
    #[command(subcommand)]
    pub sub: Option<AttackSub>,
    #[command(flatten)]
    pub run: AttackArgs,
}

#[derive(Debug, Subcommand)]
pub(crate) enum AttackSub {
    /// Membership inference: can an attacker tell training rows from unseen ones by the
    /// model's outputs? Loss and confidence thresholds (Yeom et al. 2018): AUC,
    /// advantage, true positives at 1% false positives.
    Membership(Box<MembershipArgs>),
    /// The attacks Moat ships, with ids.
    List,
}

#[derive(Debug, Args)]
pub(crate) struct AttackArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Samples to attack: `.npy` (float, `[n, d]` or `[n, c, h, w]`) or CSV of numbers.
    #[arg(long, value_name = "FILE")]
    pub samples: Option<PathBuf>,
    /// True classes (`.npy` or CSV, integers); default: the model's own decisions.
    #[arg(long, value_name = "FILE")]
    pub labels: Option<PathBuf>,
    /// hop-skip-jump, boundary, square, simba, noise-uniform, noise-gaussian, feature.
    #[arg(long, value_name = "NAME", default_value = "hop-skip-jump")]
    pub attack: String,
    #[arg(long, value_enum, default_value_t = NormArg::L2)]
    pub norm: NormArg,
    /// Query budget per sample (one query = one row evaluated).
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub max_queries: u64,
    /// Success means misclassified within this distance; robust accuracy is measured at
    /// it. Without it, attacks look for the smallest perturbation.
    #[arg(long, value_name = "E")]
    pub epsilon: Option<f64>,
    #[arg(long, value_name = "S", default_value_t = 0)]
    pub seed: u64,
    /// Targeted attack: reach this class.
    #[arg(long, value_name = "CLASS")]
    pub target_class: Option<usize>,
    /// Lowest value of every input [default: 0].
    #[arg(long, value_name = "V", allow_hyphen_values = true)]
    pub clip_min: Option<f32>,
    /// Highest value of every input [default: 1].
    #[arg(long, value_name = "V", allow_hyphen_values = true)]
    pub clip_max: Option<f32>,
    /// Per-feature bounds from a data profile (`moat data profile`): each numeric
    /// column's min and max, in column order.
    #[arg(long, value_name = "PROFILE", conflicts_with_all = ["clip_min", "clip_max"])]
    pub bounds_profile: Option<PathBuf>,
    /// A column of the profile that is not a model input (the label); repeat.
    #[arg(long, value_name = "COLUMN")]
    pub bounds_ignore: Vec<String>,
    /// Write the adversarial examples (successful samples, in order) as `.npy`.
    #[arg(long, value_name = "FILE")]
    pub save_adv: Option<PathBuf>,
    /// Worker threads [default: all cores].
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    #[command(flatten)]
    pub report: ReportArgs,
}

#[derive(Debug, Args)]
pub(crate) struct MembershipArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Rows the model was trained on.
    #[arg(long, value_name = "FILE")]
    pub train: PathBuf,
    /// Rows it never saw (same distribution).
    #[arg(long, value_name = "FILE")]
    pub holdout: PathBuf,
    #[arg(long, value_name = "FILE", requires = "holdout_labels")]
    pub train_labels: Option<PathBuf>,
    #[arg(long, value_name = "FILE", requires = "train_labels")]
    pub holdout_labels: Option<PathBuf>,
    #[command(flatten)]
    pub report: ReportArgs,
}

#[derive(Debug, Args)]
pub(crate) struct ExplainArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Rows to explain on (`.npy` or CSV; a CSV header names the features).
    #[arg(long, value_name = "FILE")]
    pub data: PathBuf,
    /// Their true classes.
    #[arg(long, value_name = "FILE")]
    pub labels: PathBuf,
    /// Shuffles per feature.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub repeats: usize,
    /// Partial dependence for this many top features.
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub top: usize,
    #[arg(long, value_name = "S", default_value_t = 0)]
    pub seed: u64,
    /// Feature names, comma-separated (default: the CSV header, else f0, f1, …).
    #[arg(long, value_name = "NAMES", value_delimiter = ',')]
    pub feature_names: Option<Vec<String>>,
    /// Write a self-contained HTML page with the plots.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    #[command(flatten)]
    pub report: ReportArgs,
}

#[derive(Debug, Args)]
pub(crate) struct ProbeArgs {
    /// Base URL of an OpenAI-compatible API (`http://host:8000/v1`) or the full
    /// `…/chat/completions` URL.
    #[arg(long, value_name = "URL")]
    pub endpoint: String,
    /// Model name sent in each request.
    #[arg(long, value_name = "NAME")]
    pub model: String,
    /// Environment variable holding the API key (sent as `Authorization: Bearer …`).
    #[arg(long, value_name = "VAR", default_value = "OPENAI_API_KEY")]
    pub api_key_env: String,
    /// Only this category (repeat): prompt-injection, jailbreak, system-prompt-leak,
    /// pii-leak, encoding.
    #[arg(long, value_name = "NAME")]
    pub category: Vec<String>,
    /// The deployment's own system prompt (a file); the canary and a fictitious
    /// customer record are added to it.
    #[arg(long, value_name = "FILE")]
    pub system_prompt: Option<PathBuf>,
    /// Seeds the planted secrets (marker, canary, record).
    #[arg(long, value_name = "S", default_value_t = 0)]
    pub seed: u64,
    /// Requests in flight at once.
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub concurrency: usize,
    /// Seconds to wait for one answer.
    #[arg(long, value_name = "S", default_value_t = 120)]
    pub timeout: u64,
    /// Tokens per answer.
    #[arg(long, value_name = "N", default_value_t = 400)]
    pub max_tokens: u32,
    /// List the probes and exit.
    #[arg(long)]
    pub list: bool,
    #[command(flatten)]
    pub report: ReportArgs,
}
