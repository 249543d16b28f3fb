//! Choosing a person from a list: the ethics reviewer of a workflow among
//! those who hold the role, or whom to delegate one's steps to among those
//! who hold one of one's roles.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use super::centered;
use crate::backend::User;
use crate::text::{pad, sanitize};
use crate::tui::theme::{Role, Theme};

#[derive(Debug, Clone, PartialEq)]
pub struct PersonChooser {
    pub purpose: Purpose,
    pub people: Vec<User>,
    pub selected: usize,
}

/// What choosing a person does.
#[derive(Debug, Clone, PartialEq)]
pub enum Purpose {
    /// Assigns (or reassigns) a workflow's ethics review.
    Review {
        workflow_id: String,
        /// Who reviews now, if anyone (a new choice reassigns).
        current: Option<String>,
    },
    /// Names the delegate of one's steps (the end date comes next).
    Delegate,
}

impl PersonChooser {
    pub fn new(purpose: Purpose, people: Vec<User>) -> Self {
        let selected = match &purpose {
            Purpose::Review {
                current: Some(email),
                ..
            } => people.iter().position(|user| user.is(email)).unwrap_or(0),
            _ => 0,
        };
        PersonChooser {
            purpose,
            people,
            selected,
        }
    }

    pub fn move_by(&mut self, delta: isize) {
        let last = self.people.len().saturating_sub(1);
        self.selected = self.selected.saturating_add_signed(delta).min(last);
    }

    pub fn chosen(&self) -> Option<&User> {
        self.people.get(self.selected)
    }

    pub fn render(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        let height = (self.people.len() as u16 + 4).clamp(5, 18);
        let area = centered(area, 64, height);
        super::clear(frame, area, theme);
        let (title, keys, nobody) = match &self.purpose {
            Purpose::Review {
                current: Some(current),
                ..
            } => (
                format!(" Reassign the review (now {}) ", sanitize(current)),
                " enter assigns · esc cancels",
                " Nobody holds the ethics_reviewer role: add one with `gavel users add`.",
            ),
            Purpose::Review { current: None, .. } => (
                " Assign the ethics review ".to_owned(),
                " enter assigns · esc cancels",
                " Nobody holds the ethics_reviewer role: add one with `gavel users add`.",
            ),
            Purpose::Delegate => (
                " Delegate my steps to ".to_owned(),
                " people holding one of my roles · enter chooses (then until when) · esc cancels",
                " Nobody else holds one of your roles: a delegate must already hold it.",
            ),
        };
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme.style(Role::Border))
            .title(Span::styled(title, theme.style(Role::Title)));
        let inner = block.inner(area);
        frame.render_widget(block, area);
        let mut lines = vec![Line::styled(keys, theme.style(Role::Muted))];
        let visible = inner.height.saturating_sub(1) as usize;
        let start = self.selected.saturating_sub(visible.saturating_sub(1));
        let name_width = (inner.width as usize).saturating_sub(4) / 2;
        for (index, user) in self.people.iter().enumerate().skip(start).take(visible) {
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
        if self.people.is_empty() {
            lines.push(Line::styled(nobody, theme.style(Role::Warn)));
        }
        frame.render_widget(Paragraph::new(lines), inner);
    }
}
