//! The flags of `gavel exception` and `gavel recertify`: what governs an
//! agent after its approval.

use clap::Subcommand;

use crate::domain::exception::ExceptionState;

#[derive(Debug, Subcommand)]
pub enum ExceptionCommand {
    /// Ask for a time-bound exception to one policy for one agent version;
    /// the active policy set's [exceptions] chain approves it.
    Request {
        #[arg(long)]
        agent: String,
        #[arg(long)]
        version: String,
        /// The policy to set aside (its policy_id).
        #[arg(long)]
        policy: String,
        /// When the policy applies again: a date (through its end, UTC) or
        /// an RFC 3339 time; at most the set's max_days ahead.
        #[arg(long, value_name = "DATE")]
        until: String,
        /// Why the policy cannot be met yet.
        #[arg(long)]
        reason: String,
        /// The ticket that tracks the fix (https).
        #[arg(long, value_name = "URL")]
        ticket: Option<String>,
        /// What stands in for the policy meanwhile.
        #[arg(long)]
        controls: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Exceptions, newest first.
    List {
        /// Only this agent's.
        #[arg(long)]
        agent: Option<String>,
        /// Only those in this state: pending, active, lapsed, rejected,
        /// revoked.
        #[arg(long)]
        state: Option<ExceptionState>,
        /// Only those whose next step your roles approve.
        #[arg(long)]
        mine: bool,
        #[arg(long)]
        json: bool,
    },
    /// One exception with its chain and approvals.
    Show {
        exception_id: String,
        #[arg(long)]
        json: bool,
    },
    /// Approve an exception's next step (its role; not the person who
    /// asked, nor one who approved an earlier step).
    Approve {
        exception_id: String,
        #[arg(long, short)]
        comment: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Reject an exception's next step, saying why.
    Reject {
        exception_id: String,
        #[arg(long, short)]
        comment: String,
        #[arg(long)]
        json: bool,
    },
    /// End a pending or active exception now (the person who asked, or a
    /// compliance officer), saying why.
    Revoke {
        exception_id: String,
        #[arg(long)]
        reason: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum RecertifyCommand {
    /// Agents whose approval is due for recertification, most overdue
    /// first, with when each became the record and when it is due.
    Due {
        /// Also those due within this span (30d, 12w); none: due now.
        #[arg(long, value_name = "SPAN")]
        within: Option<String>,
        #[arg(long)]
        json: bool,
    },
}
