//! Replaying an exception from the trail: its request carries the whole
//! record, each decision is applied by the same rules that took it (never
//! the person who asked, each step someone new, the chain's role in
//! order), and the stored row must equal the result.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::{Exception, Refusal};
use crate::domain::replay::{Event, Problem, Replay, details};
use crate::domain::role::Role;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExceptionReplay {
    replayed: Option<Exception>,
}

/// What `exception_approved` and `exception_rejected` record.
#[derive(Deserialize)]
struct Decided {
    role: Role,
    at: DateTime<Utc>,
    #[serde(default)]
    comment: Option<String>,
}

/// What `exception_revoked` records.
#[derive(Deserialize)]
struct Revoked {
    at: DateTime<Utc>,
    reason: String,
}

fn refused(event: &Event<'_>, refusal: Refusal) -> Problem {
    let (Refusal::Forbidden(why) | Refusal::Conflict(why) | Refusal::Invalid(why)) = refusal;
    format!(
        "event {} ({}) breaks a rule: {why}",
        event.seq, event.action
    )
}

impl Replay for ExceptionReplay {
    fn apply(&mut self, event: &Event<'_>) -> Result<(), Problem> {
        match (event.action, self.replayed.as_mut()) {
            ("exception_requested", None) => {
                let requested: Exception = details(event)?;
                if !requested.requested_by.eq_ignore_ascii_case(event.actor) {
                    return Err(format!(
                        "event {} records a request by {} made by {}",
                        event.seq, requested.requested_by, event.actor
                    ));
                }
                if !requested.approvals.is_empty() || requested.version != 1 {
                    return Err(format!(
                        "event {} records an exception already decided when asked for",
                        event.seq
                    ));
                }
                self.replayed = Some(requested);
                Ok(())
            }
            ("exception_approved" | "exception_rejected", Some(exception)) => {
                let decided: Decided = details(event)?;
                exception
                    .decide(
                        event.actor,
                        &[decided.role],
                        event.action == "exception_approved",
                        decided.comment.as_deref(),
                        decided.at,
                    )
                    .map_err(|refusal| refused(event, refusal))
            }
            ("exception_revoked", Some(exception)) => {
                let revoked: Revoked = details(event)?;
                // Whether the revoker was a compliance officer is not in
                // the trail; that they could revoke it then is.
                exception
                    .revoke(
                        event.actor,
                        &[Role::ComplianceOfficer],
                        &revoked.reason,
                        revoked.at,
                    )
                    .map_err(|refusal| refused(event, refusal))
            }
            (other, _) => Err(format!(
                "event {} ({other}) does not follow from the exception's earlier events",
                event.seq
            )),
        }
    }
}

impl ExceptionReplay {
    pub fn differs(&self, stored: &Exception) -> Option<String> {
        let Some(replayed) = &self.replayed else {
            return Some("no exception_requested event".into());
        };
        if replayed.status != stored.status {
            return Some(format!(
                "status {} stored, the trail leaves it {}",
                stored.status, replayed.status
            ));
        }
        if replayed.until != stored.until {
            return Some(format!(
                "ends {} stored, the trail recorded {}",
                stored.until, replayed.until
            ));
        }
        if replayed != stored {
            return Some("the stored exception differs from the one its trail leaves".into());
        }
        None
    }
}
