//! What the console's screens are shown, as the worker assembles it from
//! several backend calls: a workflow's whole step view, a review with its
//! template, a policy set version with the text it was planned on, the
//! Blocked tab's figures and page, an evidence pack saved to a file.

use crate::backend::{Dashboard, DeploymentPage, GovernanceBackend, PolicySetDetail};
use crate::domain::{Agent, BiasAudit, EthicsReview, Policy, ReviewTemplate, TrailEvent, Workflow};

/// A policy set version as the Policies tab shows it: its record, text and
/// plan, and the text of the version it was planned against.
#[derive(Debug, Clone, PartialEq)]
pub struct ShownVersion {
    pub detail: PolicySetDetail,
    pub base_source: Option<String>,
}

/// Which blocked deployments the Blocked tab lists, and in what order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BlockedFilter {
    pub policy: Option<String>,
    pub team: Option<String>,
    pub agent_id: Option<String>,
    pub search: Option<String>,
    pub sort: crate::backend::DeploymentSort,
}

impl BlockedFilter {
    /// The blocked deployments it lists, a page of `limit` from `cursor`.
    pub fn query(self, cursor: Option<String>, limit: u32) -> crate::backend::DeploymentQuery {
        crate::backend::DeploymentQuery {
            status: Some(crate::domain::DeploymentStatus::Blocked),
            cursor,
            limit,
            agent_id: self.agent_id,
            team: self.team,
            policy: self.policy,
            search: self.search,
            sort: self.sort,
        }
    }
}

/// Everything the step view shows about one workflow.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkflowDetail {
    pub workflow: Workflow,
    pub agent: Option<Agent>,
    pub policy: Option<Policy>,
    pub trail: Vec<TrailEvent>,
    /// Why the trail is not shown (it lives on the server, which is away).
    pub trail_unavailable: Option<String>,
    pub latest_audit: Option<BiasAudit>,
    pub review: Option<EthicsReview>,
    /// The deployment's other workflows and what it changes (none when the
    /// backend cannot say, an older server say).
    pub deployment: Option<crate::backend::DeploymentView>,
}

/// An evidence pack saved: where, and how big.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportedPack {
    pub path: std::path::PathBuf,
    pub files: usize,
    pub bytes: usize,
}

/// Fetches the pack and writes it beside `path` first, so a failure never
/// leaves half a pack under the name; an existing file is never replaced.
pub(super) async fn export_evidence(
    backend: &dyn GovernanceBackend,
    query: &crate::backend::EvidenceQuery,
    path: &std::path::Path,
) -> Result<ExportedPack, String> {
    // Say what is wrong with the name before asking the backend for the pack.
    new_file_in_a_folder(path).await?;
    let bytes = backend
        .evidence_pack(query)
        .await
        .map_err(|err| err.to_string())?;
    let files = crate::evidence::pack::count(&bytes)
        .map_err(|err| format!("the backend sent something that is not a pack: {err}"))?;
    let size = bytes.len();
    save_new_file(path, bytes).await?;
    let path = tokio::fs::canonicalize(path)
        .await
        .unwrap_or_else(|_| path.to_path_buf());
    Ok(ExportedPack {
        path,
        files,
        bytes: size,
    })
}

/// An agent version's intake (none: never saved) with the questions the
/// active policy set asks.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenedIntake {
    pub agent_id: String,
    pub agent_version: String,
    pub agent_name: String,
    pub template: ReviewTemplate,
    pub intake: Option<crate::domain::obligations::Intake>,
}

/// The intake of an agent version (its current one when none is named).
pub(super) async fn open_intake(
    backend: &dyn GovernanceBackend,
    agent_id: &str,
    version: Option<String>,
) -> crate::backend::Result<OpenedIntake> {
    let agent = backend.agent(agent_id).await?;
    let agent_version = version.unwrap_or_else(|| agent.version.clone());
    let active = backend.policy_set(None).await?;
    let file = crate::domain::policy::set::PolicySetFile::parse(&active.source).map_err(|err| {
        crate::backend::BackendError::Invalid(format!("the active policy set: {err}"))
    })?;
    let Some(section) = file.intake else {
        return Err(crate::backend::BackendError::Invalid(
            "the active policy set asks no intake questions: nothing to answer".into(),
        ));
    };
    let intake = backend.intake(agent_id, &agent_version).await?;
    Ok(OpenedIntake {
        agent_id: agent.agent_id,
        agent_version,
        agent_name: agent.name,
        template: section.template(),
        intake,
    })
}

/// A review with what the form needs to show it.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenedReview {
    pub review: EthicsReview,
    pub template: ReviewTemplate,
    pub agent_name: String,
}

/// The dashboard and a page of blocked deployments.
#[derive(Debug, Clone, PartialEq)]
pub struct BlockedView {
    pub dashboard: Option<Dashboard>,
    pub page: DeploymentPage,
}

pub(super) async fn detail(
    backend: &dyn GovernanceBackend,
    workflow_id: &str,
) -> crate::backend::Result<WorkflowDetail> {
    let workflow = backend.workflow(workflow_id).await?;
    let (agent, policies, trail, audits, review, deployment) = tokio::join!(
        backend.agent(&workflow.agent_id),
        backend.policies(),
        backend.trail("workflow", workflow_id),
        backend.audits(&workflow.agent_id),
        backend.review_for_workflow(workflow_id),
        backend.deployment_view(&workflow.deployment_id),
    );
    // Offline, the rest of the view still stands without the trail.
    let (trail, trail_unavailable) = match trail {
        Ok(trail) => (trail, None),
        Err(err @ crate::backend::BackendError::Unavailable(_)) => {
            (Vec::new(), Some(err.to_string()))
        }
        Err(err) => return Err(err),
    };
    Ok(WorkflowDetail {
        agent: agent.ok(),
        policy: policies?
            .into_iter()
            .find(|policy| policy.policy_id == workflow.triggered_by_policy),
        trail,
        trail_unavailable,
        latest_audit: audits?.into_iter().next(),
        review: review?,
        deployment: deployment.ok(),
        workflow,
    })
}

pub(super) async fn open_review(
    backend: &dyn GovernanceBackend,
    review_id: &str,
) -> crate::backend::Result<OpenedReview> {
    let review = backend.review(review_id).await?;
    let template = backend.review_template(&review.template_id).await?;
    let agent_name = backend
        .agent(&review.agent_id)
        .await
        .map_or_else(|_| review.agent_id.clone(), |agent| agent.name);
    Ok(OpenedReview {
        review,
        template,
        agent_name,
    })
}

/// The folder a file named `path` goes in.
fn folder_of(path: &std::path::Path) -> &std::path::Path {
    path.parent()
        .filter(|parent| !parent.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."))
}

/// Asks for the board report, draws it in the format its file's extension
/// names and writes it under a name that must be new; says what was saved.
pub(super) async fn save_report(
    backend: &dyn GovernanceBackend,
    query: &crate::domain::report::ReportQuery,
    path: &std::path::Path,
) -> Result<String, String> {
    use crate::report::format::{Format, render};
    let format = Format::of_path(path).ok_or("name a .pdf, .html or .md file")?;
    new_file_in_a_folder(path).await?;
    let signed = backend
        .board_report(query)
        .await
        .map_err(|err| err.to_string())?;
    let report = crate::report::note::read(&signed.note).map_err(|err| err.to_string())?;
    let bytes = render(format, &report, &signed.note).map_err(|err| err.to_string())?;
    let size = bytes.len();
    save_new_file(path, bytes).await?;
    Ok(format!(
        "Saved {} ({}, {} KB, weeks {} to {}); anyone checks it with `gavel report verify`.",
        path.display(),
        format.name(),
        size.div_ceil(1024),
        report.period.from,
        report.period.to
    ))
}

/// A file the console is asked to write: a name nothing holds yet, in a
/// folder that exists (a typo is refused, not made into a folder).
pub(super) async fn new_file_in_a_folder(path: &std::path::Path) -> Result<(), String> {
    if tokio::fs::try_exists(path).await.unwrap_or(false) {
        return Err("that file exists already: name another".into());
    }
    let folder = folder_of(path);
    if !tokio::fs::metadata(folder)
        .await
        .is_ok_and(|meta| meta.is_dir())
    {
        return Err(format!(
            "there is no folder {}: create it, or name a file in a folder that exists",
            folder.display()
        ));
    }
    Ok(())
}

/// Writes `bytes` under a name that must still be new (`files::write`:
/// atomically, never over a file that appeared meanwhile), saying in words
/// what went wrong.
pub(super) async fn save_new_file(path: &std::path::Path, bytes: Vec<u8>) -> Result<(), String> {
    let target = path.to_path_buf();
    tokio::task::spawn_blocking(move || {
        crate::files::write(&target, &bytes, crate::files::Existing::Keep)
    })
    .await
    .map_err(|err| err.to_string())?
    .map_err(|err| match err.kind() {
        std::io::ErrorKind::AlreadyExists => "that file exists already: name another".into(),
        std::io::ErrorKind::NotFound => format!(
            "there is no folder {}: create it, or name a file in a folder that exists",
            folder_of(path).display()
        ),
        std::io::ErrorKind::PermissionDenied => {
            format!("you may not write in {}", folder_of(path).display())
        }
        _ => format!("cannot save {}: {err}", path.display()),
    })
}
