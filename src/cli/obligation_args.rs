//! The flags of `gavel obligations` and `gavel intake`.

use clap::{Args, Subcommand};

#[derive(Debug, Args)]
pub struct ObligationsArgs {
    #[command(subcommand)]
    pub command: Option<ObligationsCommand>,
    /// The agent whose obligations to judge.
    #[arg(long)]
    pub agent: Option<String>,
    /// Its version (default: its current one).
    #[arg(long)]
    pub version: Option<String>,
    /// Only this framework's obligations (its id: `eu-ai-act`).
    #[arg(long)]
    pub framework: Option<String>,
    /// Only obligations in effect and not met (without --agent: only agents
    /// with one).
    #[arg(long)]
    pub unmet: bool,
    /// Without --agent: agents judged per page (at most 50).
    #[arg(long, default_value_t = 50)]
    pub limit: u32,
    /// Without --agent: continue after this agent id (printed at the end of
    /// the previous page).
    #[arg(long, value_name = "AGENT_ID")]
    pub after: Option<String>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum ObligationsCommand {
    /// Record that what an obligation names is in place outside Gavel (by
    /// the role its confirmation evidence names).
    Confirm {
        /// The obligation's id (`nyc-ll144.notice`).
        obligation: String,
        #[arg(long)]
        agent: String,
        /// Where it can be seen (https).
        #[arg(long, conflicts_with = "file", required_unless_present = "file")]
        link: Option<String>,
        /// A document that shows it: its SHA-256 is recorded.
        #[arg(long)]
        file: Option<std::path::PathBuf>,
        /// Until when it holds (YYYY-MM-DD, at most three years ahead).
        #[arg(long, value_name = "DATE")]
        until: chrono::NaiveDate,
        /// What is in place, in a sentence.
        #[arg(long, short)]
        comment: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum IntakeCommand {
    /// Save (or with --submit, submit) an agent version's intake from a
    /// file of answers (TOML or JSON: question id = answer).
    Fill {
        agent: String,
        /// The agent version (default: its current one).
        #[arg(long)]
        version: Option<String>,
        #[arg(long, value_name = "FILE")]
        answers: std::path::PathBuf,
        /// Submit: every required answer must be given.
        #[arg(long)]
        submit: bool,
        #[arg(long)]
        json: bool,
    },
    /// Approve a pending intake change (answers that would lower what the
    /// agent is held to): a role of the classification_change chain.
    Approve {
        agent: String,
        #[arg(long)]
        version: Option<String>,
        #[arg(long, short)]
        comment: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Reject a pending intake change, saying why.
    Reject {
        agent: String,
        #[arg(long)]
        version: Option<String>,
        #[arg(long, short)]
        comment: String,
        #[arg(long)]
        json: bool,
    },
    /// An agent version's intake: its questions and answers.
    Show {
        agent: String,
        #[arg(long)]
        version: Option<String>,
        #[arg(long)]
        json: bool,
    },
}
