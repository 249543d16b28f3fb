//! The recertifications overlay: agents whose approval is due to be signed
//! off again (the set's `[recertification]` periods), most overdue first;
//! `w` adds those due within 30 days.

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use super::centered;
use crate::backend::RecertificationPage;
use crate::text::{sanitize, thousands};
use crate::tui::theme::{Role, Theme};

#[derive(Debug, Clone, PartialEq, Default)]
pub struct RecertificationsOverlay {
    /// Also those due within 30 days.
    pub within_30_days: bool,
    /// None while loading.
    pub page: Option<RecertificationPage>,
    pub selected: usize,
    pub error: Option<String>,
}

impl RecertificationsOverlay {
    pub fn within_days(&self) -> u32 {
        if self.within_30_days { 30 } else { 0 }
    }

    pub fn move_by(&mut self, delta: isize) {
        let count = self.page.as_ref().map_or(0, |page| page.due.len());
        self.selected = self
            .selected
            .saturating_add_signed(delta)
            .min(count.saturating_sub(1));
    }

    pub fn render(&self, frame: &mut Frame, area: Rect, now: DateTime<Utc>, theme: &Theme) {
        let area = centered(
            area,
            area.width.saturating_sub(4).min(120),
            area.height.saturating_sub(2).min(30),
        );
        super::clear(frame, area, theme);
        let shown = if self.within_30_days {
            "due now or within 30 days"
        } else {
            "due now"
        };
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme.style(Role::Border))
            .title(Span::styled(
                format!(" Approvals to recertify · {shown} "),
                theme.style(Role::Title),
            ));
        let inner = block.inner(area);
        frame.render_widget(block, area);
        let mut lines = vec![Line::styled(
            " w also due soon · a request of the version opens its recertification",
            theme.style(Role::Muted),
        )];
        if let Some(error) = &self.error {
            lines.push(Line::styled(
                format!(" ✗ {}", sanitize(error)),
                theme.style(Role::Danger),
            ));
        }
        let Some(page) = &self.page else {
            lines.push(Line::styled(" Loading…", theme.style(Role::Muted)));
            frame.render_widget(Paragraph::new(lines), inner);
            return;
        };
        if page.due.is_empty() {
            lines.push(Line::styled(
                format!(
                    " Nothing {shown}. The policy set's [recertification] says how long an approval stands by risk tier."
                ),
                theme.style(Role::Muted),
            ));
            frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
            return;
        }
        if page.total > page.due.len() as u64 {
            lines.push(Line::styled(
                format!(
                    " {} of {}, most overdue first (`gavel recertify due --json` lists them)",
                    page.due.len(),
                    thousands(page.total)
                ),
                theme.style(Role::Muted),
            ));
        }
        let rows = usize::from(inner.height).saturating_sub(lines.len()).max(1);
        let first = self.selected.saturating_sub(rows.saturating_sub(1));
        for (index, due) in page.due.iter().enumerate().skip(first).take(rows) {
            let overdue = due.due <= now;
            let style = if index == self.selected {
                theme.style(Role::Selection)
            } else if overdue {
                theme.style(Role::Warn)
            } else {
                theme.style(Role::Base)
            };
            lines.push(Line::styled(
                format!(
                    " {} {} {} {:<6} {} {}  since {}  {} · {}",
                    if overdue { "due since" } else { "due      " },
                    due.due.format("%Y-%m-%d"),
                    sanitize(&due.agent.agent_id),
                    sanitize(&due.agent.version),
                    due.agent.risk_tier,
                    sanitize(&due.agent.name),
                    due.since.format("%Y-%m-%d"),
                    sanitize(&due.agent.team),
                    sanitize(&due.agent.owner),
                ),
                style,
            ));
        }
        frame.render_widget(Paragraph::new(lines), inner);
    }
}
