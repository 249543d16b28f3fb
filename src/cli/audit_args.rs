//! The flags of `gavel audit import` and `gavel audit run`.

use std::path::PathBuf;

use chrono::NaiveDate;
use clap::Args;

/// `gavel audit import`.
#[derive(Debug, Args)]
pub struct AuditImportArgs {
    /// One row per category: attribute columns (sex, race_ethnicity; fill
    /// several for an intersection), total, positive or rate, and optional
    /// impact_ratio (checked) and excluded (why) columns (`-` for stdin).
    pub file: PathBuf,
    #[arg(long)]
    pub agent: String,
    #[arg(long)]
    pub agent_version: String,
    /// Who computed the figures, as they sign the audit.
    #[arg(long)]
    pub auditor: String,
    /// The auditor claims independence of the agent's makers and users. It
    /// counts only when you record from an independent auditor's account,
    /// or once a compliance officer confirms it (`audit confirm-independence`).
    #[arg(long)]
    pub independent: bool,
    /// historical (the tool's real use) or test data.
    #[arg(long, value_parser = parse_enum::<crate::domain::bias::AuditData>)]
    pub data: crate::domain::bias::AuditData,
    /// selection (share selected) or scoring (share above the median score).
    #[arg(long, default_value = "selection", value_parser = parse_enum::<crate::domain::bias::RateMode>)]
    pub mode: crate::domain::bias::RateMode,
    /// Where the audit's summary is published.
    #[arg(long)]
    pub reference: Option<String>,
    /// When the audit was done: a date (2026-03-01) or an RFC 3339 time
    /// (default: now).
    #[arg(long, value_parser = parse_when)]
    pub tested_at: Option<chrono::DateTime<chrono::Utc>>,
    #[arg(long)]
    pub json: bool,
}

/// A date (midnight UTC) or an RFC 3339 time.
pub fn parse_when(text: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(date.and_time(chrono::NaiveTime::MIN).and_utc());
    }
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|at| at.to_utc())
        .map_err(|_| format!("{text:?} is not a date (2026-03-01) or an RFC 3339 time"))
}

/// `gavel audit run`: a new run, or `--resume RUN_ID` with every setting
/// from the stored run.
#[derive(Debug, Args)]
pub struct AuditRunArgs {
    /// Continue a run: only cases without an outcome are asked; every
    /// setting comes from the run (the key is read again from its variable).
    #[arg(long, value_name = "RUN_ID", conflicts_with_all = ["agent", "agent_version", "endpoint", "cases"])]
    pub resume: Option<String>,
    #[arg(long, required_unless_present = "resume")]
    pub agent: Option<String>,
    #[arg(long, required_unless_present = "resume")]
    pub agent_version: Option<String>,
    /// OpenAI-compatible: the base URL including /v1 (Gavel posts to
    /// {endpoint}/chat/completions). JSON agent: the URL posted to.
    #[arg(long, required_unless_present = "resume")]
    pub endpoint: Option<String>,
    /// JSON Lines (or .csv) of cases.
    #[arg(long, required_unless_present = "resume")]
    pub cases: Option<PathBuf>,
    /// openai (chat completions) or json (a body template and an answer pointer).
    #[arg(long, default_value = "openai", value_parser = ["openai", "json"])]
    pub protocol: String,
    /// The model name sent to an OpenAI-compatible endpoint.
    #[arg(long, default_value = "default")]
    pub model: String,
    #[arg(long)]
    pub system_prompt: Option<String>,
    #[arg(long)]
    pub temperature: Option<f64>,
    /// The user message for cases given as fields: {{name}} is the field.
    #[arg(long)]
    pub prompt_template: Option<String>,
    /// JSON agent: a file with the request body, {{prompt}} / {{field}} in its strings.
    #[arg(long)]
    pub body_template: Option<PathBuf>,
    /// JSON agent: where the answer is in the response (RFC 6901, e.g. /output/text).
    #[arg(long)]
    pub answer_pointer: Option<String>,
    /// The environment variable holding the API key (sent as a bearer
    /// token; never logged or stored).
    #[arg(long, value_name = "NAME")]
    pub api_key_env: Option<String>,
    /// How answers become outcomes (default: examples/audits/classifier.toml).
    #[arg(long)]
    pub classifier: Option<PathBuf>,
    /// The protected attribute to audit (default: the only one every case
    /// carries); give it again for several (`--attribute sex --attribute
    /// race_ethnicity`): a table each and one for their intersection.
    #[arg(long)]
    pub attribute: Vec<String>,
    /// Requests in flight at most.
    #[arg(long, default_value_t = 8)]
    pub concurrency: u32,
    /// Seconds to wait for each answer.
    #[arg(long, default_value_t = 60.0)]
    pub timeout: f64,
    /// Attempts per case on connection errors, timeouts, 429 and 5xx.
    #[arg(long, default_value_t = 5)]
    pub attempts: u32,
    /// Requests per second at most.
    #[arg(long)]
    pub rps: Option<f64>,
    /// selection (the classifier's outcome) or scoring (the answer's score
    /// against the median of all the run's scores; the classifier must
    /// read a number).
    #[arg(long, default_value = "selection", value_parser = parse_enum::<crate::domain::bias::RateMode>)]
    pub mode: crate::domain::bias::RateMode,
    #[arg(long)]
    pub json: bool,
}

/// A value of an enum from its name, with the names in any error.
pub fn parse_enum<T: std::str::FromStr>(text: &str) -> Result<T, String>
where
    T::Err: std::fmt::Display,
{
    text.parse().map_err(|err: T::Err| err.to_string())
}
