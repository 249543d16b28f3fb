//! `gavel audit run|runs|cases`: bias audits run against the agent itself,
//! and their evidence.

use std::fmt::Write as _;
use std::io::IsTerminal;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::args::AuditRunArgs;
use super::exit;
use super::exit::{Failure, Outcome};
use super::input::read_input;
use super::output;
use super::output::print_json;
use crate::auditor::agent::{AgentClient, ApiKey};
use crate::auditor::cases::{self, CaseFile};
use crate::auditor::classifier::{Classifier, DEFAULT_CLASSIFIER};
use crate::auditor::run::{Progress, RunEnd, each_case, execute};
use crate::backend::{
    AgentProtocol, AuditRun, AuditRunStart, CaseOutcome, CaseOutcomeKind, CaseQuery,
    GovernanceBackend, RunSettings,
};
use crate::text::sanitize;

const MAX_CLASSIFIER_BYTES: usize = 64 * 1024;

fn bad(message: impl Into<String>) -> Failure {
    Failure::BadInput(message.into())
}

/// The endpoint as given, refused when it carries what must not be
/// stored (credentials, a query).
fn endpoint(text: &str) -> Result<url::Url, Failure> {
    let url = url::Url::parse(text).map_err(|err| bad(format!("--endpoint {text:?}: {err}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("--endpoint must be an http:// or https:// URL"));
    }
    if !url.username().is_empty() || url.password().is_some() || url.query().is_some() {
        return Err(bad(
            "--endpoint must not carry credentials or a query: the run keeps its endpoint, so put the key in the variable --api-key-env names",
        ));
    }
    Ok(url)
}

fn read_cases(path: &Path) -> Result<CaseFile, Failure> {
    cases::read(path).map_err(|err| bad(err.0))
}

fn key(settings: &RunSettings) -> Result<Option<ApiKey>, Failure> {
    settings
        .api_key_env
        .as_deref()
        .map(ApiKey::from_env)
        .transpose()
        .map_err(Failure::BadInput)
}

/// The agent's client and the classifier a run's settings describe.
fn tools(settings: &RunSettings) -> Result<(AgentClient, Classifier), Failure> {
    let classifier = Classifier::parse(&settings.classifier).map_err(Failure::BadInput)?;
    let url = endpoint(&settings.endpoint)?;
    let client = AgentClient::new(
        &url,
        settings.agent.clone(),
        key(settings)?,
        Duration::from_millis(settings.timeout_ms),
        settings.max_attempts,
    )
    .map_err(Failure::BadInput)?;
    Ok((client, classifier))
}

/// A new run's settings from the command line.
fn settings(
    args: &AuditRunArgs,
    attributes: Vec<String>,
    case_file: &Path,
) -> Result<RunSettings, Failure> {
    let endpoint = endpoint(args.endpoint.as_deref().unwrap_or_default())?;
    let agent = match args.protocol.as_str() {
        "json" => {
            let template = args
                .body_template
                .as_ref()
                .ok_or_else(|| bad("--protocol json needs --body-template FILE"))?;
            let text = read_input(template, 64 * 1024)?;
            let body_template = serde_json::from_str(&text)
                .map_err(|err| bad(format!("{}: {err}", template.display())))?;
            let answer_pointer = args
                .answer_pointer
                .clone()
                .ok_or_else(|| bad("--protocol json needs --answer-pointer (e.g. /output/text)"))?;
            if !(answer_pointer.is_empty() || answer_pointer.starts_with('/')) {
                return Err(bad("--answer-pointer is a JSON pointer: it starts with /"));
            }
            AgentProtocol::JsonHttp {
                body_template,
                answer_pointer,
            }
        }
        _ => AgentProtocol::OpenaiChat {
            model: args.model.clone(),
            system_prompt: args.system_prompt.clone(),
            temperature: args.temperature,
            prompt_template: args.prompt_template.clone(),
        },
    };
    let classifier = match &args.classifier {
        Some(path) => read_input(path, MAX_CLASSIFIER_BYTES)?,
        None => DEFAULT_CLASSIFIER.to_owned(),
    };
    if !(args.timeout.is_finite() && (0.1..=600.0).contains(&args.timeout)) {
        return Err(bad("--timeout is 0.1 to 600 seconds"));
    }
    let case_file = std::path::absolute(case_file).unwrap_or_else(|_| case_file.to_owned());
    Ok(RunSettings {
        agent,
        endpoint: endpoint.to_string(),
        api_key_env: args.api_key_env.clone(),
        case_file: case_file.display().to_string(),
        attribute: attributes.first().cloned().unwrap_or_default(),
        attributes: if attributes.len() > 1 {
            attributes
        } else {
            Vec::new()
        },
        classifier,
        concurrency: args.concurrency,
        timeout_ms: (args.timeout * 1000.0) as u64,
        max_attempts: args.attempts,
        requests_per_second: args.rps,
        mode: args.mode,
    })
}

pub async fn run(backend: Arc<dyn GovernanceBackend>, args: AuditRunArgs) -> Outcome {
    let (run, cases, client, classifier) = match &args.resume {
        Some(run_id) => {
            let run = backend.audit_run(run_id).await?;
            if run.finished_at.is_some() {
                return Err(Failure::Refused(format!(
                    "run {run_id} is finished: it became audit {}",
                    run.audit_id.as_deref().unwrap_or("?")
                )));
            }
            let file = read_cases(Path::new(&run.settings.case_file))?;
            if file.sha256 != run.cases_sha256 {
                return Err(Failure::Refused(format!(
                    "{} has changed since run {run_id} started (SHA-256 {} then, {} now): a resume asks the same cases",
                    run.settings.case_file, run.cases_sha256, file.sha256
                )));
            }
            let (client, classifier) = tools(&run.settings)?;
            eprintln!(
                "resuming audit run {run_id}: {} of {} cases have an outcome",
                run.counts.done, run.case_count
            );
            (run, file.cases, client, classifier)
        }
        None => {
            let path = args.cases.clone().unwrap_or_default();
            let file = read_cases(&path)?;
            let attributes =
                cases::audit_attributes(&file.cases, &args.attribute).map_err(|err| bad(err.0))?;
            let settings = settings(&args, attributes, &path)?;
            // Everything is checked before the run is recorded: a bad key
            // variable, classifier or template is an error now, not a run
            // that stops.
            let (client, classifier) = tools(&settings)?;
            if let Some(case) = file.cases.first() {
                client.body(case).map_err(Failure::BadInput)?;
            }
            let start = AuditRunStart {
                agent_id: args.agent.clone().unwrap_or_default(),
                agent_version: args.agent_version.clone().unwrap_or_default(),
                settings,
                cases_sha256: file.sha256.clone(),
                case_count: file.cases.len() as u64,
            };
            let run = backend.start_audit_run(&start).await?;
            eprintln!(
                "audit run {}: {} cases against {} grouped by {}; if it stops, `gavel audit run --resume {}` goes on",
                run.run_id,
                run.case_count,
                sanitize(&run.settings.endpoint),
                run.settings.attribute,
                run.run_id
            );
            (run, file.cases, client, classifier)
        }
    };
    let progress = if std::io::stderr().is_terminal() {
        Progress::Bar
    } else {
        Progress::Lines
    };
    let stop = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let end = execute(
        Arc::clone(&backend),
        &run,
        cases,
        client,
        classifier,
        progress,
        stop,
    )
    .await?;
    let resume = format!("`gavel audit run --resume {}`", run.run_id);
    match end {
        RunEnd::Finished(audit) => {
            let finished = backend.audit_run(&run.run_id).await?;
            if args.json {
                print_json(&serde_json::json!({ "run": finished, "audit": audit }))?;
            } else {
                print!("{}", summary(&finished));
                print!("{}", output::audit(&audit));
            }
            Ok(exit::OK)
        }
        RunEnd::Stopped { done, total } => {
            eprintln!(
                "stopped: {done} of {total} cases have an outcome and are kept; {resume} asks the rest"
            );
            Ok(130)
        }
        RunEnd::Incomplete {
            done,
            total,
            failed,
            last_error,
        } => Err(Failure::Other(color_eyre::eyre::eyre!(
            "{failed} case(s) got no answer after their retries ({done} of {total} have an outcome; the last error: {}); {resume} asks them again",
            sanitize(&last_error)
        ))),
        RunEnd::Fatal { done, reason } => Err(Failure::Other(color_eyre::eyre::eyre!(
            "the run stopped: {} ({done} cases have an outcome and are kept; {resume} goes on once it is fixed)",
            sanitize(&reason)
        ))),
    }
}

/// A run in a few lines: what was asked, how, and what came back.
pub fn summary(run: &AuditRun) -> String {
    let mut out = String::new();
    let model = match &run.settings.agent {
        AgentProtocol::OpenaiChat { model, .. } => format!("chat model {}", sanitize(model)),
        AgentProtocol::JsonHttp { answer_pointer, .. } => {
            format!("JSON agent, answer at {}", sanitize(answer_pointer))
        }
    };
    let _ = writeln!(
        out,
        "run {} of {} {}: {} against {}, started by {} {}",
        sanitize(&run.run_id),
        sanitize(&run.agent_id),
        sanitize(&run.agent_version),
        model,
        sanitize(&run.settings.endpoint),
        sanitize(&run.started_by),
        run.started_at.format("%Y-%m-%d %H:%M"),
    );
    let counts = &run.counts;
    let _ = writeln!(
        out,
        "  {} of {} cases answered: {} positive, {} negative, {} unknown (grouped by {})",
        counts.done,
        run.case_count,
        counts.positive,
        counts.negative,
        counts.unknown,
        sanitize(&run.settings.attribute),
    );
    if counts.pairs > 0 {
        let _ = writeln!(
            out,
            "  counterfactual pairs: the outcome flips in {} of {} ({:.1}%)",
            counts.flipped_pairs,
            counts.pairs,
            counts.flipped_pairs as f64 * 100.0 / counts.pairs as f64
        );
    }
    let _ = writeln!(
        out,
        "  cases sha256 {} · classifier sha256 {}{}",
        run.cases_sha256,
        run.classifier_sha256,
        run.evidence_sha256
            .as_deref()
            .map(|sha| format!(" · evidence sha256 {sha}"))
            .unwrap_or_default()
    );
    out
}

pub async fn runs(backend: &dyn GovernanceBackend, agent: Option<&str>, json: bool) -> Outcome {
    let runs = backend.audit_runs(agent).await?;
    if json {
        print_json(&runs)?;
        return Ok(exit::OK);
    }
    if runs.is_empty() {
        println!("no audit run yet");
    }
    for run in &runs {
        let state = match (&run.finished_at, &run.audit_id) {
            (Some(_), Some(audit)) => format!("finished: {}", sanitize(audit)),
            _ => format!("{}/{} cases", run.counts.done, run.case_count),
        };
        println!(
            "{}  {} {}  {}  by {} {}",
            sanitize(&run.run_id),
            sanitize(&run.agent_id),
            sanitize(&run.agent_version),
            state,
            sanitize(&run.started_by),
            run.started_at.format("%Y-%m-%d %H:%M")
        );
    }
    Ok(exit::OK)
}

pub async fn list_cases(
    backend: &dyn GovernanceBackend,
    run_id: &str,
    (group, categories): (Option<String>, Vec<(String, String)>),
    outcome: Option<CaseOutcomeKind>,
    limit: Option<u64>,
    json: bool,
) -> Outcome {
    let run = backend.audit_run(run_id).await?;
    let mut shown = 0u64;
    let mut failed = None;
    let query = CaseQuery {
        group,
        categories,
        outcome,
        after: None,
        limit: 500,
    };
    each_case(backend, run_id, query, |case| {
        if limit.is_some_and(|limit| shown >= limit) {
            return false;
        }
        if json {
            match serde_json::to_string(&case) {
                Ok(line) => println!("{line}"),
                Err(err) => {
                    failed = Some(err);
                    return false;
                }
            }
        } else {
            print!("{}", case_text(&case, &run.settings.attribute));
        }
        shown += 1;
        true
    })
    .await?;
    if let Some(err) = failed {
        return Err(Failure::Other(err.into()));
    }
    if shown == 0 && !json {
        println!("no case matches");
    }
    Ok(exit::OK)
}

fn case_text(case: &CaseOutcome, attribute: &str) -> String {
    let group = case.attributes.get(attribute).map_or("?", String::as_str);
    let mut out = format!(
        "{} [{}] {} · {} ms · {}\n",
        sanitize(&case.case_id),
        sanitize(group),
        case.outcome,
        case.latency_ms,
        sanitize(&case.reason)
    );
    let _ = writeln!(out, "  asked: {}", sanitize(&first_line(&case.input, 160)));
    let _ = writeln!(
        out,
        "  answer: {}",
        sanitize(&first_line(&case.response, 160))
    );
    out
}

fn first_line(text: &str, max: usize) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max {
        flat
    } else {
        flat.chars().take(max).collect::<String>() + "…"
    }
}
