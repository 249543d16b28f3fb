//! The obligations overlay: an agent version's duties under the adopted
//! frameworks, grouped by framework, those needing work first; below the
//! list, what meets the selected one or what is missing.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use super::centered;
use crate::domain::obligations::{ObligationPosture, Posture, State};
use crate::text::sanitize;
use crate::tui::theme::{Role, Theme};

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ObligationsOverlay {
    pub agent_id: String,
    /// None until it arrives.
    pub posture: Option<Posture>,
    pub error: Option<String>,
    pub selected: usize,
    /// The version's open incidents and exceptions pending or in force,
    /// in words.
    pub beside: Vec<String>,
}

/// Needing work first: unmet, expiring, not yet in effect, met, then those
/// that do not apply.
fn rank(state: &State) -> u8 {
    match state {
        State::Unmet { .. } => 0,
        State::Expiring { .. } => 1,
        State::NotYetInEffect { .. } => 2,
        State::Met => 3,
        State::NotApplicable { .. } => 4,
    }
}

fn glyph(state: &State) -> (&'static str, Role) {
    match state {
        State::Unmet { .. } => ("✗", Role::Danger),
        State::Expiring { .. } => ("!", Role::Warn),
        State::NotYetInEffect { .. } => ("…", Role::Info),
        State::Met => ("✓", Role::Ok),
        State::NotApplicable { .. } => ("–", Role::Muted),
    }
}

impl ObligationsOverlay {
    pub fn new(agent_id: String) -> ObligationsOverlay {
        ObligationsOverlay {
            agent_id,
            ..ObligationsOverlay::default()
        }
    }

    /// The obligations in the order shown: by framework as the set adopts
    /// them, within each those needing work first.
    pub fn rows(&self) -> Vec<&ObligationPosture> {
        let Some(posture) = &self.posture else {
            return Vec::new();
        };
        let mut frameworks: Vec<&str> = Vec::new();
        for obligation in &posture.obligations {
            if !frameworks.contains(&obligation.framework.as_str()) {
                frameworks.push(&obligation.framework);
            }
        }
        let mut rows: Vec<&ObligationPosture> = posture.obligations.iter().collect();
        rows.sort_by_key(|obligation| {
            (
                frameworks
                    .iter()
                    .position(|framework| *framework == obligation.framework),
                rank(&obligation.state),
            )
        });
        rows
    }

    pub fn move_by(&mut self, delta: isize) {
        let count = self.rows().len();
        self.selected = self
            .selected
            .saturating_add_signed(delta)
            .min(count.saturating_sub(1));
    }

    pub fn jump(&mut self, last: bool) {
        self.selected = if last {
            self.rows().len().saturating_sub(1)
        } else {
            0
        };
    }

    /// The line that sums the posture up.
    fn summary(posture: &Posture) -> String {
        format!(
            " {} version {} · as of {} · {}",
            sanitize(&posture.agent_id),
            sanitize(&posture.agent_version),
            posture.at.format("%Y-%m-%d"),
            posture.counts().words()
        )
    }

    /// What meets the selected obligation, or what is missing, or why it
    /// does not apply.
    fn detail<'a>(obligation: &ObligationPosture, theme: &Theme) -> Vec<Line<'a>> {
        let mut lines = vec![Line::styled(
            format!(
                " {} · {} · {}",
                sanitize(&obligation.obligation),
                sanitize(&obligation.citation),
                obligation.state.word()
            ),
            theme.style(Role::Header),
        )];
        let item = |text: String, role: Role| Line::styled(format!("   {text}"), theme.style(role));
        if let Some(via) = &obligation.via {
            lines.push(item(
                format!(
                    "met through {} (its evidence is listed there)",
                    sanitize(via)
                ),
                Role::Ok,
            ));
        }
        for found in &obligation.evidence {
            let until = found
                .until
                .map(|until| format!(" (until {})", until.format("%Y-%m-%d")))
                .unwrap_or_default();
            lines.push(item(
                format!(
                    "✓ {} {}: {}{until}",
                    sanitize(&found.kind),
                    sanitize(&found.id),
                    sanitize(&found.what)
                ),
                Role::Ok,
            ));
        }
        match &obligation.state {
            State::Unmet { missing } => {
                for wanted in missing {
                    lines.push(item(
                        format!("✗ missing: {}", sanitize(wanted)),
                        Role::Danger,
                    ));
                }
                lines.push(item(
                    "what is outside Gavel: `gavel obligations confirm ID --agent AGENT --link URL --until DATE -c TEXT`".into(),
                    Role::Muted,
                ));
            }
            State::NotYetInEffect { from, missing } => {
                lines.push(item(format!("applies from {from}"), Role::Info));
                for wanted in missing {
                    lines.push(item(
                        format!("then needs: {}", sanitize(wanted)),
                        Role::Info,
                    ));
                }
            }
            State::Expiring { on } => lines.push(item(
                format!("evidence lapses on {}", on.format("%Y-%m-%d")),
                Role::Warn,
            )),
            State::NotApplicable { why } => lines.push(item(
                format!("does not apply: {}", sanitize(why)),
                Role::Muted,
            )),
            State::Met => {}
        }
        lines
    }

    pub fn render(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        let area = centered(
            area,
            area.width.saturating_sub(2).min(120),
            area.height.saturating_sub(1),
        );
        super::clear(frame, area, theme);
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme.style(Role::Border))
            .title(Span::styled(
                format!(" Obligations of {} ", sanitize(&self.agent_id)),
                theme.style(Role::Title),
            ));
        let inner = block.inner(area);
        frame.render_widget(block, area);
        let mut head = vec![Line::styled(
            " j/k move · i answers the intake · O or esc closes",
            theme.style(Role::Muted),
        )];
        if let Some(error) = &self.error {
            head.push(Line::styled(
                format!(" ✗ {}", sanitize(error)),
                theme.style(Role::Danger),
            ));
        }
        let Some(posture) = &self.posture else {
            if self.error.is_none() {
                head.push(Line::styled(" Loading…", theme.style(Role::Muted)));
            }
            frame.render_widget(Paragraph::new(head).wrap(Wrap { trim: false }), inner);
            return;
        };
        head.push(Line::styled(
            Self::summary(posture),
            theme.style(Role::Base),
        ));
        for line in &self.beside {
            head.push(Line::styled(
                format!(
                    " after approval: {} (! incidents · e exceptions)",
                    sanitize(line)
                ),
                theme.style(Role::Warn),
            ));
        }
        let rows = self.rows();
        if rows.is_empty() {
            head.push(Line::styled(
                " The policy set adopts no framework: no obligation applies. A policy admin adopts one (examples/frameworks/) through plan, propose and a second admin's approval.",
                theme.style(Role::Muted),
            ));
            frame.render_widget(Paragraph::new(head).wrap(Wrap { trim: false }), inner);
            return;
        }
        let selected = rows.get(self.selected.min(rows.len() - 1)).copied();
        let detail = selected
            .map(|obligation| Self::detail(obligation, theme))
            .unwrap_or_default();
        let detail_height = (detail.len() as u16 + 1).min(inner.height / 3).max(3);
        // Each head line takes as many rows as it wraps to.
        let width = usize::from(inner.width.max(1));
        let head_height: usize = head
            .iter()
            .map(|line| line.width().max(1).div_ceil(width))
            .sum();
        let [top, list_area, detail_area] = Layout::vertical([
            Constraint::Length(head_height as u16),
            Constraint::Min(1),
            Constraint::Length(detail_height),
        ])
        .areas(inner);
        frame.render_widget(Paragraph::new(head).wrap(Wrap { trim: false }), top);

        // One line per obligation, a header where a framework starts.
        let mut lines: Vec<Line> = Vec::new();
        let mut selected_line = 0;
        let mut framework = "";
        for (index, obligation) in rows.iter().enumerate() {
            if obligation.framework != framework {
                framework = &obligation.framework;
                lines.push(Line::styled(
                    format!(" {}", sanitize(framework)),
                    theme.style(Role::Header),
                ));
            }
            let (mark, role) = glyph(&obligation.state);
            let style = if index == self.selected {
                selected_line = lines.len();
                theme.style(Role::Selection)
            } else {
                theme.style(role)
            };
            lines.push(Line::styled(
                format!(
                    "   {mark} {:<29} {} ({})",
                    sanitize(&obligation.obligation),
                    sanitize(&obligation.title),
                    sanitize(&obligation.citation)
                ),
                style,
            ));
        }
        // Keep the selection in view.
        let height = usize::from(list_area.height.max(1));
        let scroll = selected_line.saturating_sub(height.saturating_sub(1));
        frame.render_widget(Paragraph::new(lines).scroll((scroll as u16, 0)), list_area);
        frame.render_widget(
            Paragraph::new(detail).wrap(Wrap { trim: false }),
            detail_area,
        );
    }
}
