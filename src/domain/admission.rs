//! Kubernetes admission: what an `AdmissionReview` (`admission.k8s.io/v1`)
//! asks about a workload, and Gavel's answer. A Pod, or a controller that
//! makes Pods, names its agent and version in the annotations
//! `gavel/agent` and `gavel/version`; the answer says whether that version
//! stands and whether every container runs an image the manifest named by
//! digest. Reading the store is the caller's; this is the format and the
//! rule.

use serde::Deserialize;
use serde_json::Value;

use crate::domain::manifest::Artifact;

/// The annotation naming the agent.
pub const AGENT_ANNOTATION: &str = "gavel/agent";
/// The annotation naming its version.
pub const VERSION_ANNOTATION: &str = "gavel/version";

/// The most problems an answer lists (kubectl prints each warning).
const MAX_PROBLEMS: usize = 8;

/// How a webhook entry answers a workload Gavel would not admit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Denied (HTTP 200 with `allowed: false`, status 403).
    Enforce,
    /// Allowed, with the reasons as warnings kubectl prints.
    Warn,
    /// Allowed silently, and recorded.
    Audit,
}

impl Mode {
    pub fn parse(text: &str) -> Option<Mode> {
        match text {
            "enforce" => Some(Mode::Enforce),
            "warn" => Some(Mode::Warn),
            "audit" => Some(Mode::Audit),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Enforce => "enforce",
            Mode::Warn => "warn",
            Mode::Audit => "audit",
        }
    }
}

/// What to do with a workload that names no agent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Unannotated {
    /// Not Gavel's business (the webhook's namespaceSelector says where
    /// agents run).
    #[default]
    Allow,
    /// Every workload the webhook sees must name its agent.
    Deny,
}

/// What a review asks, as far as Gavel reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Review {
    pub uid: String,
    /// `Pod`, `Deployment`...
    pub kind: String,
    pub operation: String,
    pub namespace: String,
    pub name: String,
    /// Answered and never recorded.
    pub dry_run: bool,
    /// The workload, for a kind that runs Pods on CREATE or UPDATE; none:
    /// not Gavel's to judge.
    pub workload: Option<Workload>,
}

/// A workload's claim and what it runs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Workload {
    pub agent: Option<String>,
    pub version: Option<String>,
    /// Every container's image (init and ephemeral ones too).
    pub images: Vec<String>,
}

/// Reads a review; the error says why it is not one.
pub fn parse(body: &[u8]) -> Result<Review, String> {
    let review: Value = serde_json::from_slice(body).map_err(|err| format!("not JSON: {err}"))?;
    let text = |value: &Value, path: &str| -> String {
        value
            .pointer(path)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    if text(&review, "/apiVersion") != "admission.k8s.io/v1"
        || text(&review, "/kind") != "AdmissionReview"
    {
        return Err(
            "not an AdmissionReview of admission.k8s.io/v1 (set admissionReviewVersions: [\"v1\"])"
                .into(),
        );
    }
    let request = review
        .get("request")
        .filter(|request| request.is_object())
        .ok_or("the review has no request")?;
    let uid = text(request, "/uid");
    if uid.is_empty() || uid.len() > 128 {
        return Err("the review's request has no uid".into());
    }
    let kind = text(request, "/kind/kind");
    let operation = text(request, "/operation");
    let judged = matches!(operation.as_str(), "CREATE" | "UPDATE");
    let workload = request
        .get("object")
        .filter(|_| judged)
        .and_then(|object| workload(&kind, object));
    Ok(Review {
        uid,
        namespace: text(request, "/namespace"),
        name: text(request, "/name"),
        dry_run: request
            .get("dryRun")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        kind,
        operation,
        workload,
    })
}

/// The Pod template of a kind that runs Pods, with the annotations and
/// images Gavel judges.
fn workload(kind: &str, object: &Value) -> Option<Workload> {
    let template = match kind {
        "Pod" => object,
        "Deployment"
        | "StatefulSet"
        | "DaemonSet"
        | "ReplicaSet"
        | "Job"
        | "ReplicationController" => object.pointer("/spec/template")?,
        "CronJob" => object.pointer("/spec/jobTemplate/spec/template")?,
        _ => return None,
    };
    let annotation = |name: &str| {
        [object, template].into_iter().find_map(|part| {
            part.pointer("/metadata/annotations")
                .and_then(|annotations| annotations.get(name))
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|value| !value.is_empty())
                .map(str::to_owned)
        })
    };
    let images = ["containers", "initContainers", "ephemeralContainers"]
        .iter()
        .filter_map(|list| template.pointer(&format!("/spec/{list}"))?.as_array())
        .flatten()
        .map(|container| {
            container
                .get("image")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    Some(Workload {
        agent: annotation(AGENT_ANNOTATION),
        version: annotation(VERSION_ANNOTATION),
        images,
    })
}

/// Where the version a workload names stands, as the store judged it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    /// It may deploy; these are the artifacts its manifest named.
    Stands { artifacts: Vec<Artifact> },
    /// It may not, and why.
    DoesNot { reasons: Vec<String> },
}

/// Gavel's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub allowed: bool,
    /// Why it is denied (enforce).
    pub message: Option<String>,
    /// Why it would be denied (warn).
    pub warnings: Vec<String>,
    /// What Gavel would not admit, in every mode (for the record).
    pub problems: Vec<String>,
}

impl Verdict {
    /// Admitted, with nothing to say.
    pub fn allow() -> Verdict {
        Verdict {
            allowed: true,
            message: None,
            warnings: Vec::new(),
            problems: Vec::new(),
        }
    }
}

/// The problems with a workload naming a version that stands as `standing`.
pub fn problems(workload: &Workload, standing: &Standing) -> Vec<String> {
    let (agent, version) = (
        workload.agent.as_deref().unwrap_or_default(),
        workload.version.as_deref().unwrap_or_default(),
    );
    let artifacts = match standing {
        Standing::DoesNot { reasons } => {
            return reasons
                .iter()
                .map(|reason| format!("{agent} {version} may not deploy: {reason}"))
                .collect();
        }
        Standing::Stands { artifacts } => artifacts,
    };
    if artifacts.is_empty() {
        // The manifest named no artifacts: nothing to hold images to.
        return Vec::new();
    }
    workload
        .images
        .iter()
        .filter_map(|image| match image.rsplit_once('@') {
            None => Some(format!(
                "image {image} is given by tag, which can change under it: name it by digest (image@sha256:…)"
            )),
            Some((_, digest)) if artifacts.iter().any(|artifact| artifact.digest == digest) => None,
            Some(_) => Some(format!(
                "image {image} is not one of the artifacts {agent} {version}'s manifest named"
            )),
        })
        .collect()
}

/// Judges a workload: `standing` is asked only for an annotated one.
pub fn judge(
    mode: Mode,
    unannotated: Unannotated,
    workload: &Workload,
    standing: impl FnOnce(&str, &str) -> Standing,
) -> Verdict {
    let mut problems = match (&workload.agent, &workload.version) {
        (None, None) => match unannotated {
            Unannotated::Allow => return Verdict::allow(),
            Unannotated::Deny => vec![format!(
                "the workload names no agent: annotate it with {AGENT_ANNOTATION} and {VERSION_ANNOTATION}"
            )],
        },
        (Some(_), None) | (None, Some(_)) => vec![format!(
            "annotate both {AGENT_ANNOTATION} and {VERSION_ANNOTATION}"
        )],
        (Some(agent), Some(version)) => problems(workload, &standing(agent, version)),
    };
    if problems.is_empty() {
        return Verdict::allow();
    }
    problems.truncate(MAX_PROBLEMS);
    let problems: Vec<String> = problems
        .iter()
        .map(|problem| crate::text::sanitize(problem).chars().take(512).collect())
        .collect();
    match mode {
        Mode::Enforce => Verdict {
            allowed: false,
            message: Some(format!("Gavel: {}", problems.join("; "))),
            warnings: Vec::new(),
            problems,
        },
        Mode::Warn => Verdict {
            allowed: true,
            message: None,
            warnings: problems
                .iter()
                .map(|problem| format!("Gavel: {problem}"))
                .collect(),
            problems,
        },
        Mode::Audit => Verdict {
            problems,
            ..Verdict::allow()
        },
    }
}

/// The AdmissionReview Gavel answers with.
pub fn answer(uid: &str, verdict: &Verdict) -> Value {
    // `status` is read only on a denial; always present, as client
    // libraries (kube-rs) expect it.
    let status = match &verdict.message {
        Some(message) => {
            serde_json::json!({ "code": 403, "reason": "Forbidden", "message": message })
        }
        None => serde_json::json!({}),
    };
    let mut response =
        serde_json::json!({ "uid": uid, "allowed": verdict.allowed, "status": status });
    if !verdict.warnings.is_empty() {
        response["warnings"] = serde_json::json!(verdict.warnings);
    }
    serde_json::json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "response": response,
    })
}

#[cfg(test)]
mod tests;
