//! The read-only summary shown before submitting: every answer, scrolled,
//! with what submitting does.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};
use serde_json::Value;

use super::AnswerForm;
use crate::domain::review::{QuestionKind, option_label};
use crate::text::sanitize;
use crate::tui::theme::{Role, Theme};

impl AnswerForm {
    pub(super) fn render_summary(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        let area = crate::tui::widgets::centered(area, 90, area.height.saturating_sub(2));
        frame.render_widget(ratatui::widgets::Clear, area);
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme.style(Role::Accent))
            .title(Span::styled(self.summary_title(), theme.style(Role::Title)));
        let answers = self.answers();
        let mut lines = Vec::new();
        if let Some(note) = self.summary_note() {
            lines.push(Line::styled(note, theme.style(Role::Info)));
            lines.push(Line::default());
        }
        for question in &self.template.questions {
            lines.push(Line::styled(
                sanitize(&question.prompt).into_owned(),
                theme.style(Role::Header),
            ));
            let shown = match answers.get(&question.id) {
                None => "—".to_owned(),
                Some(Value::Bool(yes)) => if *yes { "Yes" } else { "No" }.to_owned(),
                Some(Value::String(text)) if question.kind == QuestionKind::SingleChoice => {
                    option_label(text)
                }
                Some(Value::String(text)) => text.clone(),
                Some(Value::Array(items)) => items
                    .iter()
                    .filter_map(Value::as_str)
                    .map(option_label)
                    .collect::<Vec<_>>()
                    .join(", "),
                Some(other) => other.to_string(),
            };
            for line in shown.lines() {
                lines.push(Line::styled(
                    format!("  {}", sanitize(line)),
                    theme.style(Role::Base),
                ));
            }
        }
        lines.push(Line::default());
        let hint = if self.submitting {
            "Submitting…"
        } else {
            "ctrl-s submit · esc keep editing · j/k pagedown/pageup scroll"
        };
        lines.push(Line::styled(hint, theme.style(Role::Key)));
        let summary = Paragraph::new(lines).wrap(Wrap { trim: false });
        // Scrolled at most until its last line reaches the window's bottom.
        let rows = summary.line_count(area.width.saturating_sub(2));
        let most = rows.saturating_sub(usize::from(area.height.saturating_sub(2)));
        self.summary_most
            .set(u16::try_from(most).unwrap_or(u16::MAX));
        let scroll = self.summary_scroll.min(self.summary_most.get());
        frame.render_widget(summary.scroll((scroll, 0)).block(block), area);
    }

    /// Scrolls the summary by `lines` (negative: up), as far as it goes.
    pub fn scroll_summary(&mut self, lines: i32) {
        let most = i64::from(self.summary_most.get());
        let to = (i64::from(self.summary_scroll) + i64::from(lines)).clamp(0, most);
        self.summary_scroll = u16::try_from(to).unwrap_or(u16::MAX);
    }
}
