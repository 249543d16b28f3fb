//! Approvals that lapse: a set renews medium-risk approvals every 180
//! days. Until then a check of the approved version answers approved; past
//! it, approval required, "recertification due since", and a request opens
//! the shorter chain the set gives an unchanged agent; once signed off, the
//! version stands again. Times are the store's clock.

mod common;

use std::sync::Arc;

use chrono::{TimeDelta, TimeZone, Utc};
use common::*;
use gavel::backend::local::{LocalBackend, LocalStore};
use gavel::backend::{Decision, GovernanceBackend};
use gavel::clock::{Clock, ManualClock};
use gavel::domain::policy::recertification::RECERTIFICATION_RULE;
use gavel::domain::{DeploymentStatus, Role, Verdict, WorkflowStatus};

const RULES: &str = "\n[recertification]\nafter = { medium = \"180d\" }\nunchanged_chain = [\"compliance_officer\"]\n";

struct World {
    store: Arc<LocalStore>,
    clock: Arc<ManualClock>,
    _dir: tempfile::TempDir,
}

impl World {
    async fn new() -> World {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = LocalStore::open(&dir.path().join("gavel.db")).expect("store");
        let clock = ManualClock::at(Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap());
        store.set_clock(clock.clone());
        for (email, roles) in [
            (REQUESTER, vec![]),
            (LEAD, vec![Role::TechnicalLead]),
            (STEWARD, vec![Role::DataSteward]),
            (COMPLIANCE, vec![Role::ComplianceOfficer]),
            (ADMIN, vec![Role::PolicyAdmin]),
            (ADMIN2, vec![Role::PolicyAdmin]),
        ] {
            store.add_user(email, email, &roles).expect("user");
        }
        let world = World {
            store,
            clock,
            _dir: dir,
        };
        let text = format!("{}{RULES}", gavel::domain::policy::set::BUILTIN_SET);
        let proposed = world
            .as_(ADMIN)
            .propose_policy_set(&text)
            .await
            .expect("propose");
        world
            .as_(ADMIN2)
            .decide_policy_set(proposed.version.version, true, Some("renew approvals"))
            .await
            .expect("approve the set");
        world
    }

    fn as_(&self, email: &str) -> LocalBackend {
        LocalBackend::new(Arc::clone(&self.store), Some(email.to_owned()))
    }

    /// Decides every step of a request's workflows by a holder of its role.
    async fn sign_off(&self, workflow_ids: &[String]) {
        for id in workflow_ids {
            loop {
                let workflow = self.as_(COMPLIANCE).workflow(id).await.expect("workflow");
                let Some(step) = workflow.current_step() else {
                    break;
                };
                let who = match step.role {
                    Role::TechnicalLead => LEAD,
                    Role::DataSteward => STEWARD,
                    Role::ComplianceOfficer => COMPLIANCE,
                    other => panic!("no one for {other}"),
                };
                self.as_(who)
                    .decide(&Decision {
                        workflow_id: id.clone(),
                        step_id: step.step_id,
                        verdict: Verdict::Approve,
                        comment: None,
                        expected_version: workflow.version,
                        idempotency_key: Decision::new_key(),
                        decision_at: None,
                        on_behalf_of: None,
                    })
                    .await
                    .expect("approve");
            }
            let done = self.as_(COMPLIANCE).workflow(id).await.expect("workflow");
            assert_eq!(done.status, WorkflowStatus::Approved);
        }
    }
}

#[tokio::test]
async fn an_approval_stands_until_its_recertification_is_due_and_renews_when_signed_off() {
    let world = World::new().await;
    let manifest = confidential("agt-renewed");
    let requester = world.as_(REQUESTER);
    let filed = requester
        .request_deployment(&manifest)
        .await
        .expect("request");
    assert_eq!(filed.status, DeploymentStatus::PendingApproval);
    let check = requester.check_deployment(&manifest).await.expect("check");
    assert_eq!(
        check.status,
        DeploymentStatus::PendingApproval,
        "not approved yet"
    );
    assert_eq!(check.standing, None);
    world.sign_off(&filed.workflow_ids).await;
    let approved_at = world.clock.now();

    let check = requester.check_deployment(&manifest).await.expect("check");
    assert_eq!(check.status, DeploymentStatus::Approved, "{check:?}");
    let standing = check.standing.expect("its approval stands");
    assert_eq!(standing.since, approved_at);
    assert_eq!(standing.due, Some(approved_at + TimeDelta::days(180)));
    let changed = {
        let mut changed = manifest.clone();
        changed.agent.version = "1.1.0".into();
        requester.check_deployment(&changed).await.expect("check")
    };
    assert_eq!(
        changed.status,
        DeploymentStatus::PendingApproval,
        "another version stands on nothing"
    );

    // A week before it is due: listed within 30 days, not due yet.
    world.clock.advance(TimeDelta::days(173));
    let soon = requester.recertifications_due(30).await.expect("due");
    assert_eq!(soon.total, 1);
    assert_eq!(soon.due[0].agent.agent_id, "agt-renewed");
    assert_eq!(
        requester.recertifications_due(0).await.expect("due").total,
        0
    );
    let dashboard = world.as_(COMPLIANCE).dashboard().await.expect("dashboard");
    assert_eq!(
        (
            dashboard.recertifications_due,
            dashboard.recertifications_due_soon
        ),
        (0, 1)
    );

    // Past it: approval required, saying since when.
    world.clock.advance(TimeDelta::days(8));
    let due = requester.check_deployment(&manifest).await.expect("check");
    assert_eq!(due.status, DeploymentStatus::PendingApproval);
    let rule = due
        .triggered_policies
        .iter()
        .find(|policy| policy.policy_id == RECERTIFICATION_RULE)
        .expect("the recertification rule");
    assert!(
        rule.reason.contains(&format!(
            "recertification due since {}",
            (approved_at + TimeDelta::days(180)).format("%Y-%m-%d")
        )),
        "{rule:?}"
    );
    assert_eq!(due.workflows.len(), 1, "the unchanged agent's chain alone");
    assert_eq!(due.workflows[0].chain, [Role::ComplianceOfficer]);
    assert_eq!(
        requester.recertifications_due(0).await.expect("due").total,
        1
    );

    // The request opens the recertification; signed off, it stands again.
    let again = requester
        .request_deployment(&manifest)
        .await
        .expect("request");
    assert_eq!(again.workflow_ids.len(), 1);
    let opened = world
        .as_(COMPLIANCE)
        .workflow(&again.workflow_ids[0])
        .await
        .expect("workflow");
    assert_eq!(opened.triggered_by_policy, RECERTIFICATION_RULE);
    world.sign_off(&again.workflow_ids).await;
    let renewed = requester.check_deployment(&manifest).await.expect("check");
    assert_eq!(renewed.status, DeploymentStatus::Approved);
    assert_eq!(
        renewed.standing.map(|standing| standing.since),
        Some(world.clock.now())
    );
    assert_eq!(
        requester.recertifications_due(0).await.expect("due").total,
        0
    );
    let report = world.as_(COMPLIANCE).verify_trail().await.expect("verify");
    assert_eq!(report.broken, None);
    assert_eq!(report.replay.expect("replayed").mismatch, None);
}

#[test]
fn a_set_is_checked_for_its_periods_and_roles() {
    use gavel::domain::policy::set::{BUILTIN_SET, Checks, PolicySet, PolicySetFile};
    let compile = |section: &str| {
        let file =
            PolicySetFile::parse(&format!("{BUILTIN_SET}{section}")).map_err(|e| e.to_string())?;
        PolicySet::compile(file, Checks::Full).map_err(|e| e.to_string())
    };
    let set = compile(RULES).expect("the rules compile");
    assert_eq!(
        set.file
            .recertification
            .period(gavel::domain::RiskTier::Medium),
        Some(TimeDelta::days(180))
    );
    assert_eq!(
        set.file
            .recertification
            .period(gavel::domain::RiskTier::High),
        None
    );
    let wrong = compile("\n[recertification]\nafter = { high = \"soon\" }\n").unwrap_err();
    assert!(wrong.contains("recertification.after.high"), "{wrong}");
    let long = compile("\n[recertification]\nafter = { high = \"2000d\" }\n").unwrap_err();
    assert!(long.contains("three years"), "{long}");
    assert_eq!(
        set.file.recertification.dormancy(),
        Some(TimeDelta::days(90)),
        "90 days unless the set says"
    );
    let off = compile("\n[recertification]\ndormant_after = \"off\"\n").expect("off");
    assert_eq!(off.file.recertification.dormancy(), None);
    let short = compile("\n[recertification]\ndormant_after = \"3d\"\n").unwrap_err();
    assert!(
        short.contains("recertification.dormant_after") && short.contains("a week"),
        "{short}"
    );
}

/// A version allowed and then unused: deployment checks count as its
/// use; past the set's 90 days without one, its next use needs
/// recertification, and a check that says so is not a use.
#[tokio::test]
async fn an_approved_version_unused_for_90_days_is_dormant_until_recertified() {
    let world = World::new().await;
    // Low risk: the set renews no low-risk approval by age.
    let manifest = manifest("agt-dormant");
    let requester = world.as_(REQUESTER);
    let filed = requester
        .request_deployment(&manifest)
        .await
        .expect("request");
    assert_eq!(filed.status, DeploymentStatus::Allowed);
    let approved_at = world.clock.now();
    let check = requester.check_deployment(&manifest).await.expect("check");
    assert_eq!(check.status, DeploymentStatus::Allowed);
    let standing = check.standing.expect("it stands");
    assert_eq!(
        standing.dormant_from,
        Some(approved_at + TimeDelta::days(90))
    );

    // Checked every 80 days, it stays in use (past 90 days since it stood);
    // each check names the use before it.
    let mut previous = approved_at;
    for _ in 0..2 {
        world.clock.advance(TimeDelta::days(80));
        let check = requester.check_deployment(&manifest).await.expect("check");
        assert_eq!(check.status, DeploymentStatus::Allowed, "{check:?}");
        assert_eq!(check.standing.and_then(|s| s.last_used), Some(previous));
        previous = world.clock.now();
    }
    let last_use = world.clock.now();
    // The store wrote the uses (its first at once): another process sees
    // them.
    let written: i64 = rusqlite::Connection::open(world.store.path().expect("a file"))
        .expect("open")
        .query_row(
            "SELECT last_checked_at FROM version_checks WHERE agent_id = 'agt-dormant'",
            [],
            |row| row.get(0),
        )
        .expect("a use is written");
    assert!(written >= approved_at.timestamp_millis(), "{written}");

    // Unused for 91 days: dormant, saying since when; asking again does
    // not wake it.
    world.clock.advance(TimeDelta::days(91));
    for _ in 0..2 {
        let dormant = requester.check_deployment(&manifest).await.expect("check");
        assert_eq!(dormant.status, DeploymentStatus::PendingApproval);
        let rule = dormant
            .triggered_policies
            .iter()
            .find(|policy| policy.policy_id == RECERTIFICATION_RULE)
            .expect("the recertification rule");
        assert!(
            rule.reason.contains(&format!(
                "was last checked on {}",
                last_use.format("%Y-%m-%d")
            )) && rule.reason.contains("dormant"),
            "{rule:?}"
        );
    }

    // Recertified, it is in use again from then.
    let again = requester
        .request_deployment(&manifest)
        .await
        .expect("request");
    assert_eq!(again.workflow_ids.len(), 1, "the recertification");
    world.sign_off(&again.workflow_ids).await;
    let renewed = requester.check_deployment(&manifest).await.expect("check");
    assert_eq!(renewed.status, DeploymentStatus::Allowed, "{renewed:?}");
    assert_eq!(
        renewed.standing.and_then(|s| s.dormant_from),
        Some(world.clock.now() + TimeDelta::days(90))
    );
}
