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
}
