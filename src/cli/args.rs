//! What the command line accepts: clap definitions, nothing else.

use std::path::PathBuf;

use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand};

use crate::backend::QueueSort;
use crate::domain::{RiskTier, Role};

pub use super::audit_args::{AuditImportArgs, AuditRunArgs, parse_enum, parse_when};

#[derive(Debug, Parser)]
#[command(name = "gavel", version, about = "A review console for enterprise AI governance", long_about = None)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    /// Without a command, the full-screen console opens.
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Args)]
pub struct Global {
    /// The embedded store to use (default: gavel.db in the user data directory).
    #[arg(long, global = true, env = "GAVEL_DB", value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// A PostgreSQL store instead of the embedded file:
    /// postgres://USER@HOST:PORT/DB (password from the URL, PGPASSWORD or
    /// ~/.pgpass; TLS with ?sslmode=require).
    #[arg(long, global = true, env = "GAVEL_DATABASE_URL", value_name = "URL")]
    pub database_url: Option<String>,
    /// Who you are: the email of a user in the store.
    #[arg(long, global = true, env = "GAVEL_USER", value_name = "EMAIL")]
    pub user: Option<String>,
    /// The config file (default: config.toml in the user config directory).
    #[arg(long, global = true, env = "GAVEL_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The console's theme: default, light, high-contrast, colorblind, or your own.
    #[arg(long, global = true, value_name = "NAME")]
    pub theme: Option<String>,
    /// A `gavel serve` to use instead of the embedded store (token from
    /// GAVEL_TOKEN or the config's backend.token_file).
    #[arg(long, global = true, env = "GAVEL_URL", value_name = "URL")]
    pub url: Option<String>,
    /// Browse only: every deciding action of the console is disabled.
    #[arg(long, global = true)]
    pub read_only: bool,
    /// Where offline caches of servers live (default: the user cache directory).
    #[arg(long, global = true, env = "GAVEL_CACHE_DIR", value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Fill a fresh store with a realistic generated organisation.
    Seed(SeedArgs),
    /// Open the console on a fresh store filled with a generated organisation.
    Demo(DemoArgs),
    /// Your pending-approvals queue.
    Queue(QueueArgs),
    /// One workflow with its steps.
    Show {
        workflow_id: String,
        #[arg(long)]
        json: bool,
    },
    /// Approve the current step of a workflow.
    Approve {
        workflow_id: String,
        #[arg(long, short)]
        comment: Option<String>,
        /// Decide for someone who delegated their steps to you.
        #[arg(long, value_name = "EMAIL")]
        on_behalf_of: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Reject the current step of a workflow (a comment is required).
    Reject {
        workflow_id: String,
        #[arg(long, short)]
        comment: String,
        /// Decide for someone who delegated their steps to you.
        #[arg(long, value_name = "EMAIL")]
        on_behalf_of: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Check or request a deployment against the policies.
    #[command(subcommand)]
    Deploy(DeployCommand),
    /// Bias audits and the audit trail.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Manage the people who use Gavel.
    #[command(subcommand)]
    Users(UsersCommand),
    /// Sign in to a server with your organisation's identity provider.
    #[command(subcommand)]
    Auth(AuthCommand),
    /// Email and webhook notifications: deliver, see and retry them.
    #[command(subcommand)]
    Notify(NotifyCommand),
    /// Evidence packs: everything about an agent an auditor asks for, in one
    /// zip that proves itself; and checking one offline.
    #[command(subcommand)]
    Evidence(EvidenceCommand),
    /// Let someone holding your role decide your steps while you are away (`list`, `end`).
    Delegate(DelegateArgs),
    /// Ethics reviews.
    #[command(subcommand)]
    Review(ReviewCommand),
    /// Which adopted obligations apply to an agent version, met or missing (`confirm`).
    Obligations(super::obligation_args::ObligationsArgs),
    /// Time-bound exceptions to one policy for one agent version.
    #[command(subcommand)]
    Exception(super::exception_args::ExceptionCommand),
    /// Incidents with agent versions: report, triage, suspend, lift, close.
    #[command(subcommand)]
    Incident(super::incident_args::IncidentCommand),
    /// Signed approvals deployment systems verify: show, key, verify.
    #[command(subcommand)]
    Attest(super::attest_args::AttestCommand),
    /// Approvals due for recertification: `due`.
    #[command(subcommand)]
    Recertify(super::exception_args::RecertifyCommand),
    /// The questions that classify an agent version: `fill` and `show`.
    #[command(subcommand)]
    Intake(super::obligation_args::IntakeCommand),
    /// Approve or reject the external tools agents may call.
    #[command(subcommand)]
    Tools(ToolsCommand),
    /// The trail's signed Merkle log: its key and checkpoints.
    #[command(subcommand)]
    Trail(TrailCommand),
    /// Create a store, or check a store file's integrity.
    #[command(subcommand)]
    Store(StoreCommand),
    /// The organisation's policy sets: check one and see what it would change.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Withdraw the deployment request a workflow belongs to (its requester,
    /// or a compliance officer with a reason).
    Withdraw {
        workflow_id: String,
        #[arg(long, short)]
        reason: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Serve the HTTP API over the store, for a team.
    Serve(ServeArgs),
    /// Sync the offline cache with the server (--url): send what was decided
    /// offline, fetch what changed. Exit 5 when changes need your attention.
    Sync(SyncArgs),
    /// The board report over a period, signed (HTML, PDF or Markdown); `verify` checks one.
    Report(super::report_args::ReportArgs),
    /// The blocked-deployments figures (the console's Blocked tab).
    Dashboard {
        #[arg(long)]
        json: bool,
    },
    /// The directory's SCIM provisioning (`gavel serve` with `[scim]`).
    #[command(subcommand)]
    Scim(ScimCommand),
    /// Print the shell completion script (bash, zsh, fish, powershell, elvish).
    Completions { shell: clap_complete::Shell },
    /// Write the manual pages (one per command) into a directory.
    Man {
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum ScimCommand {
    /// Replace the directory's bearer token (the old one stops working) and
    /// print it once, for the identity provider's provisioning settings.
    Token {
        #[arg(long, required = true)]
        rotate: bool,
    },
}

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    #[arg(long, default_value = "127.0.0.1:8787")]
    pub listen: std::net::SocketAddr,
    /// Serve HTTPS with this certificate chain (PEM), reloaded when it
    /// changes; the config's `[server] tls_cert` otherwise.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Ask clients for certificates signed by these CAs (PEM): mutual TLS.
    #[arg(long, value_name = "FILE")]
    pub tls_client_ca: Option<PathBuf>,
    /// How log lines are written to stderr: text, or json (one object per
    /// line, with each request's id, route, user, status and latency).
    #[arg(long, value_enum, default_value = "text", env = "GAVEL_LOG_FORMAT")]
    pub log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum ReviewCommand {
    /// Assign (or, as a compliance officer, reassign) a workflow's ethics
    /// review to a holder of the ethics_reviewer role.
    Assign {
        workflow_id: String,
        #[arg(long, value_name = "EMAIL")]
        to: String,
        #[arg(long)]
        json: bool,
    },
    /// A submitted ethics review as Markdown, for the compliance file.
    Export { review_id: String },
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// List what waits to be sent or needs you, without contacting the server.
    #[arg(long)]
    pub status: bool,
    /// Give up a change the server refused (its id from --status).
    #[arg(long, value_name = "ID")]
    pub discard: Option<i64>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct SeedArgs {
    /// How many workflows to generate.
    #[arg(long, default_value_t = 10_000)]
    pub workflows: u64,
    /// The random seed: the same seed and anchor give the same store.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// The date the history ends on (YYYY-MM-DD; default: today).
    #[arg(long, value_name = "DATE")]
    pub anchor: Option<NaiveDate>,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    #[arg(long, default_value_t = 5_000)]
    pub workflows: u64,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}

#[derive(Debug, Args)]
pub struct QueueArgs {
    /// Only items waiting on this role.
    #[arg(long, value_parser = parse_enum::<Role>)]
    pub role: Option<Role>,
    /// Every in-progress workflow, each marked with why it is not yours to
    /// decide (your request, a step you decided, a role you do not hold).
    #[arg(long)]
    pub all: bool,
    #[arg(long, value_parser = parse_enum::<RiskTier>)]
    pub risk: Option<RiskTier>,
    #[arg(long)]
    pub team: Option<String>,
    /// Text in the agent's name or team.
    #[arg(long)]
    pub search: Option<String>,
    /// Sort by `age` (longest waiting first) or `risk`.
    #[arg(long, default_value = "age", value_parser = parse_sort)]
    pub sort: QueueSort,
    #[arg(long, default_value_t = 50)]
    pub limit: u32,
    /// Continue after this cursor (printed at the end of the previous page).
    #[arg(long)]
    pub cursor: Option<String>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum DeployCommand {
    /// Evaluate a manifest: exit 0 allowed, 3 approval required, 4 blocked, 2 bad input.
    Check {
        /// The manifest file (`-` for standard input).
        manifest: PathBuf,
        #[arg(long)]
        json: bool,
        /// text, json, github (annotations and a step summary), gitlab
        /// (code quality) or junit.
        #[arg(long, value_enum, default_value = "text", conflicts_with = "json")]
        format: super::ci_formats::CheckFormat,
        /// Write the output to this file instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Record a deployment request and open its approval workflows.
    Request {
        manifest: PathBuf,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// An agent's bias audits, latest first.
    Show {
        agent_id: String,
        #[arg(long)]
        json: bool,
    },
    /// Record a bias audit from a JSON file of group counts.
    Record {
        /// `{"agent_id", "agent_version", "groups": [{"group", "positive", "total"}]}` (`-` for stdin).
        file: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Record an audit computed elsewhere (an external auditor's published
    /// tables) from a CSV of per-category counts: checked, then gated.
    Import(Box<AuditImportArgs>),
    /// Confirm, as a compliance officer, that an imported audit's auditor
    /// is independent, naming the auditor (not for an audit you recorded).
    ConfirmIndependence {
        audit_id: String,
        /// The auditor, as the audit's source names them.
        #[arg(long)]
        auditor: String,
        /// How their independence was established.
        #[arg(long, short = 'c')]
        comment: String,
        #[arg(long)]
        json: bool,
    },
    /// Agents whose required audit is missing, expired or expiring soon.
    Due {
        /// How far ahead to look: 30d, 12w, 24h.
        #[arg(long, default_value = "30d", value_parser = crate::domain::policy::span::parse_age)]
        within: chrono::TimeDelta,
        #[arg(long)]
        json: bool,
    },
    /// Run the agent on a case file, classify each answer, and record the
    /// audit of that agent version with every case's evidence.
    Run(Box<AuditRunArgs>),
    /// Audit runs, newest first.
    Runs {
        /// Only this agent's runs.
        #[arg(long)]
        agent: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// A run's case evidence: what was asked, what came back, how it was read.
    Cases {
        run_id: String,
        /// Only this category of the run's attribute.
        #[arg(long)]
        group: Option<String>,
        /// Only cases of this category of an attribute, `ATTRIBUTE=CATEGORY`
        /// (again for an intersection: `--category sex=Female --category
        /// race_ethnicity=Asian`).
        #[arg(long = "category", value_name = "ATTRIBUTE=CATEGORY", value_parser = parse_category)]
        categories: Vec<(String, String)>,
        /// positive, negative or unknown.
        #[arg(long, value_parser = parse_enum::<crate::backend::CaseOutcomeKind>)]
        outcome: Option<crate::backend::CaseOutcomeKind>,
        /// Cases at most (all when not given).
        #[arg(long)]
        limit: Option<u64>,
        /// JSON Lines, one case per line.
        #[arg(long)]
        json: bool,
    },
    /// Check the audit trail: its hash chain, its Merkle log, and every
    /// entity replayed from its events.
    Verify {
        /// A checkpoint kept earlier: the store's events must still hold
        /// the tree it names (catches truncation and rewrites after it).
        #[arg(long, value_name = "FILE")]
        checkpoint: Option<PathBuf>,
        /// The log's public key to check that checkpoint with (default: the
        /// store's own key file).
        #[arg(long, value_name = "KEY")]
        key: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Create a user and print their API token (shown once).
    Add {
        email: String,
        /// Comma-separated roles: technical_lead, data_steward, ml_engineer, ethics_reviewer, compliance_officer.
        #[arg(long, value_delimiter = ',', value_parser = parse_enum::<Role>)]
        roles: Vec<Role>,
        /// Comma-separated teams; with a role, a user requests their teams' agents.
        #[arg(long, value_delimiter = ',')]
        teams: Vec<String>,
        #[arg(long)]
        name: Option<String>,
        /// A service account (a CI gate): acts with its token only, never
        /// signs in, and holds no roles while the server signs people in
        /// with an identity provider.
        #[arg(long, conflicts_with = "subject")]
        service: bool,
        /// Link the person at once to their identity at the provider: its
        /// `sub` claim for them (see `gavel users link`).
        #[arg(long, value_name = "SUB")]
        subject: Option<String>,
        /// The provider's issuer URL (default: the config's `[auth.oidc] issuer`).
        #[arg(long, value_name = "URL", requires = "subject")]
        issuer: Option<String>,
    },
    /// Join a person's identity at the identity provider (issuer and
    /// subject) to their Gavel user, so what they did with a Gavel token
    /// and what they do signed in is one person's (separation of duties
    /// holds across both). Gavel never joins people by email alone.
    Link {
        email: String,
        /// The provider's `sub` claim for this person.
        #[arg(long, value_name = "SUB")]
        subject: String,
        /// The provider's issuer URL (default: the config's `[auth.oidc] issuer`).
        #[arg(long, value_name = "URL")]
        issuer: Option<String>,
    },
    /// Change a user's name, roles or teams (what is not given stays).
    Update {
        email: String,
        /// The new roles, comma-separated (an empty value removes every role).
        #[arg(long, value_delimiter = ',', value_parser = parse_enum::<Role>, num_args = 0..)]
        roles: Option<Vec<Role>>,
        /// The new teams, comma-separated (an empty value removes every team).
        #[arg(long, value_delimiter = ',', num_args = 0..)]
        teams: Option<Vec<String>>,
        #[arg(long)]
        name: Option<String>,
    },
    /// Remove a user: their token stops working at once; their past
    /// decisions stay in the trail.
    Remove { email: String },
    /// Replace a user's token (the old one stops working) and print it once.
    Token {
        email: String,
        #[arg(long, required = true)]
        rotate: bool,
    },
    /// Every user with their roles and teams.
    List {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum EvidenceCommand {
    /// Write an agent's evidence pack (compliance officers): its requests,
    /// the policy sets that judged them, every workflow step, the ethics
    /// reviews, the bias audits and their evidence, and the trail behind
    /// them, signed under the log's key.
    Export {
        #[arg(long, value_name = "AGENT_ID")]
        agent: String,
        /// Only this version's requests and audits.
        #[arg(long)]
        version: Option<String>,
        /// From this date (or RFC 3339 time) on.
        #[arg(long, value_name = "DATE")]
        from: Option<String>,
        /// Before the end of this date (or before this RFC 3339 time).
        #[arg(long, value_name = "DATE")]
        to: Option<String>,
        #[arg(long, value_name = "FILE.zip")]
        out: std::path::PathBuf,
    },
    /// Check a pack offline: every file's hash, the signatures, that the
    /// checkpoint covers every event, and the figures recomputed. Exits 1
    /// naming each file and what is wrong.
    Verify {
        pack: std::path::PathBuf,
        /// The log's public key, as `gavel trail key` prints it.
        #[arg(long, conflicts_with = "trust_pack_key")]
        key: Option<String>,
        /// Check against the key the pack carries (says the key itself was
        /// not checked).
        #[arg(long)]
        trust_pack_key: bool,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct DelegateArgs {
    #[command(subcommand)]
    pub command: Option<DelegateCommand>,
    /// The delegate (who must already hold the role).
    #[arg(long, value_name = "EMAIL")]
    pub to: Option<String>,
    /// When it starts: a date (its start, UTC) or an RFC 3339 time; default now.
    #[arg(long, value_name = "DATE")]
    pub from: Option<String>,
    /// When it ends: a date (through its end, UTC) or an RFC 3339 time.
    #[arg(long, value_name = "DATE")]
    pub until: Option<String>,
    /// The one role it covers (default: every role you both hold now; roles
    /// either of you gains later are not covered).
    #[arg(long)]
    pub role: Option<String>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum DelegateCommand {
    /// The delegations you gave and received.
    List {
        /// Include those that have ended.
        #[arg(long)]
        all: bool,
        #[arg(long)]
        json: bool,
    },
    /// End a delegation you gave now (by its id), or all of them.
    End {
        /// The delegation (`dlg-...`); none: every one you gave.
        delegation_id: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum NotifyCommand {
    /// Deliver the store's notifications as `[notify]` in the config says,
    /// until stopped (`gavel serve` does this itself).
    Run {
        /// One pass, then exit (for cron or a systemd timer).
        #[arg(long)]
        once: bool,
    },
    /// The outbox: what waits, what was sent, what is dead-lettered.
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Send a dead-lettered (or waiting) notification again now.
    Retry { delivery_id: i64 },
    /// Send a test email through the configured SMTP server.
    Test {
        #[arg(long, value_name = "EMAIL")]
        to: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuthCommand {
    /// Sign in to the server (--url) with its identity provider: shows a
    /// code to enter at the provider's page (the device flow), or opens
    /// the provider in a browser when it has no device flow. The sign-in
    /// is kept in the OS keyring (else a file only you can read) and
    /// renews itself.
    Login {
        /// Sign in in a browser on this machine (authorization code with
        /// PKCE and a loopback redirect) even if the provider offers the
        /// device flow.
        #[arg(long)]
        browser: bool,
    },
    /// Who you are on the server (--url), your roles as it sees them, and
    /// when your sign-in ends.
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Sign out of the server (--url): the provider revokes the sign-in
    /// where it can, and the kept copy is deleted.
    Logout,
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Check a policy set file and simulate it against every agent on
    /// record: the policies it adds, removes and changes, and the agents
    /// that would become blocked or need approval or an audit. Writes
    /// nothing. Exit 2 when the file has errors (each is listed).
    Plan {
        /// The set, as TOML (`-` for standard input).
        file: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Record a set as a new, immutable version, proposed (policy admins).
    /// Another policy admin approves it before it applies.
    Propose {
        file: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Approve a proposed version: it becomes the active one at once (a
    /// policy admin who did not propose it).
    Approve {
        version: i64,
        #[arg(long, short)]
        comment: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Reject a proposed version, saying why.
    Reject {
        version: i64,
        #[arg(long, short)]
        comment: String,
        #[arg(long)]
        json: bool,
    },
    /// Every version with its state.
    List {
        #[arg(long)]
        json: bool,
    },
    /// A version's TOML, byte for byte (the active version by default).
    Show {
        version: Option<i64>,
        /// The version's record, text and plan as JSON.
        #[arg(long)]
        json: bool,
    },
    /// How two versions' policies differ.
    Diff {
        from: i64,
        to: i64,
        #[arg(long)]
        json: bool,
    },
    /// Who proposed, approved and rejected what, and when.
    History,
}

#[derive(Debug, Subcommand)]
pub enum StoreCommand {
    /// Create a new, empty store (with its log key) at --db.
    Init,
    /// Copy the store at --db, consistent at one instant, into a new file,
    /// while a server runs; checked with quick_check. Its log key is copied
    /// beside it (FILE.log-key, mode 0600).
    Backup {
        #[arg(long, value_name = "FILE")]
        to: PathBuf,
    },
    /// Restore a backup as the store at PATH (and its log key). Refused
    /// while a gavel serve holds PATH, and over an existing store without
    /// --force.
    Restore {
        #[arg(long, value_name = "FILE")]
        from: PathBuf,
        #[arg(long, value_name = "PATH")]
        to: PathBuf,
        #[arg(long)]
        force: bool,
    },
    /// Check that a file is a healthy Gavel store (a regular SQLite file
    /// holding Gavel's tables, and `PRAGMA quick_check`), read-only.
    Check { path: PathBuf },
    /// Copy a whole store into another: a file (PATH.db) to PostgreSQL
    /// (postgres://...), or back. Ends by checking both sides agree.
    Copy {
        /// The store to copy: a file, or a postgres:// URL.
        #[arg(long, value_name = "PATH|URL")]
        from: String,
        /// Where to: a new or empty store (a file is created if missing).
        #[arg(long, value_name = "PATH|URL")]
        to: String,
        /// Delete what the target holds first (its trail too).
        #[arg(long)]
        replace: bool,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum TrailCommand {
    /// Create the log's signing key for an existing store (beside it, mode
    /// 0600, or where `[log] key_file` says).
    Init,
    /// Print the log's public key (the signed-note verifier key) to pin.
    Key,
    /// Sign (on the store) or fetch (with --url) the latest checkpoint and
    /// print it: keep it to check the store against later.
    Checkpoint,
    /// Forget the key and checkpoint this client witnessed of a server, so
    /// the next contact pins them again: only after finding out why the
    /// witness warned.
    Trust {
        #[arg(long, required = true)]
        reset: bool,
        url: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ToolsCommand {
    /// Approve an external tool (data stewards and compliance officers).
    Approve {
        name: String,
        #[arg(long, short)]
        comment: String,
    },
    /// Reject an external tool; agents calling it stay blocked.
    Reject {
        name: String,
        #[arg(long, short)]
        comment: String,
    },
    /// Every tool with a decision on record.
    List {
        #[arg(long)]
        json: bool,
    },
}

/// `ATTRIBUTE=CATEGORY`, split at the first `=`.
pub fn parse_category(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((attribute, category)) if !attribute.trim().is_empty() => {
            Ok((attribute.trim().to_owned(), category.to_owned()))
        }
        _ => Err(format!(
            "{text:?} is not ATTRIBUTE=CATEGORY (e.g. race_ethnicity=Asian)"
        )),
    }
}

pub fn parse_sort(text: &str) -> Result<QueueSort, String> {
    match text {
        "age" => Ok(QueueSort::Age),
        "risk" => Ok(QueueSort::Risk),
        other => Err(format!("unknown sort {other:?} (expected age or risk)")),
    }
}
