//! The help overlay, the command palette and one-line prompts.

use nucleo_matcher::pattern::{CaseMatching, Normalization, Pattern};
use nucleo_matcher::{Config, Matcher};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use super::centered;
use crate::tui::action::Action;
use crate::tui::keymap::Keymap;
use crate::tui::mode::Mode;
use crate::tui::theme::{Role, Theme};

/// Editing of a one-line text input; returns whether the text changed.
pub fn edit_line(text: &mut String, key: &ratatui::crossterm::event::KeyEvent) -> bool {
    use ratatui::crossterm::event::{KeyCode, KeyModifiers};
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    match key.code {
        KeyCode::Char('u') if ctrl => text.clear(),
        KeyCode::Char('w') if ctrl => {
            let trimmed = text.trim_end().len();
            let cut = text[..trimmed]
                .rfind(char::is_whitespace)
                .map_or(0, |at| at + 1);
            text.truncate(cut);
        }
        KeyCode::Char(c) if !ctrl => {
            if text.len() < 200 {
                text.push(c);
            }
        }
        KeyCode::Backspace => {
            text.pop();
        }
        _ => return false,
    }
    true
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelpOverlay {
    /// The screen whose keys are listed.
    pub mode: Mode,
    pub filter: String,
}

impl HelpOverlay {
    /// The bindings to list: (keys, action, description), filtered.
    pub fn rows(&self, keymap: &Keymap) -> Vec<(String, Action, &'static str)> {
        let needle = self.filter.to_lowercase();
        keymap
            .bindings(self.mode)
            .into_iter()
            .map(|(keys, action)| (keys.join(" "), action, action.description_in(self.mode)))
            .filter(|(keys, action, description)| {
                needle.is_empty()
                    || keys.to_lowercase().contains(&needle)
                    || action.name().contains(&needle)
                    || description.to_lowercase().contains(&needle)
            })
            .collect()
    }

    pub fn render(&self, frame: &mut Frame, area: Rect, keymap: &Keymap, theme: &Theme) {
        let rows = self.rows(keymap);
        let height = (rows.len() as u16 + 4).min(area.height);
        let area = centered(area, 64, height.max(5));
        frame.render_widget(Clear, area);
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme.style(Role::Border))
            .title(Span::styled(
                format!(" Keys: {} ", self.mode.name()),
                theme.style(Role::Title),
            ));
        let inner = block.inner(area);
        frame.render_widget(block, area);
        let [filter_area, list_area] =
            Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(inner);
        let filter = Line::from(vec![
            Span::styled(" filter: ", theme.style(Role::Muted)),
            Span::styled(format!("{}▏", self.filter), theme.style(Role::Input)),
        ]);
        frame.render_widget(Paragraph::new(filter), filter_area);
        let lines: Vec<Line> = if rows.is_empty() {
            vec![Line::styled(" no key matches", theme.style(Role::Muted))]
        } else {
            rows.iter()
                .map(|(keys, _, description)| {
                    Line::from(vec![
                        Span::styled(format!(" {keys:<18}"), theme.style(Role::Key)),
                        Span::styled(description.to_string(), theme.style(Role::Base)),
                    ])
                })
                .collect()
        };
        frame.render_widget(Paragraph::new(lines), list_area);
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Palette {
    pub input: String,
    pub selected: usize,
}

impl Palette {
    /// Actions matching the input, best first.
    pub fn matches(&self) -> Vec<Action> {
        let labels: Vec<String> = Action::DESCRIBED
            .iter()
            .map(|(action, description)| format!("{} {description}", action.name()))
            .collect();
        if self.input.trim().is_empty() {
            return Action::DESCRIBED
                .iter()
                .map(|(action, _)| *action)
                .collect();
        }
        let mut matcher = Matcher::new(Config::DEFAULT);
        let pattern = Pattern::parse(&self.input, CaseMatching::Ignore, Normalization::Smart);
        let scored = pattern.match_list(
            labels
                .iter()
                .enumerate()
                .map(|(i, label)| Indexed(i, label)),
            &mut matcher,
        );
        scored
            .into_iter()
            .map(|(Indexed(i, _), _)| Action::DESCRIBED[i].0)
            .collect()
    }

    pub fn chosen(&self) -> Option<Action> {
        self.matches().get(self.selected).copied()
    }

    pub fn render(
        &self,
        frame: &mut Frame,
        area: Rect,
        keymap: &Keymap,
        mode: Mode,
        theme: &Theme,
    ) {
        let matches = self.matches();
        let area = centered(area, 64, (matches.len() as u16 + 4).clamp(5, 16));
        frame.render_widget(Clear, area);
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme.style(Role::Border))
            .title(Span::styled(" Run an action ", theme.style(Role::Title)));
        let inner = block.inner(area);
        frame.render_widget(block, area);
        let [input_area, list_area] =
            Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(inner);
        let input = Line::from(vec![
            Span::styled(" : ", theme.style(Role::Key)),
            Span::styled(format!("{}▏", self.input), theme.style(Role::Input)),
        ]);
        frame.render_widget(Paragraph::new(input), input_area);
        let visible = list_area.height as usize;
        let start = self.selected.saturating_sub(visible.saturating_sub(1));
        let lines: Vec<Line> = matches
            .iter()
            .enumerate()
            .skip(start)
            .take(visible)
            .map(|(index, action)| {
                let key = keymap.hint(mode, *action).unwrap_or_default();
                let style = if index == self.selected {
                    theme.style(Role::Selection)
                } else {
                    theme.style(Role::Base)
                };
                Line::from(vec![
                    Span::styled(format!(" {:<15}", action.name()), style),
                    Span::styled(format!("{:<8}", key), theme.style(Role::Key)),
                    Span::styled(
                        action.description_in(mode).to_owned(),
                        theme.style(Role::Muted),
                    ),
                ])
            })
            .collect();
        frame.render_widget(Paragraph::new(lines), list_area);
    }
}

struct Indexed<'a>(usize, &'a String);

impl AsRef<str> for Indexed<'_> {
    fn as_ref(&self) -> &str {
        self.1
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PromptKind {
    Search,
    Team,
    /// Agents on the Audits tab, searched as you type.
    Agent,
    /// Why the request of the open workflow is withdrawn.
    WithdrawReason,
    /// Whom to delegate to, then until when.
    DelegateTo,
    DelegateUntil,
    /// Where to save an evidence pack.
    EvidenceFile,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt {
    pub kind: PromptKind,
    pub text: String,
}

impl Prompt {
    pub fn render(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        let label = match self.kind {
            PromptKind::Search => " search agent or team: ",
            PromptKind::Team => " team (exact name, empty for all): ",
            PromptKind::Agent => " agent name, id or team: ",
            PromptKind::WithdrawReason => {
                " withdraw this request, because (required unless it is yours): "
            }
            PromptKind::DelegateTo => " delegate my steps to (email of someone holding my role): ",
            PromptKind::DelegateUntil => " until (YYYY-MM-DD, through that day, UTC): ",
            PromptKind::EvidenceFile => " save the evidence pack as: ",
        };
        let line = Line::from(vec![
            Span::styled(label, theme.style(Role::Accent)),
            Span::styled(format!("{}▏", self.text), theme.style(Role::Input)),
        ]);
        frame.render_widget(Clear, area);
        frame.render_widget(Paragraph::new(line), area);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

    #[test]
    fn the_palette_matches_fuzzily() {
        let palette = Palette {
            input: "aprv".into(),
            selected: 0,
        };
        assert_eq!(palette.chosen(), Some(Action::Approve));
        let palette = Palette {
            input: "risk".into(),
            selected: 0,
        };
        assert!(palette.matches().contains(&Action::CycleRisk));
        let all = Palette {
            input: String::new(),
            selected: 0,
        };
        assert_eq!(all.matches().len(), Action::DESCRIBED.len());
        let none = Palette {
            input: "zzzzqqq".into(),
            selected: 0,
        };
        assert_eq!(none.chosen(), None);
    }

    #[test]
    fn help_filters_as_you_type() {
        let keymap = Keymap::default_keymap();
        let help = HelpOverlay {
            mode: Mode::Queue,
            filter: "reject".into(),
        };
        let rows = help.rows(&keymap);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].1, Action::Reject);
    }

    #[test]
    fn line_editing_handles_words_and_clearing() {
        let mut text = String::from("hello big world");
        let key = |code, modifiers| KeyEvent::new(code, modifiers);
        edit_line(&mut text, &key(KeyCode::Char('w'), KeyModifiers::CONTROL));
        assert_eq!(text, "hello big ");
        edit_line(&mut text, &key(KeyCode::Backspace, KeyModifiers::NONE));
        edit_line(&mut text, &key(KeyCode::Char('!'), KeyModifiers::NONE));
        assert_eq!(text, "hello big!");
        edit_line(&mut text, &key(KeyCode::Char('u'), KeyModifiers::CONTROL));
        assert_eq!(text, "");
    }
}
