//! From when each adopted framework has an obligation in effect and unmet
//! for an agent, with its records as they are. Time only ever adds unmet
//! duties — one comes into effect, evidence lapses — and only a new record
//! meets one, so a single instant per framework answers for any later
//! clock: a kept count applies the clock when it is read, as audit
//! standings do.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, TimeDelta, Utc};

use super::{Posture, Record, State, posture};
use crate::domain::policy::set::PolicySet;

/// The most later instants judged for one agent; past them the next one
/// is taken as the day a duty falls unmet (counted early, never late).
const MOST_INSTANTS: usize = 64;

/// For each framework with a duty that applies to the agent (in effect or
/// not yet): from when one is unmet (`None`: not with these records).
pub fn unmet_from(
    set: &PolicySet,
    record: &Record<'_>,
    now: DateTime<Utc>,
) -> BTreeMap<String, Option<DateTime<Utc>>> {
    let first = posture(set, record, now);
    let mut from: BTreeMap<String, Option<DateTime<Utc>>> = first
        .obligations
        .iter()
        .filter(|obligation| !matches!(obligation.state, State::NotApplicable { .. }))
        .map(|obligation| (obligation.framework.clone(), None))
        .collect();
    let mut waiting: BTreeSet<String> = from.keys().cloned().collect();
    let mut instants = BTreeSet::new();
    let mut judged = first;
    let mut at = now;
    let mut looked = 0;
    // A duty not yet in effect that already lacks evidence will be unmet
    // on its first day (evidence only lapses): a framework falls unmet by
    // then at the latest, with no need to judge that day.
    let mut by_then: BTreeMap<String, DateTime<Utc>> = BTreeMap::new();
    loop {
        for framework in unmet_frameworks(&judged) {
            if waiting.remove(&framework) {
                from.insert(framework, Some(at));
            }
        }
        for (framework, day) in lacking_on_first_day(&judged) {
            let latest = by_then.entry(framework).or_insert(day);
            *latest = (*latest).min(day);
        }
        instants.extend(changes(&judged, at));
        let next = instants.first().copied();
        waiting.retain(|framework| match by_then.get(framework) {
            Some(day) if next.is_none_or(|next| next >= *day) => {
                from.insert(framework.clone(), Some(*day));
                false
            }
            _ => true,
        });
        if waiting.is_empty() {
            break;
        }
        let Some(next) = instants.pop_first() else {
            break;
        };
        if looked == MOST_INSTANTS {
            for framework in std::mem::take(&mut waiting) {
                from.insert(framework, Some(next));
            }
            break;
        }
        looked += 1;
        at = next;
        judged = posture(set, record, at);
    }
    from
}

fn unmet_frameworks(posture: &Posture) -> impl Iterator<Item = String> + '_ {
    posture
        .unmet()
        .map(|obligation| obligation.framework.clone())
}

/// Per framework, the first days of its duties not yet in effect that
/// already lack evidence.
fn lacking_on_first_day(posture: &Posture) -> impl Iterator<Item = (String, DateTime<Utc>)> + '_ {
    posture
        .obligations
        .iter()
        .filter_map(|obligation| match &obligation.state {
            State::NotYetInEffect { from, missing } if !missing.is_empty() => from
                .and_hms_opt(0, 0, 0)
                .map(|midnight| (obligation.framework.clone(), midnight.and_utc())),
            _ => None,
        })
}

/// The later instants at which this posture could change by itself: a
/// duty's first day, and just after each piece of evidence lapses.
fn changes(posture: &Posture, after: DateTime<Utc>) -> impl Iterator<Item = DateTime<Utc>> + '_ {
    posture
        .obligations
        .iter()
        .flat_map(|obligation| {
            let first_day = match &obligation.state {
                State::NotYetInEffect { from, .. } => {
                    from.and_hms_opt(0, 0, 0).map(|midnight| midnight.and_utc())
                }
                _ => None,
            };
            let lapses = obligation
                .evidence
                .iter()
                .filter_map(|found| found.until)
                .map(|until| until + TimeDelta::milliseconds(1));
            first_day.into_iter().chain(lapses)
        })
        .filter(move |instant| *instant > after)
}
