//! How `gavel deploy check` speaks to CI systems: GitHub's workflow
//! commands and step summary, GitLab's code-quality report, JUnit XML.
//! Each says the same thing as the text: the outcome, each policy that
//! fired with why and what to do, on the manifest the pipeline checked.
//! Everything from the store is escaped for where it goes.

use std::fmt::Write as _;

use sha2::{Digest, Sha256};

use crate::domain::{DeploymentStatus, Evaluation, Manifest, PolicyAction};

/// What a check prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum CheckFormat {
    /// For people.
    #[default]
    Text,
    /// The evaluation as JSON.
    Json,
    /// GitHub Actions' workflow commands (annotations); the step summary
    /// goes to `$GITHUB_STEP_SUMMARY` when it is set.
    Github,
    /// GitLab's code-quality report (JSON).
    Gitlab,
    /// JUnit XML: one test case per policy that fired.
    Junit,
}

fn status_words(status: DeploymentStatus) -> &'static str {
    match status {
        DeploymentStatus::Allowed => "allowed",
        DeploymentStatus::Approved => "approved",
        DeploymentStatus::PendingApproval => "approval required",
        DeploymentStatus::Blocked => "blocked",
        _ => "not allowed",
    }
}

/// One finding a CI system shows: a policy that fired, or a warning.
struct Finding {
    policy: String,
    title: String,
    message: String,
    /// Whether it stops the deployment now (blocks, or asks sign-off).
    gating: bool,
    blocking: bool,
}

fn findings(evaluation: &Evaluation) -> Vec<Finding> {
    let pending = evaluation.status == DeploymentStatus::PendingApproval;
    let mut found: Vec<Finding> = evaluation
        .triggered_policies
        .iter()
        .map(|policy| {
            let asks = matches!(
                policy.action,
                PolicyAction::RequireApproval | PolicyAction::RequireBiasAudit
            );
            Finding {
                policy: policy.policy_id.clone(),
                title: policy.name.clone(),
                message: format!("{} — {}", policy.reason, policy.remediation),
                gating: policy.blocking || (pending && asks),
                blocking: policy.blocking,
            }
        })
        .collect();
    found.extend(evaluation.warnings.iter().map(|warning| Finding {
        policy: "warning".into(),
        title: "Gavel warns".into(),
        message: warning.clone(),
        gating: false,
        blocking: false,
    }));
    found
}

/// A workflow command's message: `%`, CR and LF escaped.
fn github_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A workflow command's property: also `:` and `,`.
fn github_property(text: &str) -> String {
    github_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// GitHub's annotations (stdout) and the step summary (Markdown).
pub fn github(manifest: &Manifest, path: &str, evaluation: &Evaluation) -> (String, String) {
    let agent = &manifest.agent;
    let mut out = String::new();
    let file = github_property(path);
    for finding in findings(evaluation) {
        let level = if finding.blocking {
            "error"
        } else if finding.gating || finding.policy == "warning" {
            "warning"
        } else {
            "notice"
        };
        let _ = writeln!(
            out,
            "::{level} file={file},title={}::{}",
            github_property(&format!("Gavel {}: {}", finding.policy, finding.title)),
            github_data(&crate::text::sanitize(&finding.message))
        );
    }
    let verdict = status_words(evaluation.status);
    let _ = writeln!(
        out,
        "::notice file={file},title={}::{}",
        github_property("Gavel"),
        github_data(&crate::text::sanitize(&format!(
            "{} {}: {verdict}",
            agent.agent_id, agent.version
        )))
    );
    let mut summary = format!(
        "## Gavel: {} {} is {verdict}\n\n",
        markdown(&agent.agent_id),
        markdown(&agent.version)
    );
    if let Some(version) = evaluation.policy_set_version {
        let _ = writeln!(summary, "Under policy set version {version}.\n");
    }
    let found = findings(evaluation);
    if !found.is_empty() {
        summary.push_str("| | policy | why | what to do |\n| --- | --- | --- | --- |\n");
        for policy in &evaluation.triggered_policies {
            let mark = if policy.blocking { "✗" } else { "•" };
            let _ = writeln!(
                summary,
                "| {mark} | {} | {} | {} |",
                markdown(&policy.policy_id),
                markdown(&policy.reason),
                markdown(&policy.remediation)
            );
        }
        for warning in &evaluation.warnings {
            let _ = writeln!(summary, "| ⚠ | warning | {} | |", markdown(warning));
        }
    }
    (out, summary)
}

/// Text safe in a Markdown table cell.
fn markdown(text: &str) -> String {
    crate::text::sanitize(text)
        .replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace(['\n', '\r'], " ")
}

/// GitLab's code-quality report: one issue per policy that fired.
pub fn gitlab(manifest: &Manifest, path: &str, evaluation: &Evaluation) -> serde_json::Value {
    let agent = &manifest.agent;
    let issues: Vec<serde_json::Value> = findings(evaluation)
        .into_iter()
        .map(|finding| {
            let severity = if finding.blocking {
                "blocker"
            } else if finding.gating {
                "major"
            } else {
                "info"
            };
            let fingerprint = hex::encode(Sha256::digest(
                format!("{}\0{}\0{}", agent.agent_id, agent.version, finding.policy).as_bytes(),
            ));
            serde_json::json!({
                "description": format!("Gavel {}: {}", finding.policy, finding.message),
                "check_name": format!("gavel/{}", finding.policy),
                "fingerprint": fingerprint,
                "severity": severity,
                "location": { "path": path, "lines": { "begin": 1 } },
            })
        })
        .collect();
    serde_json::Value::Array(issues)
}

/// Text safe in XML 1.0: escaped, without the characters it forbids.
fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if c < ' ' || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// JUnit XML: a test case per policy that fired (failing when it stops
/// the deployment), or one passing case when nothing did.
pub fn junit(manifest: &Manifest, path: &str, evaluation: &Evaluation) -> String {
    let agent = &manifest.agent;
    let found = findings(evaluation);
    let failures = found.iter().filter(|finding| finding.gating).count();
    let suite = format!("gavel deploy check {} {}", agent.agent_id, agent.version);
    let class = format!("gavel.{}", agent.agent_id);
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let tests = found.len().max(1);
    let _ = writeln!(
        out,
        "<testsuites name=\"gavel\" tests=\"{tests}\" failures=\"{failures}\">\n  <testsuite name=\"{}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" skipped=\"0\">",
        xml(&suite)
    );
    let _ = writeln!(
        out,
        "    <properties><property name=\"manifest\" value=\"{}\"/><property name=\"outcome\" value=\"{}\"/></properties>",
        xml(path),
        status_words(evaluation.status)
    );
    if found.is_empty() {
        let _ = writeln!(
            out,
            "    <testcase classname=\"{}\" name=\"deploy check\"/>",
            xml(&class)
        );
    }
    for finding in &found {
        let name = format!("{}: {}", finding.policy, finding.title);
        if finding.gating {
            let kind = if finding.blocking {
                "blocked"
            } else {
                "approval_required"
            };
            let _ = writeln!(
                out,
                "    <testcase classname=\"{}\" name=\"{}\">\n      <failure type=\"{kind}\" message=\"{}\">{}</failure>\n    </testcase>",
                xml(&class),
                xml(&name),
                xml(&finding.message),
                xml(&finding.message)
            );
        } else {
            let _ = writeln!(
                out,
                "    <testcase classname=\"{}\" name=\"{}\">\n      <system-out>{}</system-out>\n    </testcase>",
                xml(&class),
                xml(&name),
                xml(&finding.message)
            );
        }
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_keep_each_format_whole() {
        assert_eq!(github_data("50%\nnext"), "50%25%0Anext");
        assert_eq!(github_property("a:b,c"), "a%3Ab%2Cc");
        assert_eq!(
            xml("<a & \"b\"\u{1}>"),
            "&lt;a &amp; &quot;b&quot;\u{FFFD}&gt;"
        );
        assert_eq!(markdown("a|b\nc"), "a\\|b c");
    }
}
