//! The confirm dialog for approving or rejecting, with its comment: a
//! workflow's current step, or a proposed policy set version.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};
use ratatui_textarea::TextArea;

use super::centered;
use crate::backend::{Decision, PolicySetVersion, User};
use crate::domain::decision::{Decider, DecisionError, DecisionRequest, ReviewFacts};
use crate::domain::{EthicsReview, ReviewStatus, Verdict, Workflow};
use crate::text::sanitize;
use crate::tui::action::Action;
use crate::tui::keymap::Keymap;
use crate::tui::mode::Mode;
use crate::tui::theme::{Role, Theme};

#[derive(Debug, Clone)]
pub struct DecideDialog {
    /// The workflow, or the policy set version, being decided.
    pub subject: Subject,
    pub verdict: Verdict,
    pub comment: TextArea<'static>,
    pub error: Option<String>,
    pub submitting: bool,
    /// One key for every attempt of this dialog, so a retry is applied once.
    pub idempotency_key: String,
    /// Whom the decision is for (someone who delegated to the reader).
    pub on_behalf_of: Option<String>,
    /// The people the reader may decide for now (their delegators).
    pub delegators: Vec<String>,
    /// Who decides, to check the rules before anything is sent.
    pub reader: Option<User>,
    /// The workflow's ethics review as last loaded: `None` while loading,
    /// `Some(None)` when nobody holds it.
    pub review: Option<Option<EthicsReview>>,
    /// The version the user was shown before someone else changed the
    /// workflow under the dialog; confirming first acknowledges it.
    pub changed: Option<i64>,
}

/// What the dialog decides.
#[derive(Debug, Clone)]
pub enum Subject {
    /// The current step of a workflow.
    Workflow {
        workflow_id: String,
        agent_name: String,
        /// The workflow as last loaded; `None` while loading.
        workflow: Option<Workflow>,
    },
    /// A proposed policy set version.
    PolicySet {
        version: PolicySetVersion,
        /// The version active now, which approval supersedes.
        active: Option<i64>,
        /// The recorded plan's impact, in one line.
        impact: Option<String>,
    },
}

/// What confirming sends.
#[derive(Debug, Clone, PartialEq)]
pub enum Submission {
    Workflow(Decision),
    PolicySet {
        version: i64,
        approve: bool,
        comment: Option<String>,
    },
}

impl DecideDialog {
    pub fn new(subject: Subject, verdict: Verdict) -> DecideDialog {
        let mut comment = TextArea::default();
        // A long reason wraps, so its start never scrolls out of sight.
        comment.set_wrap_mode(ratatui_textarea::WrapMode::WordOrGlyph);
        comment.set_placeholder_text(match verdict {
            Verdict::Approve => "optional comment",
            Verdict::Reject => "say why (required)",
        });
        DecideDialog {
            subject,
            verdict,
            comment,
            error: None,
            submitting: false,
            idempotency_key: Decision::new_key(),
            on_behalf_of: None,
            delegators: Vec::new(),
            reader: None,
            review: None,
            changed: None,
        }
    }

    /// Why the backend would refuse this decision, checked with the rules
    /// it applies (stale versions aside) once the workflow and its review
    /// are known. A decision for someone else is left to the backend,
    /// which knows the delegation.
    pub fn refusal(&self) -> Option<String> {
        let Subject::Workflow {
            workflow: Some(workflow),
            ..
        } = &self.subject
        else {
            return None;
        };
        let (Some(reader), Some(review), None) = (&self.reader, &self.review, &self.on_behalf_of)
        else {
            return None;
        };
        let step = workflow.current_step()?;
        let now = chrono::Utc::now();
        let request = DecisionRequest {
            step_id: step.step_id,
            verdict: self.verdict,
            // The comment's own rules are checked as it is typed.
            comment: None,
            expected_version: workflow.version,
            review: review.as_ref().map(|review| ReviewFacts {
                reviewer: &review.reviewer,
                submitted: review.status == ReviewStatus::Submitted,
            }),
            decided_at: now,
            received_at: now,
        };
        match workflow.check_decision(&Decider::person(&reader.email, &reader.roles), &request) {
            Ok(()) | Err(DecisionError::EmptyRejectionComment) => None,
            Err(DecisionError::NotTheReviewer { reviewer, .. }) => Some(format!(
                "only {}, who holds its ethics review, decides this step",
                sanitize(&reviewer)
            )),
            Err(DecisionError::EthicsReviewNotSubmitted) => Some(match review {
                None => "its ethics review is not assigned yet: assign it (A), and its author decides this step once it is submitted".to_owned(),
                Some(review) => format!(
                    "its ethics review ({}, {}) must be submitted before this step can be approved",
                    sanitize(&review.reviewer),
                    review.status
                ),
            }),
            Err(other) => Some(other.to_string()),
        }
    }

    /// Decides for the next person who delegated to the reader, then for
    /// the reader again.
    pub fn cycle_on_behalf(&mut self) {
        if self.submitting {
            return;
        }
        let next = match &self.on_behalf_of {
            None => self.delegators.first(),
            Some(current) => self
                .delegators
                .iter()
                .skip_while(|delegator| *delegator != current)
                .nth(1),
        };
        self.on_behalf_of = next.cloned();
        self.error = None;
    }

    /// What the dialog re-reads before it can say what deciding would do:
    /// the workflow, and who holds its ethics review.
    pub fn loads(workflow_id: &str) -> Vec<crate::tui::command::Command> {
        use crate::tui::command::Command;
        vec![
            Command::LoadWorkflow {
                workflow_id: workflow_id.to_owned(),
            },
            Command::LoadReviewOf {
                workflow_id: workflow_id.to_owned(),
            },
        ]
    }

    /// The workflow this dialog decides a step of, if it does.
    pub fn workflow_id(&self) -> Option<&str> {
        match &self.subject {
            Subject::Workflow { workflow_id, .. } => Some(workflow_id),
            Subject::PolicySet { .. } => None,
        }
    }

    /// Whether what the dialog needs to show is still on its way.
    pub fn is_loading(&self) -> bool {
        matches!(&self.subject, Subject::Workflow { workflow: None, .. })
    }

    /// Puts what the editor wrote in the comment.
    pub fn replace_comment(&mut self, text: &str) {
        self.comment.select_all();
        self.comment.cut();
        self.comment.insert_str(text);
    }

    pub fn comment_text(&self) -> String {
        self.comment.lines().join("\n").trim().to_owned()
    }

    /// What to send, or why nothing can be sent yet.
    pub fn submission(&self) -> Result<Submission, String> {
        let comment = self.comment_text();
        if self.verdict == Verdict::Reject && comment.is_empty() {
            return Err("a rejection needs a comment saying why".into());
        }
        if let Some(refusal) = self.refusal() {
            return Err(refusal);
        }
        match &self.subject {
            Subject::Workflow { .. } => self.decision().map(Submission::Workflow),
            Subject::PolicySet { version, .. } => Ok(Submission::PolicySet {
                version: version.version,
                approve: self.verdict == Verdict::Approve,
                comment: (!comment.is_empty()).then_some(comment),
            }),
        }
    }

    /// The workflow decision to send, or why none can be sent yet.
    fn decision(&self) -> Result<Decision, String> {
        let Subject::Workflow {
            workflow_id,
            workflow,
            ..
        } = &self.subject
        else {
            return Err("this dialog decides a policy set".into());
        };
        let workflow = workflow.as_ref().ok_or("the workflow is still loading")?;
        let step = workflow.current_step().ok_or_else(|| {
            format!(
                "the workflow is already {}: nothing is left to decide",
                workflow.status
            )
        })?;
        let comment = self.comment_text();
        if self.verdict == Verdict::Reject && comment.is_empty() {
            return Err("a rejection needs a comment saying why".into());
        }
        Ok(Decision {
            workflow_id: workflow_id.clone(),
            step_id: step.step_id,
            verdict: self.verdict,
            comment: (!comment.is_empty()).then_some(comment),
            expected_version: workflow.version,
            idempotency_key: self.idempotency_key.clone(),
            decision_at: None,
            on_behalf_of: self.on_behalf_of.clone(),
        })
    }

    /// What deciding will do, in words.
    pub fn consequence(&self) -> Vec<String> {
        let workflow = match &self.subject {
            Subject::Workflow { workflow, .. } => workflow,
            Subject::PolicySet {
                version,
                active,
                impact,
            } => return policy_set_consequence(self.verdict, version, *active, impact.as_deref()),
        };
        let Some(workflow) = workflow else {
            return vec!["Loading the workflow…".into()];
        };
        let mut lines = Vec::new();
        if let Some(seen) = self.changed {
            lines.push(format!(
                "Changed by someone else since you saw it (version {seen} → {}): read it again.",
                workflow.version
            ));
        }
        let Some(step) = workflow.current_step() else {
            lines.push(format!("This workflow is already {}.", workflow.status));
            return lines;
        };
        if let Some(refusal) = self.refusal() {
            lines.push(format!(
                "You cannot decide step {}: {refusal}.",
                step.step_id
            ));
            return lines;
        }
        let total = workflow.steps.len();
        let as_role = format!(
            "You decide step {} of {total} as {}.",
            step.step_id,
            step.role.with_article()
        );
        let next = workflow
            .steps
            .iter()
            .find(|later| later.step_id == step.step_id + 1);
        let effect = match (self.verdict, next) {
            (Verdict::Approve, Some(next)) => format!("The workflow then waits on {} (step {}).", next.role.with_article(), next.step_id),
            (Verdict::Approve, None) => {
                "This is the last step: the workflow is approved, and the deployment too once all its workflows are.".to_owned()
            }
            (Verdict::Reject, _) => {
                let skipped = total - step.step_id as usize;
                let skipped = if skipped == 0 { String::new() } else { format!(", {skipped} later step(s) are skipped") };
                format!("The workflow ends rejected{skipped}, and the deployment is rejected.")
            }
        };
        lines.extend([as_role, effect]);
        match &self.on_behalf_of {
            Some(delegator) => lines.push(format!(
                "For {} (their delegation): it counts as theirs and yours. ctrl-o: next",
                sanitize(delegator)
            )),
            None if !self.delegators.is_empty() => lines.push(format!(
                "For yourself. ctrl-o: decide for {}",
                self.delegators
                    .iter()
                    .map(|delegator| sanitize(delegator).into_owned())
                    .collect::<Vec<_>>()
                    .join(" or ")
            )),
            None => {}
        }
        lines
    }

    pub fn render(&self, frame: &mut Frame, area: Rect, keymap: &Keymap, theme: &Theme) {
        // A policy set's consequence and plan take more words than a step's.
        let about_height = match self.subject {
            Subject::Workflow { .. } => 4 + u16::from(!self.delegators.is_empty()),
            Subject::PolicySet { .. } => 7,
        };
        let area = centered(area, 72, 13 + about_height);
        super::clear(frame, area, theme);
        let (verb, title_role) = match self.verdict {
            Verdict::Approve => ("Approve", Role::Ok),
            Verdict::Reject => ("Reject", Role::Danger),
        };
        let (what, heading) = match &self.subject {
            Subject::Workflow {
                workflow_id,
                agent_name,
                ..
            } => (workflow_id.clone(), agent_name.clone()),
            Subject::PolicySet { version, .. } => (
                format!("policy set version {}", version.version),
                version.description.clone(),
            ),
        };
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme.style(title_role))
            .title(Span::styled(
                format!(" {verb} {} ", sanitize(&what)),
                theme.style(title_role),
            ));
        let inner = block.inner(area);
        frame.render_widget(block, area);
        let [about, comment_label, comment, error, keys] = Layout::vertical([
            Constraint::Length(about_height),
            Constraint::Length(1),
            Constraint::Min(3),
            Constraint::Length(2),
            Constraint::Length(1),
        ])
        .areas(inner);
        let mut lines = vec![Line::styled(
            sanitize(&heading).into_owned(),
            theme.style(Role::Header),
        )];
        let tone = if self.refusal().is_some() {
            Role::Warn
        } else {
            Role::Base
        };
        lines.extend(
            self.consequence()
                .into_iter()
                .map(|line| Line::styled(line, theme.style(tone))),
        );
        frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), about);
        let label = match self.verdict {
            Verdict::Approve => "Comment (optional):",
            Verdict::Reject => "Comment (required, say why):",
        };
        frame.render_widget(
            Paragraph::new(Span::styled(label, theme.style(Role::Muted))),
            comment_label,
        );
        let mut textarea = self.comment.clone();
        textarea.set_block(
            Block::default()
                .borders(Borders::ALL)
                .border_style(theme.style(Role::Border)),
        );
        textarea.set_style(theme.style(Role::Base));
        textarea.set_cursor_line_style(theme.style(Role::Base));
        textarea.set_placeholder_style(theme.style(Role::Muted));
        frame.render_widget(&textarea, comment);
        let status = match (&self.error, self.submitting) {
            (_, true) => Line::styled("Sending…", theme.style(Role::Info)),
            (Some(error), false) => {
                Line::styled(format!("✗ {}", sanitize(error)), theme.style(Role::Danger))
            }
            (None, false) => Line::default(),
        };
        frame.render_widget(Paragraph::new(status).wrap(Wrap { trim: true }), error);
        let confirm = keymap
            .hint(Mode::Dialog, Action::Confirm)
            .unwrap_or_default();
        let cancel = keymap
            .hint(Mode::Dialog, Action::Cancel)
            .unwrap_or_default();
        let hints = Line::from(vec![
            Span::styled(confirm, theme.style(Role::Key)),
            Span::styled(
                format!(" {} · ", verb.to_lowercase()),
                theme.style(Role::Muted),
            ),
            Span::styled(cancel, theme.style(Role::Key)),
            Span::styled(
                " cancel · enter new line · ctrl-w delete word",
                theme.style(Role::Muted),
            ),
        ]);
        frame.render_widget(Paragraph::new(hints), keys);
    }
}

/// What approving or rejecting a proposed policy set does.
fn policy_set_consequence(
    verdict: Verdict,
    version: &PolicySetVersion,
    active: Option<i64>,
    impact: Option<&str>,
) -> Vec<String> {
    let proposer = sanitize(&version.proposed_by);
    let active = active.map_or("the active version".to_owned(), |v| format!("version {v}"));
    let effect = match verdict {
        Verdict::Approve => format!(
            "As the second policy admin (after {proposer}), you make version {} the active set at once, replacing {active}; workflows in flight keep their chains.",
            version.version
        ),
        Verdict::Reject => format!(
            "Version {} stays on record as rejected; {active} stays in force.",
            version.version
        ),
    };
    let mut lines = vec![effect];
    if let Some(impact) = impact {
        lines.push(format!("Plan: {}", sanitize(impact)));
    }
    lines
}
