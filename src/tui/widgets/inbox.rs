//! The inbox: what concerns me (items that entered my queue, reviews
//! assigned to me, decisions on my requests), newest first; enter opens
//! the workflow and marks the item read.

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use super::centered;
use crate::backend::InboxItem;
use crate::text::sanitize;
use crate::tui::theme::{Role, Theme};

#[derive(Debug, Clone, PartialEq, Default)]
pub struct InboxOverlay {
    /// `None` while loading.
    pub items: Option<Vec<InboxItem>>,
    pub error: Option<String>,
    pub selected: usize,
}

impl InboxOverlay {
    pub fn move_by(&mut self, delta: isize) {
        let last = self.items.as_ref().map_or(0, Vec::len).saturating_sub(1);
        self.selected = self.selected.saturating_add_signed(delta).min(last);
    }

    pub fn chosen(&self) -> Option<&InboxItem> {
        self.items.as_ref()?.get(self.selected)
    }

    pub fn render(&self, frame: &mut Frame, area: Rect, now: DateTime<Utc>, theme: &Theme) {
        let count = self.items.as_ref().map_or(0, Vec::len) as u16;
        let area = centered(
            area,
            area.width.saturating_sub(4).min(100),
            (count + 4).clamp(6, 24),
        );
        super::clear(frame, area, theme);
        let unread = self
            .items
            .as_ref()
            .map_or(0, |items| items.iter().filter(|item| !item.read).count());
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme.style(Role::Border))
            .title(Span::styled(
                format!(" Inbox · {unread} unread "),
                theme.style(Role::Title),
            ));
        let inner = block.inner(area);
        frame.render_widget(block, area);
        let mut lines = vec![Line::styled(
            " enter opens what it is about and marks it read · esc closes",
            theme.style(Role::Muted),
        )];
        match (&self.items, &self.error) {
            (_, Some(error)) => lines.push(Line::styled(
                format!(" cannot load the inbox: {}", sanitize(error)),
                theme.style(Role::Danger),
            )),
            (None, None) => lines.push(Line::styled(" loading…", theme.style(Role::Muted))),
            (Some(items), None) if items.is_empty() => lines.push(Line::styled(
                " Nothing here: what asks you to act, and news of your requests, arrive here.",
                theme.style(Role::Muted),
            )),
            (Some(items), None) => {
                // A settled item takes a second line: start where the
                // selected one still fits.
                let height = inner.height.saturating_sub(1) as usize;
                let rows =
                    |item: &crate::backend::InboxItem| 1 + usize::from(item.settled.is_some());
                let selected = self.selected.min(items.len().saturating_sub(1));
                let mut start = 0;
                while start < selected
                    && items[start..=selected].iter().map(rows).sum::<usize>() > height
                {
                    start += 1;
                }
                let mut used = 0;
                for (index, item) in items.iter().enumerate().skip(start) {
                    used += rows(item);
                    if used > height && index > start {
                        break;
                    }
                    let style = match (index == self.selected, item.read) {
                        (true, _) => theme.style(Role::Selection),
                        (false, false) => theme.style(Role::Title),
                        (false, true) => theme.style(Role::Base),
                    };
                    let marker = if item.read { "  " } else { "● " };
                    lines.push(Line::from(vec![
                        Span::styled(format!(" {marker}"), theme.style(Role::Accent)),
                        Span::styled(
                            format!("{:<9} ", crate::text::humanize_age(item.at, now)),
                            theme.style(Role::Muted),
                        ),
                        Span::styled(sanitize(&item.summary).into_owned(), style),
                    ]));
                    if let Some(settled) = &item.settled {
                        lines.push(Line::styled(
                            format!("              ✓ {}", sanitize(settled)),
                            theme.style(Role::Muted),
                        ));
                    }
                }
            }
        }
        frame.render_widget(Paragraph::new(lines), inner);
    }
}
