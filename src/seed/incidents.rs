//! The demo organisation's life after approval: incidents with three agents
//! in use, reported and handled through the store's own rules (so the
//! trail replays them). One version is suspended and its lifting waits for
//! a compliance officer (the demo user may sign it); one report is
//! overdue; one incident is closed with its cause and corrective action.

use std::sync::Arc;

use chrono::TimeDelta;

use crate::backend::GovernanceBackend;
use crate::backend::local::{LocalBackend, LocalStore};
use crate::domain::Role;
use crate::domain::incident::{IncidentAction, IncidentChange, NewIncident};

/// Reports and handles the demo's incidents. A compliance officer other
/// than the demo user triages and closes; the demo user is left the last
/// step of a lifting.
pub async fn report_demo_incidents(store: &Arc<LocalStore>) -> crate::backend::Result<()> {
    let as_user = |email: &str| LocalBackend::new(Arc::clone(store), Some(email.to_owned()));
    let demo = as_user(super::DEMO_USER);
    // People holding `role`, besides the demo user.
    let holders = |users: Vec<crate::backend::User>| -> Vec<String> {
        users
            .into_iter()
            .filter(|user| !user.service && user.email != super::DEMO_USER)
            .map(|user| user.email)
            .collect()
    };
    let officers = holders(demo.users(Some(Role::ComplianceOfficer)).await?);
    let leads = holders(demo.users(Some(Role::TechnicalLead)).await?);
    // Three agents in use, each with an owner who is a person on record.
    let agents: Vec<(String, String)> = store.read(|conn| {
        Ok(conn
            .prepare_cached(
                "SELECT a.agent_id, a.owner FROM agents a JOIN users u ON lower(u.email) = lower(a.owner)
                 WHERE a.standing_since IS NOT NULL AND u.removed_at IS NULL
                 ORDER BY a.agent_id LIMIT 3",
            )?
            .query_map(crate::db::params![], |row| Ok((row.get(0)?, row.get(1)?)))?
            .collect::<crate::db::Result<_>>()?)
    })?;
    let [suspended, overdue, closed] = agents.as_slice() else {
        return Ok(());
    };
    // The lifting is signed by someone besides the owner who asks for it.
    let lead = leads
        .iter()
        .find(|lead| !lead.eq_ignore_ascii_case(&suspended.1));
    let (Some(officer), Some(lead)) = (officers.first(), lead) else {
        return Ok(());
    };
    let now = store.now();
    let change = |incident_id: &str, action| IncidentChange {
        incident_id: incident_id.to_owned(),
        action,
        version: None,
    };
    let officer = as_user(officer);

    // A leak: the owner reports it, which suspends the version; triaged;
    // the owner asks to lift it, a technical lead signs, a compliance
    // officer's step waits.
    let leak = as_user(&suspended.1)
        .report_incident(&NewIncident {
            agent_id: suspended.0.clone(),
            agent_version: None,
            severity: "widespread".into(),
            summary: "answered customers with other customers' order histories for two hours"
                .into(),
            became_aware_at: Some(now - TimeDelta::hours(20)),
            occurred_at: Some(now - TimeDelta::hours(23)),
        })
        .await?;
    officer
        .change_incident(&change(
            &leak.incident_id,
            IncidentAction::Triage {
                severity: "widespread".into(),
                comment: "confirmed from the support logs: 1,140 conversations".into(),
            },
        ))
        .await?;
    as_user(&suspended.1)
        .change_incident(&change(
            &leak.incident_id,
            IncidentAction::RequestLift {
                reason: "session isolation fixed and load-tested; affected customers told".into(),
            },
        ))
        .await?;
    as_user(lead)
        .change_incident(&change(
            &leak.incident_id,
            IncidentAction::DecideLift {
                approve: true,
                comment: Some("the fix and its test reviewed".into()),
            },
        ))
        .await?;

    // A serious incident whose report to the provider is overdue.
    as_user(&overdue.1)
        .report_incident(&NewIncident {
            agent_id: overdue.0.clone(),
            agent_version: None,
            severity: "serious".into(),
            summary: "scores for applicants over 55 fell by a third after the model update".into(),
            became_aware_at: Some(now - TimeDelta::days(17)),
            occurred_at: Some(now - TimeDelta::days(19)),
        })
        .await?;

    // One handled to its close.
    let handled = as_user(&closed.1)
        .report_incident(&NewIncident {
            agent_id: closed.0.clone(),
            agent_version: None,
            severity: "serious".into(),
            summary: "a translation agent rendered dosage instructions wrongly in one language"
                .into(),
            became_aware_at: Some(now - TimeDelta::days(40)),
            occurred_at: None,
        })
        .await?;
    for action in [
        IncidentAction::Triage {
            severity: "serious".into(),
            comment: "confirmed; no harm reported".into(),
        },
        IncidentAction::ConfirmReport {
            reference: "PRV-2026-311".into(),
            reported_on: Some(now - TimeDelta::days(33)),
        },
        IncidentAction::Close {
            cause: "a glossary missing units for that language".into(),
            corrective_action: "glossary completed; a check of units in every language".into(),
        },
    ] {
        officer
            .change_incident(&change(&handled.incident_id, action))
            .await?;
    }
    Ok(())
}
