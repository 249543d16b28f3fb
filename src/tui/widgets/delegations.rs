//! The delegations overlay: whom I let decide for me while away, and for
//! whom I decide; `n` hands my steps to someone, `x` ends one I gave.

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use super::centered;
use crate::domain::delegation::Delegation;
use crate::text::sanitize;
use crate::tui::theme::{Role, Theme};

#[derive(Debug, Clone, PartialEq, Default)]
pub struct DelegationsOverlay {
    pub selected: usize,
    /// What the last change answered, when it failed.
    pub error: Option<String>,
    /// The delegation a first `x` asked to end: a second ends it.
    pub confirm_end: Option<String>,
}

impl DelegationsOverlay {
    pub fn move_by(&mut self, delta: isize, count: usize) {
        self.selected = self
            .selected
            .saturating_add_signed(delta)
            .min(count.saturating_sub(1));
    }

    pub fn render(
        &self,
        frame: &mut Frame,
        area: Rect,
        delegations: &[Delegation],
        me: Option<&str>,
        now: DateTime<Utc>,
        theme: &Theme,
    ) {
        let area = centered(
            area,
            area.width.saturating_sub(4).min(100),
            (delegations.len() as u16 + 6).clamp(8, 24),
        );
        super::clear(frame, area, theme);
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme.style(Role::Border))
            .title(Span::styled(" Delegations ", theme.style(Role::Title)));
        let inner = block.inner(area);
        frame.render_widget(block, area);
        let mut lines = vec![Line::styled(
            " n delegate my steps while I am away · x end the selected one I gave · esc closes",
            theme.style(Role::Muted),
        )];
        if let Some(id) = &self.confirm_end
            && let Some(delegation) = delegations.iter().find(|d| d.delegation_id == *id)
        {
            lines.push(Line::styled(
                format!(
                    " End {} ({} decides for you until {})? x again ends it now · esc or a move keeps it",
                    sanitize(id),
                    sanitize(&delegation.delegate),
                    delegation.until().format("%Y-%m-%d %H:%M")
                ),
                theme.style(Role::Warn),
            ));
        }
        if let Some(error) = &self.error {
            lines.push(Line::styled(
                format!(" ✗ {}", sanitize(error)),
                theme.style(Role::Danger),
            ));
        }
        if delegations.is_empty() {
            lines.push(Line::styled(
                " None. A delegate (who already holds your role) gets your notifications and may decide your steps for you; neither of you may then decide another step of that workflow.",
                theme.style(Role::Muted),
            ));
        }
        for (index, delegation) in delegations.iter().enumerate() {
            let given = me.is_some_and(|me| delegation.delegator.eq_ignore_ascii_case(me));
            let who = if given {
                format!("→ {} decides for me", sanitize(&delegation.delegate))
            } else {
                format!("← I decide for {}", sanitize(&delegation.delegator))
            };
            let role = delegation.roles_label();
            let state = delegation.state(now);
            let style = if index == self.selected {
                theme.style(Role::Selection)
            } else if state == "active" {
                theme.style(Role::Base)
            } else {
                theme.style(Role::Muted)
            };
            lines.push(Line::styled(
                format!(
                    " {} {who} · {role} · {state} {} → {}",
                    sanitize(&delegation.delegation_id),
                    delegation.starts_at.format("%Y-%m-%d %H:%M"),
                    delegation.until().format("%Y-%m-%d %H:%M"),
                ),
                style,
            ));
        }
        frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
    }
}
