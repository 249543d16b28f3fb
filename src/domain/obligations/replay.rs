//! Replaying intakes and confirmations from the trail: each event carries
//! the whole record it wrote, so the stored row must equal the last one.

use serde::Deserialize;

use super::{Confirmation, Intake, IntakeStatus};
use crate::domain::replay::{Event, Problem, Replay, details};
use crate::domain::review::Answers;

/// An intake as its events leave it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IntakeReplay {
    last: Option<IntakeWritten>,
    /// A proposed change's answers and who proposed it.
    pending: Option<(Answers, String)>,
}

#[derive(Deserialize)]
struct ChangeProposed {
    answers: Answers,
}

/// What `intake_saved` and `intake_submitted` record.
#[derive(Debug, Clone, PartialEq, Deserialize)]
struct IntakeWritten {
    template_id: String,
    status: IntakeStatus,
    answers: Answers,
    #[serde(skip)]
    by: String,
    #[serde(skip)]
    version: Option<i64>,
}

impl Replay for IntakeReplay {
    fn apply(&mut self, event: &Event<'_>) -> Result<(), Problem> {
        match event.action {
            "intake_submitted" => {
                let mut written: IntakeWritten = details(event)?;
                if written.status != IntakeStatus::Submitted {
                    return Err(format!(
                        "event {} ({}) records the status {:?}",
                        event.seq, event.action, written.status
                    ));
                }
                written.by = event.actor.to_lowercase();
                written.version = event.after_version;
                self.last = Some(written);
                self.pending = None;
                Ok(())
            }
            "intake_change_proposed" if self.last.is_some() => {
                let proposed: ChangeProposed = details(event)?;
                self.pending = Some((proposed.answers, event.actor.to_lowercase()));
                Ok(())
            }
            "intake_change_approved" | "intake_change_rejected" => {
                let (Some(last), Some((answers, by))) = (self.last.as_mut(), self.pending.take())
                else {
                    return Err(format!(
                        "event {} decides an intake change nobody proposed",
                        event.seq
                    ));
                };
                if event.actor.eq_ignore_ascii_case(&by) {
                    return Err(format!(
                        "event {} is a change decided by the person who proposed it",
                        event.seq
                    ));
                }
                if event.action == "intake_change_approved" {
                    last.answers = answers;
                    last.by = by;
                    last.version = event.after_version;
                }
                Ok(())
            }
            other => Err(format!(
                "event {} has an action replay does not know for an intake: {other}",
                event.seq
            )),
        }
    }
}

impl IntakeReplay {
    pub fn differs(&self, stored: &Intake) -> Option<String> {
        let Some(last) = &self.last else {
            return Some("no intake_submitted event".into());
        };
        if last.status != stored.status {
            return Some(format!(
                "status {:?} stored, {:?} replayed",
                stored.status, last.status
            ));
        }
        if last.answers != stored.answers || last.template_id != stored.template_id {
            return Some("the stored answers differ from the ones the trail recorded".into());
        }
        if last.by != stored.filled_by.to_lowercase() {
            return Some(format!(
                "filled by {} stored, {} replayed",
                stored.filled_by, last.by
            ));
        }
        if last.version != Some(stored.version) {
            return Some(format!(
                "version {} stored, {:?} replayed",
                stored.version, last.version
            ));
        }
        let stored_pending = stored
            .pending
            .as_ref()
            .map(|pending| (&pending.answers, pending.proposed_by.to_lowercase()));
        let replayed_pending = self
            .pending
            .as_ref()
            .map(|(answers, by)| (answers, by.clone()));
        if stored_pending != replayed_pending {
            return Some("the pending change differs from the one the trail recorded".into());
        }
        None
    }
}

/// A confirmation as its one event recorded it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConfirmationReplay {
    recorded: Option<(Confirmation, String)>,
}

impl Replay for ConfirmationReplay {
    fn apply(&mut self, event: &Event<'_>) -> Result<(), Problem> {
        match event.action {
            "obligation_confirmed" if self.recorded.is_none() => {
                self.recorded = Some((details(event)?, event.actor.to_lowercase()));
                Ok(())
            }
            "obligation_confirmed" => Err(format!(
                "event {} confirms a confirmation already recorded",
                event.seq
            )),
            other => Err(format!(
                "event {} has an action replay does not know for a confirmation: {other}",
                event.seq
            )),
        }
    }
}

impl ConfirmationReplay {
    pub fn differs(&self, stored: &Confirmation) -> Option<String> {
        let Some((recorded, actor)) = &self.recorded else {
            return Some("no obligation_confirmed event".into());
        };
        if recorded != stored {
            return Some("the stored confirmation differs from the one the trail recorded".into());
        }
        if *actor != stored.confirmed_by.to_lowercase() {
            return Some(format!(
                "confirmed by {} stored, the event's actor is {actor}",
                stored.confirmed_by
            ));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::replay::replay;

    fn intake() -> Intake {
        Intake {
            agent_id: "agt-1".into(),
            agent_version: "1.0.0".into(),
            template_id: "intake_v1".into(),
            status: IntakeStatus::Submitted,
            answers: [("public".to_owned(), serde_json::Value::Bool(true))]
                .into_iter()
                .collect(),
            filled_by: "r@example.com".into(),
            updated_at: chrono::Utc::now(),
            submitted_at: Some(chrono::Utc::now()),
            version: 3,
            pending: None,
        }
    }

    fn event<'a>(action: &'a str, details: &'a str, version: i64) -> Event<'a> {
        Event {
            seq: 1,
            actor: "R@example.com",
            action,
            after_version: Some(version),
            details,
        }
    }

    #[test]
    fn an_intake_changed_in_the_store_is_caught() {
        let details =
            r#"{"template_id":"intake_v1","status":"submitted","answers":{"public":true}}"#;
        let replayed: IntakeReplay = replay([event("intake_submitted", details, 3)]).unwrap();
        assert_eq!(replayed.differs(&intake()), None);
        let mut edited = intake();
        edited
            .answers
            .insert("public".into(), serde_json::Value::Bool(false));
        assert!(replayed.differs(&edited).unwrap().contains("answers"));
        let mut forged = intake();
        forged.filled_by = "someone@example.com".into();
        assert!(replayed.differs(&forged).unwrap().contains("filled by"));
        let draft = r#"{"template_id":"intake_v1","status":"draft","answers":{}}"#;
        assert!(replay::<IntakeReplay>([event("intake_submitted", draft, 1)]).is_err());
    }

    #[test]
    fn a_change_replays_only_when_someone_else_decided_it() {
        let submitted =
            r#"{"template_id":"intake_v1","status":"submitted","answers":{"public":true}}"#;
        let proposed = r#"{"answers":{"public":false},"stops":["x.y"]}"#;
        let at = |seq: i64,
                  actor: &'static str,
                  action: &'static str,
                  details: &'static str,
                  version: i64| Event {
            seq,
            actor,
            action,
            after_version: Some(version),
            details,
        };
        let approved: IntakeReplay = replay([
            at(1, "r@example.com", "intake_submitted", submitted, 3),
            at(2, "r@example.com", "intake_change_proposed", proposed, 3),
            at(3, "steward@example.com", "intake_change_approved", "{}", 4),
        ])
        .unwrap();
        let mut stored = intake();
        stored
            .answers
            .insert("public".into(), serde_json::Value::Bool(false));
        stored.version = 4;
        assert_eq!(approved.differs(&stored), None);
        assert!(
            approved.differs(&intake()).is_some(),
            "the old answers are no longer the record"
        );
        let self_decided = replay::<IntakeReplay>([
            at(1, "r@example.com", "intake_submitted", submitted, 3),
            at(2, "r@example.com", "intake_change_proposed", proposed, 3),
            at(3, "R@example.com", "intake_change_approved", "{}", 4),
        ]);
        assert!(self_decided.unwrap_err().contains("proposed it"));
        let waiting: IntakeReplay = replay([
            at(1, "r@example.com", "intake_submitted", submitted, 3),
            at(2, "r@example.com", "intake_change_proposed", proposed, 3),
        ])
        .unwrap();
        assert!(
            waiting.differs(&intake()).unwrap().contains("pending"),
            "a pending change removed from the store is caught"
        );
    }

    #[test]
    fn a_confirmation_is_recorded_once_and_whole() {
        let confirmation = Confirmation {
            confirmation_id: "cnf-1".into(),
            obligation_id: "x.y".into(),
            agent_id: "agt-1".into(),
            link: Some("https://example.org".into()),
            file_sha256: None,
            comment: "in place".into(),
            valid_until: "2027-01-01T00:00:00Z".parse().unwrap(),
            role: crate::domain::Role::ComplianceOfficer,
            confirmed_by: "c@example.com".into(),
            confirmed_at: "2026-01-01T00:00:00Z".parse().unwrap(),
        };
        let details = serde_json::to_string(&confirmation).unwrap();
        let recorded = Event {
            seq: 7,
            actor: "c@example.com",
            action: "obligation_confirmed",
            after_version: None,
            details: &details,
        };
        let replayed: ConfirmationReplay = replay([recorded]).unwrap();
        assert_eq!(replayed.differs(&confirmation), None);
        let mut extended = confirmation.clone();
        extended.valid_until = "2030-01-01T00:00:00Z".parse().unwrap();
        assert!(
            replayed.differs(&extended).is_some(),
            "a date moved in the store"
        );
        assert!(replay::<ConfirmationReplay>([recorded, recorded]).is_err());
    }
}
