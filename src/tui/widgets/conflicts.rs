//! The dialog for changes the server refused: what you decided beside what
//! the server holds now, and the choice to discard yours or decide again.

use chrono::Local;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use super::centered;
use crate::backend::sync::plan::EntryState;
use crate::backend::sync::status::PendingItem;
use crate::text::sanitize;
use crate::tui::action::Action;
use crate::tui::keymap::Keymap;
use crate::tui::mode::Mode;
use crate::tui::theme::{Role, Theme};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConflictsDialog {
    pub selected: usize,
}

/// The entries the user has to decide about.
pub fn needing_attention(items: &[PendingItem]) -> Vec<&PendingItem> {
    items
        .iter()
        .filter(|item| item.state != EntryState::Pending)
        .collect()
}

impl ConflictsDialog {
    pub fn selected_item<'a>(&self, items: &'a [PendingItem]) -> Option<&'a PendingItem> {
        needing_attention(items).get(self.selected).copied()
    }

    pub fn move_by(&mut self, items: &[PendingItem], delta: isize) {
        let count = needing_attention(items).len();
        self.selected = self
            .selected
            .saturating_add_signed(delta)
            .min(count.saturating_sub(1));
    }

    pub fn render(
        &self,
        frame: &mut Frame,
        area: Rect,
        items: &[PendingItem],
        keymap: &Keymap,
        theme: &Theme,
    ) {
        let attention = needing_attention(items);
        let list_height = (attention.len() as u16).clamp(1, 6);
        let area = centered(area, 78, list_height + 10);
        super::clear(frame, area, theme);
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme.style(Role::Border))
            .title(Span::styled(
                " Changes the server did not take ",
                theme.style(Role::Title),
            ));
        let inner = block.inner(area);
        frame.render_widget(block, area);
        let [list_area, detail_area, keys_area] = Layout::vertical([
            Constraint::Length(list_height + 1),
            Constraint::Min(1),
            Constraint::Length(1),
        ])
        .areas(inner);
        let lines: Vec<Line> = if attention.is_empty() {
            vec![Line::styled(
                " nothing to resolve: every change reached the server",
                theme.style(Role::Muted),
            )]
        } else {
            attention
                .iter()
                .enumerate()
                .map(|(index, item)| {
                    let (label, role) = match item.state {
                        EntryState::Conflict => ("conflict", Role::Warn),
                        _ => ("failed  ", Role::Danger),
                    };
                    let style = if index == self.selected {
                        theme.style(Role::Selection)
                    } else {
                        theme.style(Role::Base)
                    };
                    Line::from(vec![
                        Span::styled(format!(" {label} "), theme.style(role)),
                        Span::styled(sanitize(&item.change), style),
                    ])
                })
                .collect()
        };
        frame.render_widget(Paragraph::new(lines), list_area);
        if let Some(item) = attention.get(self.selected) {
            let made = item.made_at.with_timezone(&Local).format("%d %b %H:%M");
            let mut detail = vec![
                Line::from(vec![
                    Span::styled(" Yours:  ", theme.style(Role::Header)),
                    Span::styled(
                        format!("{} (made {made})", sanitize(&item.change)),
                        theme.style(Role::Base),
                    ),
                ]),
                Line::from(vec![
                    Span::styled(" Server: ", theme.style(Role::Header)),
                    Span::styled(
                        sanitize(item.server_now.as_deref().unwrap_or("(not known yet)")),
                        theme.style(Role::Base),
                    ),
                ]),
            ];
            if let Some(answer) = &item.server_answer {
                detail.push(Line::from(vec![
                    Span::styled(" Why:    ", theme.style(Role::Header)),
                    Span::styled(sanitize(answer), theme.style(Role::Muted)),
                ]));
            }
            frame.render_widget(
                Paragraph::new(detail).wrap(Wrap { trim: false }),
                detail_area,
            );
        }
        let hint = |action: Action| keymap.hint(Mode::Sync, action).unwrap_or_default();
        let keys = Line::from(vec![
            Span::styled(
                format!(" {} ", hint(Action::Discard)),
                theme.style(Role::Key),
            ),
            Span::styled("discard yours  ", theme.style(Role::Muted)),
            Span::styled(
                format!("{} ", hint(Action::Redecide)),
                theme.style(Role::Key),
            ),
            Span::styled("decide again  ", theme.style(Role::Muted)),
            Span::styled(format!("{} ", hint(Action::Cancel)), theme.style(Role::Key)),
            Span::styled("close", theme.style(Role::Muted)),
        ]);
        frame.render_widget(Paragraph::new(keys), keys_area);
    }
}
