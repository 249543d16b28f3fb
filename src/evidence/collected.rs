//! What a pack is made from: the records the store collects for one agent,
//! and what is derived from them (file names, charts, when a version was
//! first distributed).

use chrono::{DateTime, Utc};

use super::svg;
use super::trail::PackedEvent;
use crate::backend::{AuditRun, CaseOutcome, EvidenceQuery, PolicySetDetail};
use crate::domain::{BiasAudit, DeploymentRequest, EthicsReview, ReviewTemplate, Workflow};

/// An audit run with its case evidence.
#[derive(Debug, Clone, PartialEq)]
pub struct RunEvidence {
    pub run: AuditRun,
    pub cases: Vec<CaseOutcome>,
}

/// Everything a pack holds, as read from the store.
#[derive(Debug, Clone)]
pub struct Evidence {
    pub query: EvidenceQuery,
    pub origin: String,
    pub verifier_key: String,
    pub deployments: Vec<DeploymentRequest>,
    pub policy_sets: Vec<PolicySetDetail>,
    pub workflows: Vec<Workflow>,
    pub reviews: Vec<(EthicsReview, ReviewTemplate)>,
    pub audits: Vec<BiasAudit>,
    pub runs: Vec<RunEvidence>,
    pub events: Vec<PackedEvent>,
    pub checkpoint: String,
    /// What the obligations posture is judged from beyond the records
    /// above (None: the store keeps none, as an older server's pack).
    pub obligations: Option<super::obligations::ObligationRecords>,
    /// Exceptions asked for the agent (its version, when the pack names
    /// one) in the pack's period, whatever became of them.
    pub exceptions: Vec<crate::domain::exception::Exception>,
    /// Incidents reported with the agent (its version, when the pack names
    /// one), whenever reported: its obligations read them all.
    pub incidents: Vec<crate::domain::incident::Incident>,
}

impl Evidence {
    /// The records `obligations/` judges from.
    pub fn pack_records(&self) -> super::obligations::PackRecords<'_> {
        super::obligations::PackRecords {
            deployments: &self.deployments,
            workflows: &self.workflows,
            reviews: self.reviews.iter().map(|(review, _)| review).collect(),
            audits: &self.audits,
            incidents: &self.incidents,
        }
    }
}

/// A file name's part for a table: `sex-race_ethnicity`.
pub fn slug(text: &str) -> String {
    let slug: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    slug.split('-')
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join("-")
}

/// The charts of an audit: (file name, SVG), one per table, or one of its
/// groups when it has no tables.
pub fn charts(audit: &BiasAudit) -> Vec<(String, String)> {
    let threshold = audit.stats.threshold;
    if audit.attributes.is_empty() {
        let bars: Vec<svg::Bar<'_>> = audit
            .stats
            .groups
            .iter()
            .map(|group| svg::Bar {
                label: &group.group,
                rate: group.rate,
                excluded: false,
            })
            .collect();
        return vec![(
            format!("audits/{}.svg", audit.audit_id),
            svg::chart("positive-outcome rate per group", &bars, threshold),
        )];
    }
    audit
        .attributes
        .iter()
        .map(|table| {
            let labels: Vec<String> = table.categories.iter().map(|c| c.label()).collect();
            let bars: Vec<svg::Bar<'_>> = table
                .categories
                .iter()
                .zip(&labels)
                .map(|(category, label)| svg::Bar {
                    label,
                    rate: category.rate,
                    excluded: category.excluded.is_some(),
                })
                .collect();
            (
                format!("audits/{}-{}.svg", audit.audit_id, slug(&table.name())),
                svg::chart(
                    &format!("{} by {}", audit.mode.rate_name(), table.name()),
                    &bars,
                    threshold,
                ),
            )
        })
        .collect()
}

/// When an agent version was first put to use: its first allowed or
/// approved request among `deployments`.
pub fn distributed(deployments: &[DeploymentRequest], version: &str) -> Option<DateTime<Utc>> {
    use crate::domain::DeploymentStatus;
    deployments
        .iter()
        .filter(|deployment| deployment.agent_version == version)
        .filter(|deployment| {
            matches!(
                deployment.status,
                DeploymentStatus::Allowed | DeploymentStatus::Approved
            )
        })
        .map(|deployment| deployment.requested_at)
        .min()
}
