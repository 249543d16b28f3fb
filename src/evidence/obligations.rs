//! A pack's `obligations/`: the agent version's posture under the
//! frameworks the active set adopts, judged at export from the records the
//! pack itself holds (its intake, confirmations, workflows, reviews and
//! audits), each framework's text hashed; `verify` judges again from the
//! same files and fails where the posture differs.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::pack::{PackError, PackFile};
use crate::backend::PolicySetDetail;
use crate::domain::obligations::{Confirmation, Intake, Posture, Record, State, posture};
use crate::domain::policy::set::{Checks, PolicySet, PolicySetFile};
use crate::domain::{Agent, BiasAudit, DeploymentRequest, EthicsReview, Workflow};

/// What the store adds to a pack for the obligations: the active set, the
/// agent as requested at the pack's version, its intake and confirmations.
#[derive(Debug, Clone)]
pub struct ObligationRecords {
    pub set: PolicySetDetail,
    pub agent: Agent,
    pub intake: Option<Intake>,
    pub confirmations: Vec<Confirmation>,
}

/// `obligations/posture.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PackedPosture {
    /// The policy-set version it was judged under (its text is in
    /// `policy-sets/`).
    pub set_version: i64,
    pub agent: Agent,
    pub posture: Posture,
}

/// One adopted framework in `obligations/frameworks.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PackedFramework {
    pub id: String,
    pub name: String,
    pub version: String,
    pub source: String,
    pub checked: String,
    /// SHA-256 of the framework as the set holds it (its JSON form).
    pub sha256: String,
}

pub const POSTURE: &str = "obligations/posture.json";
pub const INTAKE: &str = "obligations/intake.json";
pub const CONFIRMATIONS: &str = "obligations/confirmations.json";
pub const FRAMEWORKS: &str = "obligations/frameworks.json";

fn compile(text: &str) -> Result<PolicySet, String> {
    PolicySetFile::parse(text)
        .and_then(|file| PolicySet::compile(file, Checks::Names))
        .map_err(|err| format!("its policy set does not compile: {err}"))
}

/// The records of the pack that bear on the agent version, as the posture
/// engine reads them.
pub struct PackRecords<'a> {
    pub deployments: &'a [DeploymentRequest],
    pub workflows: &'a [Workflow],
    pub reviews: Vec<&'a EthicsReview>,
    pub audits: &'a [BiasAudit],
    pub incidents: &'a [crate::domain::incident::Incident],
}

/// The posture of `agent` under `set` at `at`, from the pack's records:
/// the workflows of its version's requests and their reviews.
pub fn judge(
    set: &PolicySet,
    agent: &Agent,
    intake: Option<&Intake>,
    confirmations: &[Confirmation],
    records: &PackRecords<'_>,
    at: DateTime<Utc>,
) -> Posture {
    let of_version: Vec<&str> = records
        .deployments
        .iter()
        .filter(|deployment| deployment.agent_version == agent.version)
        .map(|deployment| deployment.deployment_id.as_str())
        .collect();
    let workflows: Vec<Workflow> = records
        .workflows
        .iter()
        .filter(|workflow| of_version.contains(&workflow.deployment_id.as_str()))
        .cloned()
        .collect();
    let reviews: Vec<EthicsReview> = records
        .reviews
        .iter()
        .filter(|review| {
            workflows
                .iter()
                .any(|workflow| workflow.workflow_id == review.workflow_id)
        })
        .map(|review| (*review).clone())
        .collect();
    posture(
        set,
        &Record {
            agent,
            intake,
            workflows: &workflows,
            reviews: &reviews,
            audits: records.audits,
            confirmations,
            incidents: records.incidents,
            pending_roles: &[],
        },
        at,
    )
}

fn frameworks(set: &PolicySet) -> Vec<PackedFramework> {
    set.file
        .frameworks
        .iter()
        .map(|framework| PackedFramework {
            id: framework.id.clone(),
            name: framework.name.clone(),
            version: framework.version.clone(),
            source: framework.source.clone(),
            checked: framework.checked.clone(),
            sha256: super::pack::sha256(&serde_json::to_vec(framework).unwrap_or_default()),
        })
        .collect()
}

fn json<T: Serialize>(path: &str, value: &T) -> Result<PackFile, PackError> {
    let mut bytes = serde_json::to_vec_pretty(value).map_err(|err| PackError::File {
        path: path.to_owned(),
        what: err.to_string(),
    })?;
    bytes.push(b'\n');
    Ok(PackFile::new(path, bytes))
}

/// The posture a pack carries, judged at `now` (None when the set adopts
/// no framework).
pub fn packed(
    records: &ObligationRecords,
    pack: &PackRecords<'_>,
    now: DateTime<Utc>,
) -> Result<Option<(PackedPosture, Vec<PackedFramework>)>, String> {
    let set = compile(&records.set.source)?;
    if set.file.frameworks.is_empty() {
        return Ok(None);
    }
    let posture = judge(
        &set,
        &records.agent,
        records.intake.as_ref(),
        &records.confirmations,
        pack,
        now,
    );
    Ok(Some((
        PackedPosture {
            set_version: records.set.version.version,
            agent: records.agent.clone(),
            posture,
        },
        frameworks(&set),
    )))
}

/// The files of `obligations/`, for the posture `packed` judged.
pub fn files(
    records: &ObligationRecords,
    posture: &PackedPosture,
    frameworks: &[PackedFramework],
) -> Result<Vec<PackFile>, PackError> {
    let mut files = vec![
        json(POSTURE, posture)?,
        json(FRAMEWORKS, &frameworks)?,
        json(CONFIRMATIONS, &records.confirmations)?,
    ];
    if let Some(intake) = &records.intake {
        files.push(json(INTAKE, intake)?);
    }
    Ok(files)
}

/// `verify`'s check: the posture judged again from the pack's own files
/// equals the one it carries, and each framework's hash is its text's.
pub fn check(files: &[PackFile]) -> Vec<String> {
    let find = |path: &str| files.iter().find(|file| file.path == path);
    let Some(found) = find(POSTURE) else {
        return Vec::new();
    };
    let parse = |path: &str| -> Result<Vec<u8>, String> {
        find(path)
            .map(|file| file.bytes.clone())
            .ok_or_else(|| format!("{path}: missing"))
    };
    let result = (|| -> Result<Vec<String>, String> {
        let packed: PackedPosture =
            serde_json::from_slice(&found.bytes).map_err(|err| err.to_string())?;
        let set_path = format!("policy-sets/version-{}.toml", packed.set_version);
        let text =
            String::from_utf8(parse(&set_path)?).map_err(|_| format!("{set_path}: not UTF-8"))?;
        let set = compile(&text)?;
        let intake: Option<Intake> = match find(INTAKE) {
            Some(file) => Some(
                serde_json::from_slice(&file.bytes).map_err(|err| format!("{INTAKE}: {err}"))?,
            ),
            None => None,
        };
        let confirmations: Vec<Confirmation> = serde_json::from_slice(&parse(CONFIRMATIONS)?)
            .map_err(|err| format!("{CONFIRMATIONS}: {err}"))?;
        let deployments: Vec<DeploymentRequest> = records_in(files, "requests/")?;
        let workflows: Vec<Workflow> = records_in(files, "workflows/")?;
        let reviews: Vec<EthicsReview> = records_in(files, "reviews/")?;
        let audits: Vec<BiasAudit> = records_in(files, "audits/")?;
        let incidents: Vec<crate::domain::incident::Incident> = records_in(files, "incidents/")?;
        let again = judge(
            &set,
            &packed.agent,
            intake.as_ref(),
            &confirmations,
            &PackRecords {
                deployments: &deployments,
                workflows: &workflows,
                reviews: reviews.iter().collect(),
                audits: &audits,
                incidents: &incidents,
            },
            packed.posture.at,
        );
        let mut problems = Vec::new();
        if again != packed.posture {
            let differing: Vec<String> = again
                .obligations
                .iter()
                .zip(&packed.posture.obligations)
                .filter(|(judged, carried)| judged != carried)
                .map(|(judged, carried)| {
                    format!(
                        "{} is {} judged from the pack's records, {} as carried",
                        judged.obligation,
                        judged.state.word(),
                        carried.state.word()
                    )
                })
                .collect();
            problems.push(format!(
                "{POSTURE}: differs from the posture its records give ({})",
                if differing.is_empty() {
                    "other obligations".to_owned()
                } else {
                    differing.join("; ")
                }
            ));
        }
        let carried: Vec<PackedFramework> = serde_json::from_slice(&parse(FRAMEWORKS)?)
            .map_err(|err| format!("{FRAMEWORKS}: {err}"))?;
        if carried != frameworks(&set) {
            problems.push(format!(
                "{FRAMEWORKS}: not the frameworks {set_path} adopts (a text or its hash differs)"
            ));
        }
        Ok(problems)
    })();
    result.unwrap_or_else(|problem| vec![format!("{POSTURE}: {problem}")])
}

/// The JSON records of one folder of the pack.
fn records_in<T: for<'de> Deserialize<'de>>(
    files: &[PackFile],
    dir: &str,
) -> Result<Vec<T>, String> {
    files
        .iter()
        .filter(|file| file.path.starts_with(dir) && file.path.ends_with(".json"))
        .map(|file| {
            serde_json::from_slice(&file.bytes).map_err(|err| format!("{}: {err}", file.path))
        })
        .collect()
}

/// The page's "Obligations" section: each duty, its state, and what meets
/// it or is missing (empty when the set adopts no framework).
pub fn section(packed: Option<&PackedPosture>) -> String {
    use crate::text::html_escape;
    use std::fmt::Write as _;
    let Some(packed) = packed else {
        return String::new();
    };
    let mut out = format!(
        "<h2 id=\"obligations\">Obligations</h2><p>Version {} judged at export under policy-set version {} (<a href=\"{POSTURE}\">{POSTURE}</a>, frameworks and their hashes in <a href=\"{FRAMEWORKS}\">{FRAMEWORKS}</a>): {}. <code>gavel evidence verify</code> judges it again from this pack's records.</p><table><tr><th>Obligation</th><th>Citation</th><th>State</th><th>Evidence, or what is missing</th></tr>",
        html_escape(&packed.agent.version),
        packed.set_version,
        packed.posture.counts().words(),
    );
    for obligation in &packed.posture.obligations {
        let mut detail: Vec<String> = obligation
            .evidence
            .iter()
            .map(|found| format!("{} {}: {}", found.kind, found.id, found.what))
            .collect();
        if let Some(via) = &obligation.via {
            detail.push(format!("met through {via}"));
        }
        match &obligation.state {
            State::Unmet { missing } | State::NotYetInEffect { missing, .. } => {
                detail.extend(missing.iter().map(|wanted| format!("missing: {wanted}")))
            }
            State::NotApplicable { why } => detail.push(why.clone()),
            _ => {}
        }
        let _ = write!(
            out,
            "<tr><td>{} — {}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            html_escape(&obligation.obligation),
            html_escape(&obligation.title),
            html_escape(&obligation.citation),
            obligation.state.word(),
            detail
                .iter()
                .map(|line| html_escape(line))
                .collect::<Vec<_>>()
                .join("<br>")
        );
    }
    out.push_str("</table>");
    out
}
