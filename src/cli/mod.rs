//! The command line: clap definitions and what each command does.

mod report;
mod sync;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use clap::{Args, Parser, Subcommand};

use crate::backend::cache::CachedBackend;
use crate::backend::http::{HttpBackend, Token};
use crate::backend::local::{LocalBackend, LocalStore};
use crate::backend::{
    BackendError, Decision, GovernanceBackend, QueueCursor, QueueFilter, QueueQuery, QueueSort,
};
use crate::config::Config;
use crate::domain::bias::AuditSubmission;
use crate::domain::deployment::{MAX_MANIFEST_BYTES, Manifest};
use crate::domain::{DeploymentStatus, RiskTier, Role, Verdict};
use crate::seed::{self, SeedOptions};
use crate::tui::app::AppConfig;
use crate::tui::keymap::{Keymap, KeymapPatch};
use crate::tui::theme::Theme;

/// Exit codes scripts can rely on.
pub mod exit {
    pub const OK: u8 = 0;
    pub const FAILURE: u8 = 1;
    pub const BAD_INPUT: u8 = 2;
    pub const APPROVAL_REQUIRED: u8 = 3;
    pub const BLOCKED: u8 = 4;
    pub const REFUSED: u8 = 5;
}

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
        #[arg(long)]
        json: bool,
    },
    /// Reject the current step of a workflow (a comment is required).
    Reject {
        workflow_id: String,
        #[arg(long, short)]
        comment: String,
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
    /// Ethics reviews.
    #[command(subcommand)]
    Review(ReviewCommand),
    /// Serve the HTTP API over the store, for a team.
    Serve {
        #[arg(long, default_value = "127.0.0.1:8787")]
        listen: std::net::SocketAddr,
    },
    /// Sync the offline cache with the server (--url): send what was decided
    /// offline, fetch what changed. Exit 5 when changes need your attention.
    Sync(SyncArgs),
    /// The blocked-deployments figures (the console's Blocked tab).
    Dashboard {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ReviewCommand {
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
    /// Every in-progress workflow, not only those waiting on your roles.
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
    /// Check the hash chain of the audit trail.
    Verify {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Create or update a user and print their API token (shown once).
    Add {
        email: String,
        /// Comma-separated roles: technical_lead, data_steward, ml_engineer, ethics_reviewer, compliance_officer.
        #[arg(long, value_delimiter = ',', value_parser = parse_enum::<Role>)]
        roles: Vec<Role>,
        #[arg(long)]
        name: Option<String>,
    },
    /// Every user and their roles.
    List {
        #[arg(long)]
        json: bool,
    },
}

fn parse_enum<T: std::str::FromStr>(text: &str) -> Result<T, String>
where
    T::Err: std::fmt::Display,
{
    text.parse().map_err(|err: T::Err| err.to_string())
}

fn parse_sort(text: &str) -> Result<QueueSort, String> {
    match text {
        "age" => Ok(QueueSort::Age),
        "risk" => Ok(QueueSort::Risk),
        other => Err(format!("unknown sort {other:?} (expected age or risk)")),
    }
}

/// Why a command failed, and the exit code that says so.
#[derive(Debug)]
pub enum Failure {
    BadInput(String),
    Refused(String),
    Other(color_eyre::Report),
}

impl Failure {
    pub fn exit_code(&self) -> u8 {
        match self {
            Failure::BadInput(_) => exit::BAD_INPUT,
            Failure::Refused(_) => exit::REFUSED,
            Failure::Other(_) => exit::FAILURE,
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::BadInput(message) => write!(f, "{message}"),
            Failure::Refused(message) => write!(f, "refused: {message}"),
            Failure::Other(report) => write!(f, "{report:#}"),
        }
    }
}

impl From<BackendError> for Failure {
    fn from(err: BackendError) -> Self {
        match err {
            BackendError::Refused(rule) => {
                Failure::Refused(format!("{rule} [rule: {}]", rule.rule()))
            }
            BackendError::Forbidden(_)
            | BackendError::Conflict(_)
            | BackendError::IdempotencyMismatch(_) => Failure::Refused(err.to_string()),
            BackendError::NotFound { .. }
            | BackendError::Invalid(_)
            | BackendError::InvalidReview(_)
            | BackendError::Unauthenticated(_) => Failure::BadInput(err.to_string()),
            BackendError::Storage(_) | BackendError::Unavailable(_) => {
                Failure::Other(color_eyre::eyre::eyre!(err))
            }
        }
    }
}

type Outcome = Result<u8, Failure>;

fn load_config(global: &Global) -> Result<Config, Failure> {
    Config::load(global.config.as_deref()).map_err(|err| Failure::BadInput(err.to_string()))
}

fn open_store(global: &Global, config: &Config) -> Result<Arc<LocalStore>, Failure> {
    let path = match global.db.clone().or(config.db.clone()) {
        Some(path) => path,
        None => crate::paths::default_db().ok_or_else(|| {
            Failure::BadInput("no home directory to keep the store in: pass --db PATH".into())
        })?,
    };
    LocalStore::open(&path).map_err(Failure::from)
}

/// The configured backend: a server when a URL is given, else the store.
fn backend(global: &Global) -> Result<Arc<dyn GovernanceBackend>, Failure> {
    backend_with(global, &load_config(global)?)
}

fn backend_with(global: &Global, config: &Config) -> Result<Arc<dyn GovernanceBackend>, Failure> {
    if let Some((remote, _)) = remote(global, config)? {
        return Ok(Arc::new(remote));
    }
    let user = global.user.clone().or(config.user.clone());
    Ok(Arc::new(LocalBackend::new(
        open_store(global, config)?,
        user,
    )))
}

/// The server to use, when one is configured, with its token's fingerprint.
fn remote(global: &Global, config: &Config) -> Result<Option<(HttpBackend, String)>, Failure> {
    if let Some(url) = global.url.clone().or(config.backend.url.clone()) {
        let token = match std::env::var("GAVEL_TOKEN")
            .ok()
            .filter(|token| !token.trim().is_empty())
        {
            Some(token) => Token::new(token),
            None => {
                let path = config
                    .backend
                    .token_file
                    .clone()
                    .or_else(|| crate::paths::config_dir().map(|dir| dir.join("token")))
                    .ok_or_else(|| {
                        Failure::BadInput("no token: set GAVEL_TOKEN or backend.token_file".into())
                    })?;
                Token::from_file(&path)?
            }
        };
        let fingerprint = token.fingerprint();
        return Ok(Some((HttpBackend::new(&url, token)?, fingerprint)));
    }
    Ok(None)
}

/// The server's offline cache (for the console and `gavel sync`).
async fn cached(
    global: &Global,
    config: &Config,
    remote: HttpBackend,
    fingerprint: String,
    full_check: bool,
) -> Result<CachedBackend, Failure> {
    let dir = global
        .cache_dir
        .clone()
        .or(config.backend.cache_dir.clone())
        .or_else(crate::paths::cache_dir)
        .ok_or_else(|| {
            Failure::BadInput(
                "no cache directory for the offline cache: pass --cache-dir DIR or set backend.offline_cache = false".into(),
            )
        })?;
    Ok(CachedBackend::open(remote, fingerprint, &dir, full_check).await?)
}

/// The console's backend: with a server, its offline cache unless turned off.
async fn console_backend(
    global: &Global,
    config: &Config,
) -> Result<(Arc<dyn GovernanceBackend>, Option<String>), Failure> {
    match remote(global, config)? {
        Some((remote, fingerprint)) if config.backend.offline_cache.unwrap_or(true) => {
            let backend = cached(global, config, remote, fingerprint, false).await?;
            let notice = backend.notice().map(str::to_owned);
            Ok((Arc::new(backend), notice))
        }
        Some((remote, _)) => Ok((Arc::new(remote), None)),
        None => Ok((backend_with(global, config)?, None)),
    }
}

/// Commands that manage the store itself refuse a server URL.
fn local_only(global: &Global, what: &str) -> Result<(), Failure> {
    if global.url.is_some() {
        return Err(Failure::BadInput(format!(
            "{what} works on a local store (--db), not over --url: run it where the server's store is"
        )));
    }
    Ok(())
}

/// Theme, keymap and SLA for the console, from flags, config and NO_COLOR.
fn console_config(
    global: &Global,
    config: &Config,
    backend: &dyn GovernanceBackend,
    notice: Option<String>,
) -> Result<AppConfig, Failure> {
    let location = backend.location();
    // With a sync loop the status line follows it; otherwise say where
    // changes go.
    let sync_state = if global.url.is_some() || config.backend.url.is_some() {
        "online, no offline cache"
    } else {
        "saved locally"
    }
    .to_owned();
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty());
    let theme = if no_color {
        Theme::monochrome()
    } else {
        let name = global
            .theme
            .clone()
            .or(config.theme.clone())
            .unwrap_or_else(|| crate::config::DEFAULT_THEME.to_owned());
        let user_themes = crate::paths::config_dir().map(|dir| dir.join("themes"));
        Theme::load(&name, user_themes.as_deref())
            .map_err(|err| Failure::BadInput(err.to_string()))?
    };
    let mut keymap = Keymap::default_keymap();
    let patch: KeymapPatch = serde_json::to_value(&config.keymap)
        .and_then(serde_json::from_value)
        .map_err(|err| Failure::BadInput(format!("config keymap: {err}")))?;
    keymap
        .patch(&patch)
        .map_err(|err| Failure::BadInput(format!("config {err}")))?;
    Ok(AppConfig {
        theme,
        keymap,
        sla_days: config.sla_days(),
        read_only: global.read_only || config.read_only.unwrap_or(false),
        location,
        sync_state,
        notice,
    })
}

async fn console(
    backend: Arc<dyn GovernanceBackend>,
    notice: Option<String>,
    global: &Global,
    config: &Config,
) -> Outcome {
    // Say what is wrong (config, theme, who you are) before the terminal
    // is taken over.
    let config = console_config(global, config, backend.as_ref(), notice)?;
    backend.me().await?;
    crate::tui::run(backend, config)
        .await
        .map_err(Failure::Other)?;
    Ok(exit::OK)
}

/// Reads a file (or stdin for `-`) of at most `limit` bytes as UTF-8.
fn read_input(path: &Path, limit: usize) -> Result<String, Failure> {
    let mut bytes = Vec::new();
    let shown = path.display();
    let result = if path == Path::new("-") {
        std::io::stdin()
            .take(limit as u64 + 1)
            .read_to_end(&mut bytes)
    } else {
        std::fs::File::open(path)
            .and_then(|file| file.take(limit as u64 + 1).read_to_end(&mut bytes))
    };
    result.map_err(|err| Failure::BadInput(format!("cannot read {shown}: {err}")))?;
    if bytes.len() > limit {
        return Err(Failure::BadInput(format!(
            "{shown} is larger than {limit} bytes"
        )));
    }
    String::from_utf8(bytes)
        .map_err(|err| Failure::BadInput(format!("{shown} is not UTF-8 text: {err}")))
}

fn read_manifest(path: &Path) -> Result<Manifest, Failure> {
    let text = read_input(path, MAX_MANIFEST_BYTES)?;
    Manifest::from_json(&text)
        .map_err(|err| Failure::BadInput(format!("{}: {err}", path.display())))
}

fn print_json<T: serde::Serialize>(value: &T) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(value).map_err(|err| Failure::Other(err.into()))?;
    println!("{text}");
    Ok(())
}

/// Runs a parsed command line; returns the exit code.
pub fn run(cli: Cli) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the runtime: {err}");
            return ExitCode::from(exit::FAILURE);
        }
    };
    match runtime.block_on(dispatch(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(failure) => {
            eprintln!(
                "error: {}",
                crate::text::sanitize_with(&failure.to_string(), true)
            );
            ExitCode::from(failure.exit_code())
        }
    }
}

async fn dispatch(cli: Cli) -> Outcome {
    let global = &cli.global;
    let Some(command) = cli.command else {
        let config = load_config(global)?;
        let (backend, notice) = console_backend(global, &config).await?;
        return console(backend, notice, global, &config).await;
    };
    match command {
        Command::Seed(args) => seed_command(global, &args),
        Command::Demo(args) => demo(global, &args).await,
        Command::Queue(args) => queue(backend(global)?.as_ref(), &args).await,
        Command::Show { workflow_id, json } => {
            show(backend(global)?.as_ref(), &workflow_id, json).await
        }
        Command::Approve {
            workflow_id,
            comment,
            json,
        } => {
            decide(
                backend(global)?.as_ref(),
                &workflow_id,
                Verdict::Approve,
                comment,
                json,
            )
            .await
        }
        Command::Reject {
            workflow_id,
            comment,
            json,
        } => {
            decide(
                backend(global)?.as_ref(),
                &workflow_id,
                Verdict::Reject,
                Some(comment),
                json,
            )
            .await
        }
        Command::Deploy(DeployCommand::Check { manifest, json }) => {
            let manifest = read_manifest(&manifest)?;
            let evaluation = backend(global)?.check_deployment(&manifest).await?;
            if json {
                print_json(&evaluation)?;
            } else {
                print!("{}", report::evaluation(&manifest, &evaluation));
            }
            Ok(match evaluation.status {
                DeploymentStatus::Blocked => exit::BLOCKED,
                DeploymentStatus::PendingApproval => exit::APPROVAL_REQUIRED,
                _ => exit::OK,
            })
        }
        Command::Deploy(DeployCommand::Request { manifest, json }) => {
            let manifest = read_manifest(&manifest)?;
            let request = backend(global)?.request_deployment(&manifest).await?;
            if json {
                print_json(&request)?;
            } else {
                print!("{}", report::deployment(&request));
            }
            Ok(exit::OK)
        }
        Command::Audit(AuditCommand::Show { agent_id, json }) => {
            let backend = backend(global)?;
            let agent = backend.agent(&agent_id).await?;
            let audits = backend.audits(&agent_id).await?;
            if json {
                print_json(&audits)?;
            } else {
                print!("{}", report::audits(&agent, &audits));
            }
            Ok(exit::OK)
        }
        Command::Audit(AuditCommand::Record { file, json }) => {
            let text = read_input(&file, MAX_MANIFEST_BYTES)?;
            let submission: AuditSubmission = serde_json::from_str(&text)
                .map_err(|err| Failure::BadInput(format!("{}: {err}", file.display())))?;
            let audit = backend(global)?.record_audit(&submission).await?;
            if json {
                print_json(&audit)?;
            } else {
                print!("{}", report::audit(&audit));
            }
            Ok(exit::OK)
        }
        Command::Audit(AuditCommand::Verify { json }) => {
            let report = backend(global)?.verify_trail().await?;
            if json {
                print_json(&report)?;
            } else if let Some(broken) = &report.broken {
                println!("audit trail BROKEN: {broken}");
                println!("{} events before it verified.", report.events);
            } else {
                println!(
                    "audit trail intact: {} events, head {}",
                    report.events, report.head
                );
            }
            Ok(if report.broken.is_some() {
                exit::FAILURE
            } else {
                exit::OK
            })
        }
        Command::Users(UsersCommand::Add { email, roles, name }) => {
            local_only(global, "users add")?;
            let store = open_store(global, &load_config(global)?)?;
            let display =
                name.unwrap_or_else(|| email.split('@').next().unwrap_or(&email).to_owned());
            let token = store.add_user(&email, &display, &roles)?;
            eprintln!(
                "user {email} saved with roles: {}",
                report::role_list(&roles)
            );
            eprintln!("API token (shown once; only its hash is stored):");
            println!("{token}");
            Ok(exit::OK)
        }
        Command::Review(ReviewCommand::Export { review_id }) => {
            let backend = backend(global)?;
            let review = backend.review(&review_id).await?;
            if review.status != crate::domain::ReviewStatus::Submitted {
                return Err(Failure::Refused(format!(
                    "review {review_id} is {}: only submitted reviews are exported",
                    review.status
                )));
            }
            let template = backend.review_template(&review.template_id).await?;
            let agent_name = backend
                .agent(&review.agent_id)
                .await
                .map_or(review.agent_id.clone(), |agent| agent.name);
            print!(
                "{}",
                crate::domain::review::to_markdown(&review, &template, &agent_name)
            );
            Ok(exit::OK)
        }
        Command::Serve { listen } => {
            local_only(global, "serve")?;
            let _ = tracing_subscriber::fmt()
                .with_writer(std::io::stderr)
                .with_env_filter(
                    tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
                        tracing_subscriber::EnvFilter::new("info,tower_http=info")
                    }),
                )
                .try_init();
            crate::server::serve(open_store(global, &load_config(global)?)?, listen)
                .await
                .map_err(Failure::Other)?;
            Ok(exit::OK)
        }
        Command::Sync(args) => {
            let config = load_config(global)?;
            let Some((remote, fingerprint)) = remote(global, &config)? else {
                return Err(Failure::BadInput(
                    "gavel sync works with a server: pass --url (or set backend.url)".into(),
                ));
            };
            let backend = cached(global, &config, remote, fingerprint, !args.status).await?;
            sync::run(&backend, &args).await
        }
        Command::Dashboard { json } => {
            let dashboard = backend(global)?.dashboard().await?;
            if json {
                print_json(&dashboard)?;
            } else {
                print!("{}", report::dashboard(&dashboard));
            }
            Ok(exit::OK)
        }
        Command::Users(UsersCommand::List { json }) => {
            local_only(global, "users list")?;
            let users = open_store(global, &load_config(global)?)?.users()?;
            if json {
                print_json(&users)?;
            } else {
                for user in users {
                    println!(
                        "{}  {}",
                        report::safe(&user.email),
                        report::role_list(&user.roles)
                    );
                }
            }
            Ok(exit::OK)
        }
    }
}

fn today() -> DateTime<Utc> {
    Utc::now()
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .map_or_else(Utc::now, |naive| naive.and_utc())
}

fn seed_command(global: &Global, args: &SeedArgs) -> Outcome {
    local_only(global, "seed")?;
    let Some(path) = &global.db else {
        return Err(Failure::BadInput(
            "seed needs --db PATH: it fills a store of your choosing".into(),
        ));
    };
    let anchor = args
        .anchor
        .and_then(|date| date.and_hms_opt(0, 0, 0))
        .map_or_else(today, |naive| naive.and_utc());
    let options = SeedOptions {
        workflows: args.workflows,
        seed: args.seed,
        anchor,
    };
    let target = args.workflows.max(1);
    let mut progress = |done: u64| {
        eprint!(
            "\rseeding {}: {done}/{target} workflows ({}%)",
            path.display(),
            done * 100 / target
        );
    };
    let report = seed::seed_file(path, &options, &mut progress)?;
    eprintln!();
    let size = std::fs::metadata(path).map(|meta| meta.len()).unwrap_or(0);
    println!(
        "seeded {}: {} workflows ({} in progress), {} deployments, {} agents, {} users, {} audits, {} reviews, {} trail events in {:.1} s ({:.0} workflows/s), {:.1} MB",
        path.display(),
        report.workflows,
        report.in_progress,
        report.deployments,
        report.agents,
        report.users,
        report.audits,
        report.reviews,
        report.trail_events,
        report.seconds,
        report.workflows as f64 / report.seconds.max(1e-9),
        size as f64 / 1e6,
    );
    Ok(exit::OK)
}

async fn demo(global: &Global, args: &DemoArgs) -> Outcome {
    let dir = std::env::temp_dir().join(format!("gavel-demo-{}", std::process::id()));
    let path = dir.join("demo.db");
    let options = SeedOptions {
        workflows: args.workflows,
        seed: args.seed,
        anchor: today(),
    };
    seed::seed_file(&path, &options, &mut |_| {})?;
    let store = LocalStore::open(&path)?;
    let backend: Arc<dyn GovernanceBackend> =
        Arc::new(LocalBackend::new(store, Some(seed::DEMO_USER.to_owned())));
    let code = console(backend, None, global, &load_config(global)?).await?;
    println!("The demo store is {}; open it again with:", path.display());
    println!("  gavel --db {} --user {}", path.display(), seed::DEMO_USER);
    Ok(code)
}

async fn queue(backend: &dyn GovernanceBackend, args: &QueueArgs) -> Outcome {
    let me = backend.me().await?;
    let roles = match (args.all, args.role) {
        (true, _) => None,
        (false, Some(role)) => Some(vec![role]),
        (false, None) => Some(me.roles.clone()),
    };
    let filter = QueueFilter {
        roles,
        risk: args.risk,
        team: args.team.clone(),
        search: args.search.clone(),
        ..QueueFilter::default()
    };
    let cursor = args
        .cursor
        .as_deref()
        .map(QueueCursor::decode)
        .transpose()
        .map_err(Failure::BadInput)?;
    let query = QueueQuery {
        cursor,
        ..QueueQuery::first(filter.clone(), args.sort, args.limit)
    };
    let page = backend.queue(&query).await?;
    if args.json {
        print_json(&page.items)?;
        return Ok(exit::OK);
    }
    let total = backend.queue_count(&filter).await?;
    print!("{}", report::queue(&me, &page, total, Utc::now()));
    if page.more_after
        && let Some(next) = page.last_cursor(args.sort)
    {
        println!("more: gavel queue --cursor {}", next.encode());
    }
    Ok(exit::OK)
}

async fn show(backend: &dyn GovernanceBackend, workflow_id: &str, json: bool) -> Outcome {
    let workflow = backend.workflow(workflow_id).await?;
    if json {
        print_json(&workflow)?;
        return Ok(exit::OK);
    }
    let agent = backend.agent(&workflow.agent_id).await.ok();
    let policy = backend
        .policies()
        .await?
        .into_iter()
        .find(|policy| policy.policy_id == workflow.triggered_by_policy);
    let trail = backend.trail("workflow", workflow_id).await?;
    let review = backend.review_for_workflow(workflow_id).await?;
    print!(
        "{}",
        report::workflow(
            &workflow,
            agent.as_ref(),
            policy.as_ref(),
            review.as_ref(),
            &trail
        )
    );
    Ok(exit::OK)
}

async fn decide(
    backend: &dyn GovernanceBackend,
    workflow_id: &str,
    verdict: Verdict,
    comment: Option<String>,
    json: bool,
) -> Outcome {
    let workflow = backend.workflow(workflow_id).await?;
    let Some(step) = workflow.current_step() else {
        return Err(Failure::Refused(format!(
            "workflow {workflow_id} is already {}: nothing to decide",
            workflow.status
        )));
    };
    let decision = Decision {
        workflow_id: workflow_id.to_owned(),
        step_id: step.step_id,
        verdict,
        comment,
        expected_version: workflow.version,
        idempotency_key: Decision::new_key(),
    };
    let decided = backend.decide(&decision).await?;
    if json {
        print_json(&decided)?;
    } else {
        println!("{}", report::decided(&decided, step.step_id, verdict));
    }
    Ok(exit::OK)
}
