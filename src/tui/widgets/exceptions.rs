//! The exceptions overlay: time-bound exceptions to a policy, open ones
//! first; the selected one's reason, controls and steps below the list.
//! `a`/`r` decide its next step, `v` revokes it, `n` asks for one for the
//! agent in view, `w` changes which are shown.

use crate::domain::exception::{Exception, ExceptionState};
use crate::text::sanitize;
use crate::tui::theme::{Role, Theme};
use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

/// Which exceptions the list shows; `w` steps through them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Shown {
    /// Waiting for a step, or in force.
    #[default]
    Open,
    /// Waiting for a step one of my roles decides.
    AwaitingMe,
    /// Lapsed, rejected or revoked.
    Ended,
    All,
}

impl Shown {
    pub fn next(self) -> Shown {
        match self {
            Shown::Open => Shown::AwaitingMe,
            Shown::AwaitingMe => Shown::Ended,
            Shown::Ended => Shown::All,
            Shown::All => Shown::Open,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Shown::Open => "open",
            Shown::AwaitingMe => "awaiting me",
            Shown::Ended => "ended",
            Shown::All => "all",
        }
    }

    /// Whether an exception in `state` belongs in the list.
    pub fn holds(self, state: ExceptionState) -> bool {
        match self {
            Shown::Open => matches!(state, ExceptionState::Pending | ExceptionState::Active),
            Shown::Ended => !matches!(state, ExceptionState::Pending | ExceptionState::Active),
            Shown::AwaitingMe | Shown::All => true,
        }
    }
}

/// An agent the list is narrowed to, with the version in view (what `n`
/// asks an exception for) and the policy blocking it, if known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentInView {
    pub agent_id: String,
    pub version: Option<String>,
    pub blocking_policy: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ExceptionsOverlay {
    pub agent: Option<AgentInView>,
    pub shown: Shown,
    /// None while loading.
    pub items: Option<Vec<Exception>>,
    pub selected: usize,
    /// What the last change answered, when it failed.
    pub error: Option<String>,
    /// The exception a first `a` asked to approve: a second approves it.
    pub confirm_approve: Option<String>,
    /// The exception to select once the list arrives (opened from the
    /// inbox).
    pub focus: Option<String>,
}

impl ExceptionsOverlay {
    pub fn new(agent: Option<AgentInView>) -> ExceptionsOverlay {
        ExceptionsOverlay {
            agent,
            ..ExceptionsOverlay::default()
        }
    }

    /// The exceptions shown at `now`.
    pub fn visible(&self, now: DateTime<Utc>) -> Vec<&Exception> {
        self.items
            .iter()
            .flatten()
            .filter(|exception| self.shown.holds(exception.state(now)))
            .collect()
    }

    pub fn chosen(&self, now: DateTime<Utc>) -> Option<&Exception> {
        self.visible(now).get(self.selected).copied()
    }

    /// Selects the exception `focus` names, if it is shown.
    pub fn take_focus(&mut self, now: DateTime<Utc>) {
        if let Some(id) = self.focus.take()
            && let Some(index) = self
                .visible(now)
                .iter()
                .position(|exception| exception.exception_id == id)
        {
            self.selected = index;
        }
    }

    pub fn move_by(&mut self, delta: isize, now: DateTime<Utc>) {
        let count = self.visible(now).len();
        self.selected = self
            .selected
            .saturating_add_signed(delta)
            .min(count.saturating_sub(1));
    }

    pub fn render(&self, frame: &mut Frame, area: Rect, now: DateTime<Utc>, theme: &Theme) {
        let agent = self
            .agent
            .as_ref()
            .map(|agent| format!(" · {}", sanitize(&agent.agent_id)))
            .unwrap_or_default();
        let title = format!(" Exceptions · {}{agent} ", self.shown.label());
        let inner = super::overlay_box(frame, area, (110, 30), title, theme);
        let visible = self.visible(now);
        let head = super::overlay_head(
            " a approve · r reject · v revoke · n ask for one · w shown · c all agents",
            self.confirm_approve.as_deref().map(|id| {
                format!(
                    " Approve your step of {}? a again approves · esc or a move keeps it waiting",
                    sanitize(id)
                )
            }),
            self.error.as_deref(),
            self.items.is_none(),
            visible.is_empty().then(|| {
                format!(
                    " No {} exception. An exception sets one policy aside for one agent version until a date, once the policy set's chain approves it.",
                    self.shown.label()
                )
            }),
            theme,
        );
        let rows = visible
            .iter()
            .enumerate()
            .map(|(index, exception)| {
                let state = exception.state(now);
                let style = if index == self.selected {
                    theme.style(Role::Selection)
                } else {
                    match state {
                        ExceptionState::Pending => theme.style(Role::Warn),
                        ExceptionState::Active => theme.style(Role::Base),
                        _ => theme.style(Role::Muted),
                    }
                };
                Line::styled(
                    format!(
                        " {} {:<8} {:<24} {} {} · {}",
                        sanitize(&exception.exception_id),
                        state.as_str(),
                        exception.progress(now).chars().take(24).collect::<String>(),
                        sanitize(&exception.agent_id),
                        sanitize(&exception.agent_version),
                        sanitize(&exception.policy_id),
                    ),
                    style,
                )
            })
            .collect();
        let detail = visible
            .get(self.selected)
            .map(|exception| detail(exception, now, theme));
        super::list_over_detail(frame, inner, head, rows, self.selected, detail, theme);
    }
}

/// What the prompts over the exceptions overlay are filling in, and the
/// overlay to come back to.
#[derive(Debug, Clone, PartialEq)]
pub struct ExceptionFlow {
    pub overlay: ExceptionsOverlay,
    /// The exception a rejection or revocation is about, and its version.
    pub target: Option<(String, i64)>,
    pub policy: Option<String>,
    pub until: Option<chrono::DateTime<chrono::Utc>>,
    pub reason: Option<String>,
}

impl ExceptionFlow {
    pub fn over(overlay: ExceptionsOverlay) -> ExceptionFlow {
        ExceptionFlow {
            overlay,
            target: None,
            policy: None,
            until: None,
            reason: None,
        }
    }
}

fn detail(exception: &Exception, now: DateTime<Utc>, theme: &Theme) -> Vec<Line<'static>> {
    let field = |name: &str, value: String| {
        Line::from(vec![
            Span::styled(format!(" {name:<9}"), theme.style(Role::Muted)),
            Span::styled(value, theme.style(Role::Base)),
        ])
    };
    let mut lines = vec![
        field(
            "policy",
            format!(
                "{} set aside for {} {} until {} UTC",
                sanitize(&exception.policy_id),
                sanitize(&exception.agent_id),
                sanitize(&exception.agent_version),
                exception.until.format("%Y-%m-%d %H:%M")
            ),
        ),
        field(
            "asked",
            format!(
                "by {} on {} (policy set version {})",
                sanitize(&exception.requested_by),
                exception.requested_at.format("%Y-%m-%d %H:%M"),
                exception.policy_set_version
            ),
        ),
        field("reason", sanitize(&exception.reason).into_owned()),
    ];
    if let Some(ticket) = &exception.ticket {
        lines.push(field("ticket", sanitize(ticket).into_owned()));
    }
    if let Some(controls) = &exception.controls {
        lines.push(field("controls", sanitize(controls).into_owned()));
    }
    for (index, role) in exception.chain.iter().enumerate() {
        let step = sanitize(&exception.step_words(index)).into_owned();
        lines.push(field(
            &format!("step {}", index + 1),
            format!("{}: {step}", role.label()),
        ));
    }
    if let (Some(by), Some(at)) = (&exception.closed_by, exception.closed_at) {
        lines.push(field(
            exception.state(now).as_str(),
            format!(
                "by {} on {}: {}",
                sanitize(by),
                at.format("%Y-%m-%d %H:%M"),
                sanitize(exception.closing_comment.as_deref().unwrap_or(""))
            ),
        ));
    }
    lines
}
