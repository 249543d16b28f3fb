//! An audit's record replayed from the trail: who recorded it, of what,
//! with which figures, from which source, and why its auditor counts as
//! independent.

use serde::Deserialize;

use crate::domain::replay::{Event, Problem, Replay, details};

/// An audit as its `audit_recorded` event pins it: who recorded it, of
/// what, with which figures and from which source.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditReplay {
    recorded: Option<Recorded>,
    /// Who confirmed its auditor's independence, when one did.
    confirmed_by: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
struct Recorded {
    #[serde(skip)]
    recorded_by: String,
    agent_id: String,
    agent_version: String,
    disparate_impact_ratio: f64,
    #[serde(default)]
    run_id: Option<String>,
    /// SHA-256 of the source's JSON, or `none`; older events lack it.
    #[serde(default)]
    source_sha256: Option<String>,
    /// Why its auditor counted as independent when recorded (an auditor's
    /// own account), if it did.
    #[serde(default)]
    independence: Option<String>,
}

impl Replay for AuditReplay {
    fn apply(&mut self, event: &Event<'_>) -> Result<(), Problem> {
        match event.action {
            "audit_recorded" if self.recorded.is_none() => {
                let mut recorded = details::<Recorded>(event)?;
                recorded.recorded_by = event.actor.to_owned();
                self.recorded = Some(recorded);
                Ok(())
            }
            "audit_independence_confirmed"
                if self.recorded.is_some() && self.confirmed_by.is_none() =>
            {
                self.confirmed_by = Some(event.actor.to_owned());
                Ok(())
            }
            other => Err(format!(
                "event {} has an action replay does not expect for an audit: {other}",
                event.seq
            )),
        }
    }
}

impl AuditReplay {
    /// Where a stored audit is not what its event says.
    pub fn differs(&self, stored: &crate::domain::BiasAudit) -> Option<String> {
        let Some(recorded) = &self.recorded else {
            return Some("no audit_recorded event".into());
        };
        let stored_by = stored.recorded_by.as_deref().unwrap_or("nobody");
        if !stored_by.eq_ignore_ascii_case(&recorded.recorded_by) {
            return Some(format!(
                "recorded_by {stored_by} stored, {} replayed",
                recorded.recorded_by
            ));
        }
        if stored.agent_id != recorded.agent_id || stored.agent_version != recorded.agent_version {
            return Some(format!(
                "agent {} {} stored, {} {} replayed",
                stored.agent_id, stored.agent_version, recorded.agent_id, recorded.agent_version
            ));
        }
        if (stored.stats.disparate_impact_ratio - recorded.disparate_impact_ratio).abs() > 1e-9 {
            return Some(format!(
                "disparate-impact ratio {} stored, {} replayed",
                stored.stats.disparate_impact_ratio, recorded.disparate_impact_ratio
            ));
        }
        if stored.run_id != recorded.run_id {
            return Some(format!(
                "run {:?} stored, {:?} replayed",
                stored.run_id, recorded.run_id
            ));
        }
        if let Some(pinned) = &recorded.source_sha256
            && *pinned != audit_source_sha256(stored.source.as_ref())
        {
            return Some("its source differs from the one the trail pinned".into());
        }
        let replayed = match (&recorded.independence, &self.confirmed_by) {
            (Some(basis), _) => Some((basis.as_str(), recorded.recorded_by.as_str())),
            (None, Some(by)) => Some(("confirmed", by.as_str())),
            (None, None) => None,
        };
        let stored_independence = stored
            .independence
            .as_ref()
            .map(|independence| (independence.basis(), independence.by()));
        let same = match (stored_independence, replayed) {
            (None, None) => true,
            (Some((a, by_a)), Some((b, by_b))) => a == b && by_a.eq_ignore_ascii_case(by_b),
            _ => false,
        };
        if !same {
            return Some(format!(
                "its auditor's independence {} stored, {} replayed",
                stored_independence.map_or("none".into(), |(basis, by)| format!("{basis} by {by}")),
                replayed.map_or("none".into(), |(basis, by)| format!("{basis} by {by}"))
            ));
        }
        None
    }
}

/// What the trail pins of an audit's source: SHA-256 of its JSON, or
/// `none` for an audit computed by Gavel or recorded with counts.
pub fn audit_source_sha256(source: Option<&crate::domain::bias::AuditSource>) -> String {
    match source.and_then(|source| serde_json::to_string(source).ok()) {
        Some(json) => crate::domain::digest::sha256_hex(json),
        None => "none".into(),
    }
}
