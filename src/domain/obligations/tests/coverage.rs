//! From when a framework has an unmet duty: the first instant, found by
//! judging the record at each later instant where it could change.

use super::*;
use crate::domain::obligations::coverage::unmet_from;

impl World {
    fn unmet_from(&self) -> BTreeMap<String, Option<DateTime<Utc>>> {
        unmet_from(&set(), &self.record(), now())
    }

    fn posture_at(&self, at: DateTime<Utc>) -> Posture {
        posture(&set(), &self.record(), at)
    }
}

fn unmet_in(posture: &Posture, framework: &str) -> bool {
    posture
        .unmet()
        .any(|obligation| obligation.framework == framework)
}

#[test]
fn a_framework_unmet_now_is_unmet_from_now_and_one_that_never_applies_is_absent() {
    let world = World::new(Some(intake(
        serde_json::json!({"hiring_in_city": false, "areas": ["employment"], "organisation_role": "deployer"}),
    )));
    let from = world.unmet_from();
    // The standard's oversight and fairness duties are in effect, unmet.
    assert_eq!(from["standard"], Some(now()));
    // The local law: its audit and notice do not apply (not hiring in the
    // city), its provider duty binds no deployer, and the later duty will
    // be met by the intake's answer when it comes: never unmet.
    assert_eq!(from["local"], None);
}

#[test]
fn a_duty_coming_into_effect_unmet_counts_from_its_first_day() {
    let world = World::new(Some(intake(
        serde_json::json!({"hiring_in_city": false, "areas": ["credit"], "organisation_role": "deployer"}),
    )));
    let from = world.unmet_from()["local"].expect("unmet from a day");
    assert_eq!(
        from,
        "2030-01-01T00:00:00Z".parse::<DateTime<Utc>>().unwrap()
    );
    assert!(!unmet_in(
        &world.posture_at(from - TimeDelta::seconds(1)),
        "local"
    ));
    assert!(unmet_in(&world.posture_at(from), "local"));
}

#[test]
fn evidence_lapsing_counts_from_just_after_the_first_lapse() {
    let mut world = World::new(Some(intake(
        serde_json::json!({"hiring_in_city": true, "areas": ["employment"], "organisation_role": "deployer"}),
    )));
    // The audit holds 265 more days, the notice's confirmation 30.
    world.audits = vec![audit("2.0.0", now() - TimeDelta::days(100), true)];
    let notice_until = now() + TimeDelta::days(30);
    world.confirmations = vec![confirmation(notice_until, Role::ComplianceOfficer)];
    assert!(!unmet_in(&world.posture_at(now()), "local"), "met today");
    let from = world.unmet_from()["local"].expect("a lapse");
    assert_eq!(from, notice_until + TimeDelta::milliseconds(1));
    assert!(!unmet_in(
        &world.posture_at(notice_until - TimeDelta::seconds(1)),
        "local"
    ));
    assert!(unmet_in(&world.posture_at(from), "local"));
}
