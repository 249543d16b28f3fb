//! The frame around every view: tabs, footer hints, status line.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::text::{sanitize, truncate, width};
use crate::tui::action::Action;
use crate::tui::keymap::Keymap;
use crate::tui::mode::Mode;
use crate::tui::theme::{Role, Theme};

pub const TABS: [&str; 5] = ["Queue", "Reviews", "Audits", "Blocked", "Policies"];

/// Where the tab bar starts its tabs: after " Gavel " and a space.
const TABS_FROM: usize = 8;

/// The tab bar's label of one tab.
fn tab_label(index: usize) -> String {
    format!(" {} {} ", index + 1, TABS[index])
}

/// Which tab a click on the tab bar's `column` lands on.
pub fn tab_at(column: u16) -> Option<usize> {
    let mut from = TABS_FROM;
    for index in 0..TABS.len() {
        let to = from + width(&tab_label(index));
        if (from..to).contains(&usize::from(column)) {
            return Some(index);
        }
        from = to + 1;
    }
    None
}

pub fn tabs(frame: &mut Frame, area: Rect, active: usize, theme: &Theme) {
    let mut spans = vec![
        Span::styled(" Gavel ", theme.style(Role::Title)),
        Span::raw(" "),
    ];
    for index in 0..TABS.len() {
        let role = if index == active {
            Role::TabActive
        } else {
            Role::Muted
        };
        spans.push(Span::styled(tab_label(index), theme.style(role)));
        spans.push(Span::raw(" "));
    }
    frame.render_widget(
        Paragraph::new(Line::from(spans)).style(theme.style(Role::Base)),
        area,
    );
}

/// Key hints for the actions that matter most in `mode`, from the keymap.
pub fn footer(
    frame: &mut Frame,
    area: Rect,
    keymap: &Keymap,
    mode: Mode,
    actions: &[Action],
    read_only: bool,
    theme: &Theme,
) {
    let mut spans = Vec::new();
    let mut used = 0;
    if read_only {
        spans.push(Span::styled(" READ-ONLY ", theme.style(Role::Warn)));
        used += 11;
    }
    for action in actions {
        if read_only
            && matches!(
                action,
                Action::Approve
                    | Action::Reject
                    | Action::RevokeException
                    | Action::RequestException
                    | Action::ReportIncident
                    | Action::TriageIncident
                    | Action::SuspendVersion
                    | Action::ConfirmReport
                    | Action::RequestLift
                    | Action::CloseIncident
            )
        {
            continue;
        }
        let Some(key) = keymap.hint(mode, *action) else {
            continue;
        };
        let label = match (mode, action) {
            (_, Action::Help) => "help",
            (_, Action::Palette) => "commands",
            (Mode::Blocked, Action::NextField) => "charts",
            (Mode::Blocked, Action::ClearFilters) => "all",
            (Mode::Blocked, Action::Search) => "agent",
            (_, Action::OpenObligations) => "obligations",
            (_, Action::OpenIntake) => "intake",
            (Mode::Exceptions, Action::CycleStatus) => "shown",
            (Mode::Exceptions, Action::RevokeException) => "revoke",
            (Mode::Exceptions, Action::RequestException) => "ask for one",
            (Mode::Exceptions | Mode::Recertifications | Mode::Incidents, Action::Cancel) => {
                "close"
            }
            (Mode::Incidents, Action::CycleStatus) => "shown",
            (Mode::Incidents, Action::Approve) => "sign lifting",
            (Mode::Incidents, Action::Reject) => "refuse",
            (Mode::Incidents, Action::ReportIncident) => "report",
            (Mode::Incidents, Action::TriageIncident) => "triage",
            (Mode::Incidents, Action::SuspendVersion) => "suspend",
            (Mode::Incidents, Action::ConfirmReport) => "report made",
            (Mode::Incidents, Action::RequestLift) => "lift",
            (Mode::Incidents, Action::CloseIncident) => "close it",
            (Mode::Recertifications, Action::CycleStatus) => "due now / in 30 days",
            (_, other) => other.name(),
        };
        let piece = width(&key) + width(label) + 3;
        if used + piece > area.width as usize {
            break;
        }
        used += piece;
        spans.push(Span::styled(format!(" {key}"), theme.style(Role::Key)));
        spans.push(Span::styled(
            format!(" {} ", label.replace('_', " ")),
            theme.style(Role::Muted),
        ));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

pub enum Level {
    Info,
    Error,
}

/// Who, with which roles, on which backend, and the last message. The
/// message wins the space: it is what the user just needs to read.
pub fn status(
    frame: &mut Frame,
    area: Rect,
    left: &str,
    message: Option<(&Level, &str)>,
    theme: &Theme,
) {
    let total = area.width as usize;
    let left = sanitize(left);
    let mut spans = Vec::new();
    match message {
        Some((level, text)) => {
            let role = match level {
                Level::Info => Role::Info,
                Level::Error => Role::Danger,
            };
            let text = sanitize(text);
            let message = truncate(&text, total.saturating_sub(2));
            let room = total.saturating_sub(width(&message) + 5);
            if room >= 12 {
                spans.push(Span::styled(
                    format!(" {} ", truncate(&left, room)),
                    theme.style(Role::Muted),
                ));
                spans.push(Span::styled("│ ", theme.style(Role::Border)));
            } else {
                spans.push(Span::raw(" "));
            }
            spans.push(Span::styled(message.into_owned(), theme.style(role)));
        }
        None => spans.push(Span::styled(
            format!(" {}", truncate(&left, total.saturating_sub(1))),
            theme.style(Role::Muted),
        )),
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}
