//! Choosing the ethics reviewer of a workflow among the people who hold
//! the role.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use super::centered;
use crate::backend::User;
use crate::text::{pad, sanitize};
use crate::tui::theme::{Role, Theme};

#[derive(Debug, Clone, PartialEq)]
pub struct ReviewerChooser {
    pub workflow_id: String,
    /// Who reviews now, if anyone (a new choice reassigns).
    pub current: Option<String>,
    pub reviewers: Vec<User>,
    pub selected: usize,
}

impl ReviewerChooser {
    pub fn new(workflow_id: String, current: Option<String>, reviewers: Vec<User>) -> Self {
        let selected = current
            .as_deref()
            .and_then(|email| reviewers.iter().position(|user| user.is(email)))
            .unwrap_or(0);
        ReviewerChooser {
            workflow_id,
            current,
            reviewers,
            selected,
        }
    }

    pub fn move_by(&mut self, delta: isize) {
        let last = self.reviewers.len().saturating_sub(1);
        self.selected = self.selected.saturating_add_signed(delta).min(last);
    }

    pub fn chosen(&self) -> Option<&User> {
        self.reviewers.get(self.selected)
    }

    pub fn render(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        let height = (self.reviewers.len() as u16 + 4).clamp(5, 18);
        let area = centered(area, 64, height);
        frame.render_widget(Clear, area);
        let title = match &self.current {
            Some(current) => format!(" Reassign the review (now {}) ", sanitize(current)),
            None => " Assign the ethics review ".to_owned(),
        };
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme.style(Role::Border))
            .title(Span::styled(title, theme.style(Role::Title)));
        let inner = block.inner(area);
        frame.render_widget(block, area);
        let mut lines = vec![Line::styled(
            " enter assigns · esc cancels",
            theme.style(Role::Muted),
        )];
        let visible = inner.height.saturating_sub(1) as usize;
        let start = self.selected.saturating_sub(visible.saturating_sub(1));
        let name_width = (inner.width as usize).saturating_sub(4) / 2;
        for (index, user) in self.reviewers.iter().enumerate().skip(start).take(visible) {
            let style = if index == self.selected {
                theme.style(Role::Selection)
            } else {
                theme.style(Role::Base)
            };
            lines.push(Line::from(vec![
                Span::styled(
                    format!(" {} ", pad(&sanitize(&user.name), name_width)),
                    style,
                ),
                Span::styled(sanitize(&user.email).into_owned(), theme.style(Role::Muted)),
            ]));
        }
        if self.reviewers.is_empty() {
            lines.push(Line::styled(
                " Nobody holds the ethics_reviewer role: add one with `gavel users add`.",
                theme.style(Role::Warn),
            ));
        }
        frame.render_widget(Paragraph::new(lines), inner);
    }
}
