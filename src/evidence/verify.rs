//! `gavel evidence verify`: a pack checked offline with nothing but the
//! log's public key. Every file's hash against the signed `pack.json`, no
//! file added or missing, the checkpoint's signature, every event's hash
//! and its proof in the checkpoint's tree, each workflow and request as its
//! events replay, and each audit's figures recomputed from its counts.

use std::collections::BTreeMap;

use super::pack::{self, Listing, PackFile};
use super::trail::{self, PackedEvent};
use crate::domain::bias::replay::AuditReplay;
use crate::domain::bias::{GroupCounts, compute};
use crate::domain::replay::{
    self, DeploymentReplay, Event, Replay, ReviewReplay, StoredReview, WorkflowReplay,
};
use crate::domain::{BiasAudit, DeploymentRequest, EthicsReview, Workflow};

/// Which key the pack is checked against.
#[derive(Debug, Clone, Copy)]
pub enum Key<'a> {
    /// The log's public key, from the organisation (`gavel trail key`).
    Given(&'a str),
    /// The key the pack carries (`trail/log-key.txt`): the pack agrees with
    /// itself, but whose key it is was not checked.
    TrustPack,
}

/// What verification found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    pub listing: Option<Listing>,
    pub files: usize,
    pub events: usize,
    pub checkpoint_size: Option<u64>,
    /// Whether the key came from outside the pack.
    pub key_checked: bool,
    /// `file: what is wrong`, in words; empty when the pack holds.
    pub problems: Vec<String>,
}

impl Report {
    pub fn holds(&self) -> bool {
        self.problems.is_empty() && self.listing.is_some()
    }
}

fn file<'a>(files: &'a [PackFile], path: &str) -> Option<&'a PackFile> {
    files.iter().find(|file| file.path == path)
}

/// Checks a pack's bytes.
pub fn verify(zip: &[u8], key: Key<'_>) -> Report {
    let mut report = Report::default();
    let files = match pack::unzip(zip) {
        Ok(files) => files,
        Err(err) => {
            report.problems.push(err.to_string());
            return report;
        }
    };
    let key = match key {
        Key::Given(key) => {
            report.key_checked = true;
            key.trim().to_owned()
        }
        Key::TrustPack => match file(&files, "trail/log-key.txt") {
            Some(found) => String::from_utf8_lossy(&found.bytes).trim().to_owned(),
            None => {
                report
                    .problems
                    .push("trail/log-key.txt: missing, and no --key was given".into());
                return report;
            }
        },
    };
    let Some(list) = file(&files, pack::LIST) else {
        report.problems.push(format!("{}: missing", pack::LIST));
        return report;
    };
    let listing = match pack::open(&list.bytes, &key) {
        Ok(listing) => listing,
        Err(err) => {
            report.problems.push(err.to_string());
            return report;
        }
    };
    if listing.format != pack::FORMAT {
        report.problems.push(format!(
            "{}: format {:?}, this Gavel reads {:?}",
            pack::LIST,
            listing.format,
            pack::FORMAT
        ));
    }
    for listed in &listing.files {
        match file(&files, &listed.path) {
            None => report.problems.push(format!(
                "{}: listed in pack.json, missing from the zip",
                listed.path
            )),
            Some(found) if found.sha256() != listed.sha256 => report.problems.push(format!(
                "{}: its SHA-256 is not the one pack.json lists (the file was changed)",
                listed.path
            )),
            Some(_) => {}
        }
    }
    for extra in files.iter().filter(|found| {
        found.path != pack::LIST && !listing.files.iter().any(|listed| listed.path == found.path)
    }) {
        report.problems.push(format!(
            "{}: in the zip but not listed in pack.json",
            extra.path
        ));
    }
    report.files = listing.files.len();

    let events = file(&files, "trail/events.jsonl").map_or(&[][..], |found| &found.bytes[..]);
    let checkpoint = file(&files, "trail/checkpoint.txt")
        .map(|found| String::from_utf8_lossy(&found.bytes).into_owned())
        .unwrap_or_default();
    let (size, problems, events) = trail::check(events, &checkpoint, &key);
    report.checkpoint_size = size;
    report.events = events.len();
    report.problems.extend(problems);
    if let Ok(verified) = crate::domain::checkpoint::open(&checkpoint, &key)
        && verified.origin != listing.origin
    {
        report.problems.push(format!(
            "trail/checkpoint.txt: signed for log {:?}, the pack says {:?}",
            verified.origin, listing.origin
        ));
    }
    let mut by_entity: BTreeMap<(String, String), Vec<&PackedEvent>> = BTreeMap::new();
    for event in &events {
        by_entity
            .entry((
                event.entry.entity_type.clone(),
                event.entry.entity_id.clone(),
            ))
            .or_default()
            .push(event);
    }
    let trail_of = |entity_type: &str, entity_id: &str| {
        by_entity
            .get(&(entity_type.to_owned(), entity_id.to_owned()))
            .map(|events| {
                events
                    .iter()
                    .map(|event| Event {
                        seq: event.seq,
                        actor: &event.entry.actor,
                        action: &event.entry.action,
                        after_version: event.entry.after_version,
                        details: &event.entry.details,
                    })
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    };
    for found in &files {
        let path = found.path.as_str();
        let record = |dir: &str| {
            path.strip_prefix(dir)
                .and_then(|rest| rest.strip_suffix(".json"))
        };
        let mut problems: Vec<String> = Vec::new();
        if let Some(id) = record("workflows/") {
            match serde_json::from_slice::<Workflow>(&found.bytes) {
                Err(err) => problems.push(err.to_string()),
                Ok(workflow) => problems.extend(against_trail(
                    trail_of("workflow", id),
                    |replayed: WorkflowReplay| replayed.differs(&workflow),
                )),
            }
        } else if let Some(id) = record("requests/") {
            match serde_json::from_slice::<DeploymentRequest>(&found.bytes) {
                Err(err) => problems.push(err.to_string()),
                Ok(request) => problems.extend(against_trail(
                    trail_of("deployment", id),
                    |replayed: DeploymentReplay| replayed.differs(&request),
                )),
            }
        } else if let Some(name) = path
            .strip_prefix("summaries/")
            .and_then(|rest| rest.strip_suffix("-public-summary.json"))
        {
            problems.extend(summary_checked(&files, name, &found.bytes));
        } else if let Some(id) = record("audits/") {
            match serde_json::from_slice::<BiasAudit>(&found.bytes) {
                Err(err) => problems.push(err.to_string()),
                Ok(audit) => {
                    problems.extend(recomputed(&audit));
                    problems.extend(against_trail(
                        trail_of("audit", id),
                        |replayed: AuditReplay| replayed.differs(&audit),
                    ));
                }
            }
        } else if let Some(id) = record("exceptions/") {
            match serde_json::from_slice::<crate::domain::exception::Exception>(&found.bytes) {
                Err(err) => problems.push(err.to_string()),
                Ok(exception) => problems.extend(against_trail(
                    trail_of("exception", id),
                    |replayed: crate::domain::exception::replay::ExceptionReplay| {
                        replayed.differs(&exception)
                    },
                )),
            }
        } else if let Some(id) = record("incidents/") {
            match serde_json::from_slice::<crate::domain::incident::Incident>(&found.bytes) {
                Err(err) => problems.push(err.to_string()),
                Ok(incident) => problems.extend(against_trail(
                    trail_of("incident", id),
                    |replayed: crate::domain::incident::replay::IncidentReplay| {
                        replayed.differs(&incident)
                    },
                )),
            }
        } else if let Some(id) = record("reviews/") {
            match serde_json::from_slice::<EthicsReview>(&found.bytes) {
                Err(err) => problems.push(err.to_string()),
                Ok(review) => problems.extend(against_trail(
                    trail_of("review", id),
                    |replayed: ReviewReplay| {
                        replayed.differs(&StoredReview {
                            status: review.status,
                            reviewer: &review.reviewer,
                            answers_sha256: &replay::answers_sha256(&review.answers),
                        })
                    },
                )),
            }
        }
        report.problems.extend(
            problems
                .into_iter()
                .map(|problem| format!("{path}: {problem}")),
        );
    }
    report.problems.extend(super::obligations::check(&files));
    report.listing = Some(listing);
    report
}

/// Where a record is not what its events replay to, in words: the
/// replay's own problem (an event out of place, the opening one missing),
/// or the first field that differs.
fn against_trail<R: Replay>(
    events: Vec<Event<'_>>,
    differs: impl FnOnce(R) -> Option<String>,
) -> Option<String> {
    match replay::replay::<R>(events) {
        Err(problem) => Some(problem),
        Ok(replayed) => {
            differs(replayed).map(|differs| format!("not what its trail events say ({differs})"))
        }
    }
}

/// Where a public summary is not the one its audit (and the requests in
/// the pack) give.
fn summary_checked(files: &[PackFile], audit_id: &str, bytes: &[u8]) -> Vec<String> {
    let stated: super::summary::PublicSummary = match serde_json::from_slice(bytes) {
        Ok(stated) => stated,
        Err(err) => return vec![err.to_string()],
    };
    let Some(audit) = file(files, &format!("audits/{audit_id}.json"))
        .and_then(|found| serde_json::from_slice::<BiasAudit>(&found.bytes).ok())
    else {
        return vec![format!(
            "its audit audits/{audit_id}.json is not in the pack"
        )];
    };
    let requests: Vec<DeploymentRequest> = files
        .iter()
        .filter(|found| found.path.starts_with("requests/"))
        .filter_map(|found| serde_json::from_slice(&found.bytes).ok())
        .collect();
    let mut problems = super::summary::differences(&stated, &audit);
    let shipped =
        super::collected::distributed(&requests, &audit.agent_version).map(|at| at.date_naive());
    if shipped != stated.distribution_date {
        problems.push(format!(
            "distribution date {:?} stated, {:?} from the requests in the pack",
            stated.distribution_date, shipped
        ));
    }
    problems
}

/// Where an audit's figures are not the ones its counts give.
fn recomputed(audit: &BiasAudit) -> Vec<String> {
    let stats = &audit.stats;
    let counts: Vec<GroupCounts> = stats
        .groups
        .iter()
        .map(|group| GroupCounts {
            group: group.group.clone(),
            positive: group.positive,
            total: group.total,
        })
        .collect();
    let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
    let mut problems = Vec::new();
    if !audit.attributes.is_empty() {
        // Several tables: the top-level figures are the binding table's.
        let lowest = audit
            .attributes
            .iter()
            .map(|table| table.lowest_ratio)
            .fold(f64::INFINITY, f64::min);
        if !close(
            crate::domain::bias::round3(lowest),
            stats.disparate_impact_ratio,
        ) {
            problems.push(format!(
                "disparate-impact ratio {} stated, {} the lowest of its tables",
                stats.disparate_impact_ratio,
                crate::domain::bias::round3(lowest)
            ));
        }
        let passes = audit.attributes.iter().all(|table| table.passes);
        if passes != stats.passes_threshold {
            problems.push("passes_threshold is not what its tables give".into());
        }
        problems.extend(tables_recomputed(audit));
        return problems;
    }
    let again = match compute(&counts, stats.threshold) {
        Ok(again) => again,
        Err(err) => return vec![format!("its counts cannot be an audit: {err}")],
    };
    if !close(again.disparate_impact_ratio, stats.disparate_impact_ratio) {
        problems.push(format!(
            "disparate-impact ratio {} stated, {} from its counts",
            stats.disparate_impact_ratio, again.disparate_impact_ratio
        ));
    }
    if again.passes_threshold != stats.passes_threshold {
        problems.push("passes_threshold is not what its counts give".into());
    }
    for (stated, computed) in stats.groups.iter().zip(&again.groups) {
        let same = match (stated.rate, computed.rate) {
            (Some(a), Some(b)) => close(a, b),
            (a, b) => a == b,
        };
        if !same {
            problems.push(format!(
                "the rate of group {:?} is not its positives over its total",
                stated.group
            ));
        }
    }
    problems
}

/// Where a table's rates and impact ratios are not its counts'.
fn tables_recomputed(audit: &BiasAudit) -> Vec<String> {
    let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
    let mut problems = Vec::new();
    for table in &audit.attributes {
        let lowest = table
            .categories
            .iter()
            .filter_map(|category| category.impact_ratio)
            .fold(f64::INFINITY, f64::min);
        if lowest.is_finite() && !close(lowest, table.lowest_ratio) {
            problems.push(format!(
                "table {}: lowest impact ratio {} stated, {} from its categories",
                table.name(),
                table.lowest_ratio,
                lowest
            ));
        }
        for category in &table.categories {
            let rate =
                (category.total > 0).then(|| category.positive as f64 / category.total as f64);
            let same = match (category.rate, rate) {
                (Some(a), Some(b)) => close(a, b),
                (a, b) => a == b,
            };
            if !same {
                problems.push(format!(
                    "table {}: the rate of {:?} is not its positives over its total",
                    table.name(),
                    category.values.join(" × ")
                ));
            }
        }
        let reference = table
            .categories
            .iter()
            .filter(|category| category.impact_ratio.is_some())
            .filter_map(|category| category.rate)
            .fold(0.0_f64, f64::max);
        for category in &table.categories {
            if let (Some(ratio), Some(rate)) = (category.impact_ratio, category.rate)
                && reference > 0.0
                && !close(ratio, rate / reference)
            {
                problems.push(format!(
                    "table {}: the impact ratio of {:?} is not its rate over the highest rate",
                    table.name(),
                    category.values.join(" × ")
                ));
            }
        }
    }
    problems
}
