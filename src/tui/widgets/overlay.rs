//! The help overlay, the command palette and one-line prompts.

use nucleo_matcher::pattern::{CaseMatching, Normalization, Pattern};
use nucleo_matcher::{Config, Matcher};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

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
    /// The first row shown.
    pub scroll: usize,
    /// The most `scroll` may be, as the last frame found it.
    pub(crate) bottom: std::cell::Cell<usize>,
}

/// One line of help: a section heading, or keys and what they do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HelpRow {
    Heading(&'static str),
    Keys {
        keys: String,
        action: Option<Action>,
        description: &'static str,
    },
}

/// What the review form's questions do with keys that are not bindings:
/// typing, choosing, the text area's own editing keys.
const FORM_FIELD_KEYS: [(&str, &str); 8] = [
    (
        "type",
        "answer a text question (enter: a new line in a long answer)",
    ),
    (
        "up down j k",
        "move through a question's options; past either end, the next question",
    ),
    (
        "space enter",
        "choose the option (tick or untick, when several may be chosen)",
    ),
    ("y n", "answer a yes / no question"),
    ("1-5 left right", "rate a scale question"),
    ("ctrl-w alt-bksp", "delete the word before the cursor"),
    (
        "ctrl-a ctrl-e",
        "start / end of the line (ctrl-k deletes to its end)",
    ),
    ("ctrl-u ctrl-r", "undo / redo in a text answer"),
];

impl HelpOverlay {
    pub fn new(mode: Mode) -> HelpOverlay {
        HelpOverlay {
            mode,
            filter: String::new(),
            scroll: 0,
            bottom: std::cell::Cell::new(usize::MAX),
        }
    }

    /// The rows to list, this screen's keys first, then (where global keys
    /// work) those that work everywhere; filtered by what was typed.
    pub fn rows(&self, keymap: &Keymap) -> Vec<HelpRow> {
        let needle = self.filter.to_lowercase();
        let fits = |keys: &str, name: &str, description: &str| {
            needle.is_empty()
                || keys.to_lowercase().contains(&needle)
                || name.contains(&needle)
                || description.to_lowercase().contains(&needle)
        };
        let mut sections: Vec<(&'static str, Vec<HelpRow>)> = Vec::new();
        let bound = |mode: Mode| -> Vec<HelpRow> {
            keymap
                .own_bindings(mode)
                .into_iter()
                .map(|(keys, action)| (keys.join(" "), action, action.description_in(self.mode)))
                .filter(|(keys, action, description)| fits(keys, action.name(), description))
                .map(|(keys, action, description)| HelpRow::Keys {
                    keys,
                    action: Some(action),
                    description,
                })
                .collect()
        };
        sections.push(("On this screen", bound(self.mode)));
        if self.mode == Mode::Form {
            let fields = FORM_FIELD_KEYS
                .iter()
                .filter(|(keys, description)| fits(keys, "", description))
                .map(|(keys, description)| HelpRow::Keys {
                    keys: (*keys).to_owned(),
                    action: None,
                    description,
                })
                .collect();
            sections.push(("In a question", fields));
        }
        if !self.mode.takes_text() && self.mode != Mode::Global {
            sections.push(("Everywhere", bound(Mode::Global)));
        }
        sections
            .into_iter()
            .filter(|(_, rows)| !rows.is_empty())
            .flat_map(|(heading, rows)| std::iter::once(HelpRow::Heading(heading)).chain(rows))
            .collect()
    }

    /// Moves the list by `delta` rows (a page is the list's height).
    pub fn scroll_by(&mut self, delta: isize) {
        self.scroll = self
            .scroll
            .min(self.bottom.get())
            .saturating_add_signed(delta)
            .min(self.bottom.get());
    }

    pub fn render(&self, frame: &mut Frame, area: Rect, keymap: &Keymap, theme: &Theme) {
        let rows = self.rows(keymap);
        // Room for a few wrapped descriptions too.
        let height = (rows.len() as u16 + 8).min(area.height);
        let area = centered(area, 78, height.max(6));
        super::clear(frame, area, theme);
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme.style(Role::Border))
            .title(Span::styled(
                format!(" Keys: {} ", self.mode.name()),
                theme.style(Role::Title),
            ));
        let inner = block.inner(area);
        frame.render_widget(block, area);
        let [filter_area, list_area, more_area] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Min(0),
            Constraint::Length(1),
        ])
        .areas(inner);
        let filter = Line::from(vec![
            Span::styled(" filter: ", theme.style(Role::Muted)),
            Span::styled(format!("{}▏", self.filter), theme.style(Role::Input)),
        ]);
        frame.render_widget(Paragraph::new(filter), filter_area);
        let visible = usize::from(list_area.height).max(1);
        let keys_width = 18.min(usize::from(list_area.width) / 3);
        // A long description wraps under itself, beside its keys.
        let words_width = usize::from(list_area.width)
            .saturating_sub(keys_width + 2)
            .max(10);
        let mut all: Vec<Line> = Vec::new();
        for row in &rows {
            match row {
                HelpRow::Heading(heading) => all.push(Line::styled(
                    format!(" {heading}"),
                    theme.style(Role::Header),
                )),
                HelpRow::Keys {
                    keys, description, ..
                } => {
                    for (index, part) in textwrap::wrap(description, words_width)
                        .into_iter()
                        .enumerate()
                    {
                        let keys = if index == 0 { keys.as_str() } else { "" };
                        all.push(Line::from(vec![
                            Span::styled(format!(" {keys:<keys_width$} "), theme.style(Role::Key)),
                            Span::styled(part.into_owned(), theme.style(Role::Base)),
                        ]));
                    }
                }
            }
        }
        self.bottom.set(all.len().saturating_sub(visible));
        let scroll = self.scroll.min(self.bottom.get());
        let total = all.len();
        let lines: Vec<Line> = if rows.is_empty() {
            vec![Line::styled(" no key matches", theme.style(Role::Muted))]
        } else {
            all.into_iter().skip(scroll).take(visible).collect()
        };
        frame.render_widget(Paragraph::new(lines), list_area);
        let below = total.saturating_sub(scroll + visible);
        let more = match (scroll, below) {
            (0, 0) => "esc closes · type to filter".to_owned(),
            (_, 0) => "↑ more above · esc closes".to_owned(),
            (_, below) => format!("↓ {below} more (down, pagedown) · esc closes"),
        };
        frame.render_widget(
            Paragraph::new(Line::styled(format!(" {more}"), theme.style(Role::Muted))),
            more_area,
        );
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Palette {
    pub input: String,
    pub selected: usize,
    /// The actions that do something where the palette was opened.
    pub offered: Vec<Action>,
}

impl Palette {
    /// The palette for the screen in `mode`: its own actions and those
    /// that work everywhere, in the order help lists them.
    pub fn new(keymap: &Keymap, mode: Mode) -> Palette {
        Palette {
            input: String::new(),
            selected: 0,
            offered: keymap
                .bindings(mode)
                .into_iter()
                .map(|(_, action)| action)
                .chain([Action::Help, Action::Quit])
                .fold(Vec::new(), |mut offered, action| {
                    if !offered.contains(&action) {
                        offered.push(action);
                    }
                    offered
                }),
        }
    }

    /// Actions matching the input, best first.
    pub fn matches(&self) -> Vec<Action> {
        let offered: Vec<(Action, &'static str)> = Action::DESCRIBED
            .iter()
            .copied()
            .filter(|(action, _)| self.offered.contains(action))
            .collect();
        if self.input.trim().is_empty() {
            return offered.iter().map(|(action, _)| *action).collect();
        }
        let labels: Vec<String> = offered
            .iter()
            .map(|(action, description)| format!("{} {description}", action.name()))
            .collect();
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
            .map(|(Indexed(i, _), _)| offered[i].0)
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
        super::clear(frame, area, theme);
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
    /// Until when a delegation runs (its delegate was chosen from a list).
    DelegateUntil,
    /// Where to save an evidence pack.
    EvidenceFile,
    /// The board report's first and last day.
    ReportPeriod,
    /// Where to save the board report (.pdf, .html or .md).
    ReportFile,
    /// Where to save the list in view.
    ListFile,
    /// Text to find in the step view.
    FindInStep,
    /// Text to find in the Reviews list.
    FindInReviews,
    /// Text to find in the Policies tab's list in view.
    FindInPolicies,
    /// Agents among the blocked deployments.
    BlockedSearch,
    /// Why the selected exception's step is rejected.
    RejectException,
    /// Why the selected exception is revoked.
    RevokeException,
    /// The policy an exception is asked for (the one blocking, offered).
    ExceptionPolicy,
    /// Until when it is asked for.
    ExceptionUntil,
    /// Why it is needed.
    ExceptionReason,
    /// The ticket tracking the fix (optional).
    ExceptionTicket,
    /// A field of an action on an incident.
    Incident(crate::tui::widgets::incidents::IncidentField),
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
            PromptKind::Team => " team (any part of its name, empty for all): ",
            PromptKind::Agent => " agent name, id or team: ",
            PromptKind::WithdrawReason => {
                " withdraw this request, because (required unless it is yours): "
            }
            PromptKind::DelegateUntil => " until (YYYY-MM-DD, through that day, UTC): ",
            PromptKind::EvidenceFile => " save the evidence pack as: ",
            PromptKind::ReportPeriod => " report from, to: ",
            PromptKind::ReportFile => " save report as: ",
            PromptKind::ListFile => " save the list as (.csv or .json): ",
            PromptKind::FindInStep => " find in this view: ",
            PromptKind::FindInReviews => " find a review (agent, workflow, id, status): ",
            PromptKind::FindInPolicies => " find a policy or version (any of its text): ",
            PromptKind::BlockedSearch => " blocked deployments of agent name, id or team: ",
            PromptKind::RejectException => " reject the exception's step because: ",
            PromptKind::RevokeException => " revoke the exception because: ",
            PromptKind::ExceptionPolicy => " exception to policy (its id): ",
            PromptKind::ExceptionUntil => " until (YYYY-MM-DD, through that day, UTC): ",
            PromptKind::ExceptionReason => " why the policy cannot be met yet: ",
            PromptKind::ExceptionTicket => " ticket tracking the fix (https, or empty): ",
            PromptKind::Incident(field) => field.label(),
        };
        let line = Line::from(vec![
            Span::styled(label, theme.style(Role::Accent)),
            Span::styled(format!("{}▏", self.text), theme.style(Role::Input)),
        ]);
        super::clear(frame, area, theme);
        frame.render_widget(Paragraph::new(line), area);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

    #[test]
    fn the_palette_matches_fuzzily_among_this_screens_actions() {
        let keymap = Keymap::default_keymap();
        let queue = Palette::new(&keymap, Mode::Queue);
        let palette = Palette {
            input: "aprv".into(),
            ..queue.clone()
        };
        assert_eq!(palette.chosen(), Some(Action::Approve));
        let palette = Palette {
            input: "risk".into(),
            ..queue.clone()
        };
        assert!(palette.matches().contains(&Action::CycleRisk));
        // Only what does something here: no audit's evidence in the queue.
        assert!(!queue.matches().contains(&Action::OpenEvidence));
        assert!(queue.matches().contains(&Action::Inbox));
        assert!(
            Palette::new(&keymap, Mode::Audits)
                .matches()
                .contains(&Action::OpenEvidence)
        );
        let none = Palette {
            input: "zzzzqqq".into(),
            ..queue
        };
        assert_eq!(none.chosen(), None);
    }

    #[test]
    fn help_filters_as_you_type() {
        let keymap = Keymap::default_keymap();
        let help = HelpOverlay {
            filter: "reject".into(),
            ..HelpOverlay::new(Mode::Queue)
        };
        let rows = help.rows(&keymap);
        assert_eq!(rows.len(), 2, "{rows:?}");
        assert_eq!(rows[0], HelpRow::Heading("On this screen"));
        assert!(matches!(
            rows[1],
            HelpRow::Keys {
                action: Some(Action::Reject),
                ..
            }
        ));
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
