//! The flags of `gavel incident`: reporting an incident with an agent
//! version and handling it to its close.

use clap::Subcommand;

use crate::domain::incident::IncidentFilter;

#[derive(Debug, Subcommand)]
pub enum IncidentCommand {
    /// Report an incident with an agent version (anyone signed in); its
    /// severity, one of the active policy set's, sets the report's
    /// deadline and may suspend the version at once.
    Report {
        #[arg(long)]
        agent: String,
        /// The version concerned; none: the agent's current record.
        #[arg(long)]
        version: Option<String>,
        /// One of the policy set's severities (by default minor, serious,
        /// death, widespread).
        #[arg(long)]
        severity: String,
        /// What happened, in a few sentences.
        #[arg(long)]
        summary: String,
        /// When the organisation became aware (a date or an RFC 3339
        /// time; none: now): deadlines count from here.
        #[arg(long, value_name = "TIME")]
        became_aware_at: Option<String>,
        /// When it happened, if known.
        #[arg(long, value_name = "TIME")]
        occurred_at: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Incidents, newest first.
    List {
        /// Only this agent's.
        #[arg(long)]
        agent: Option<String>,
        /// Only open, suspended, overdue or closed ones.
        #[arg(long)]
        state: Option<IncidentFilter>,
        /// Only those whose suspension's lifting waits for your roles.
        #[arg(long)]
        mine: bool,
        #[arg(long)]
        json: bool,
    },
    /// One incident: deadline, triage, report, suspension, liftings,
    /// closure.
    Show {
        incident_id: String,
        #[arg(long)]
        json: bool,
    },
    /// Confirm or change its severity (a compliance officer); a severity
    /// that suspends suspends the version.
    Triage {
        incident_id: String,
        #[arg(long)]
        severity: String,
        #[arg(long, short)]
        comment: String,
        #[arg(long)]
        json: bool,
    },
    /// Suspend the incident's agent version (a compliance officer): its
    /// deployment check answers blocked until people lift it.
    Suspend {
        incident_id: String,
        #[arg(long)]
        reason: String,
        #[arg(long)]
        json: bool,
    },
    /// Record the report made to the provider or the authority (a
    /// compliance officer): its reference and the day it was made.
    ConfirmReport {
        incident_id: String,
        #[arg(long)]
        reference: String,
        /// When the report was made (a date or an RFC 3339 time; none: now).
        #[arg(long, value_name = "TIME")]
        reported_on: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Ask the policy set's lift chain to lift the suspension.
    Lift {
        incident_id: String,
        #[arg(long)]
        reason: String,
        #[arg(long)]
        json: bool,
    },
    /// Sign the lifting's next step (its role; not the person who asked,
    /// nor one who signed before).
    ApproveLift {
        incident_id: String,
        #[arg(long, short)]
        comment: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Refuse the lifting, saying why: the version stays suspended.
    RejectLift {
        incident_id: String,
        #[arg(long, short)]
        comment: String,
        #[arg(long)]
        json: bool,
    },
    /// Close it with its cause and the corrective action (a compliance
    /// officer; after triage, its report and any lifting).
    Close {
        incident_id: String,
        #[arg(long)]
        cause: String,
        #[arg(long)]
        corrective_action: String,
        #[arg(long)]
        json: bool,
    },
}
