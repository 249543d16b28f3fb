//! `gavel report`'s arguments: make the board report, verify one, or
//! schedule it.

use std::path::PathBuf;

use chrono::NaiveDate;
use clap::{Args, Subcommand};

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct ReportArgs {
    #[command(subcommand)]
    pub command: Option<ReportCommand>,
    /// The first day (YYYY-MM-DD); the report starts on its week's Monday.
    #[arg(long, required = true)]
    pub from: Option<NaiveDate>,
    /// The last day (YYYY-MM-DD); the report ends on its week's Sunday.
    #[arg(long, required = true)]
    pub to: Option<NaiveDate>,
    /// Only this team's figures.
    #[arg(long)]
    pub team: Option<String>,
    /// Write the report here: .html, .pdf or .md (the extension decides).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Print the report's figures and its signed note as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Check a report offline: its signature under the log's key, and every
    /// visible figure drawn again from the signed data. Exit 1 when it does
    /// not hold.
    Verify {
        file: PathBuf,
        /// The log's public key, as `gavel trail key` prints it.
        #[arg(long)]
        key: String,
        #[arg(long)]
        json: bool,
    },
    /// Send the report to Gavel users every week, month or quarter: the
    /// notifier makes it at 06:00 UTC on the period's first day, covering
    /// the period before, and emails it (in the trail).
    Schedule {
        #[arg(long, value_parser = ["week", "month", "quarter"])]
        every: String,
        /// Users' emails, comma-separated (reports go only to users).
        #[arg(long, value_delimiter = ',', required = true)]
        to: Vec<String>,
        /// Only this team's figures.
        #[arg(long)]
        team: Option<String>,
        #[arg(long, default_value = "pdf", value_parser = ["pdf", "html", "md"])]
        format: String,
        #[arg(long)]
        json: bool,
    },
    /// Every schedule: when each is next sent, and to whom.
    Schedules {
        #[arg(long)]
        json: bool,
    },
    /// Stop a schedule (in the trail).
    Unschedule { schedule_id: String },
}
