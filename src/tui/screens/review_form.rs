//! The structured form of the review form engine, rendered from a
//! template: an ethics review's, or the intake questions of the active
//! policy set for an agent version. A change is saved as a draft shortly
//! after typing stops (a review's with where the reviewer was), so nothing
//! typed is lost to a crash or a closed terminal.

use chrono::{DateTime, Duration, Utc};
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};
use ratatui_textarea::CursorMove;
use serde_json::{Value, json};

use crate::domain::review::{self, QuestionKind, ValidationIssue, ValidationMode, option_label};
use crate::domain::{Answers, ReviewTemplate};
use crate::text::sanitize;
use crate::tui::command::{Command, OpenedIntake, OpenedReview};
use crate::tui::theme::{Role, Theme};

/// How long typing must pause before a draft is saved.
pub const DRAFT_DEBOUNCE: Duration = Duration::milliseconds(600);

mod field;
mod state;
mod subject;
mod summary;
pub use field::Field;
use field::INPUT_INDENT;
pub use subject::{FormKey, FormSubject, IntakeSubject};

#[derive(Debug, Clone)]
pub struct AnswerForm {
    pub subject: FormSubject,
    pub template: ReviewTemplate,
    pub agent_name: String,
    pub fields: Vec<Field>,
    pub focus: usize,
    /// The person may change it (a review: assigned to them and not
    /// submitted; an intake: no change of it waits for a decision; neither
    /// when the console is read-only).
    pub editable: bool,
    /// When the first unsaved change was made.
    pub dirty_since: Option<DateTime<Utc>>,
    edits: u64,
    saving: Option<u64>,
    pub save_error: Option<String>,
    /// Problems found on the last submit attempt.
    pub issues: Vec<ValidationIssue>,
    /// The read-only summary shown before submitting.
    pub summary: bool,
    /// How far the summary is scrolled, in lines.
    pub summary_scroll: u16,
    /// The furthest it scrolls, as last drawn (its wrapped lines past the
    /// window).
    summary_most: std::cell::Cell<u16>,
    pub submitting: bool,
    /// Leaving with changes no draft holds was asked once: asked again,
    /// they are dropped.
    pub discard_armed: bool,
}

impl AnswerForm {
    /// An ethics review: its reviewer's to fill until submitted.
    pub fn open(opened: OpenedReview, me: &str, read_only: bool) -> AnswerForm {
        let OpenedReview {
            review,
            template,
            agent_name,
        } = opened;
        AnswerForm::new(
            FormSubject::Review(review),
            template,
            agent_name,
            me,
            read_only,
        )
    }

    /// An agent version's intake, under the active set's questions.
    pub fn open_intake(opened: OpenedIntake, me: &str, read_only: bool) -> AnswerForm {
        let OpenedIntake {
            agent_id,
            agent_version,
            agent_name,
            template,
            intake,
        } = opened;
        let subject = FormSubject::Intake(IntakeSubject {
            agent_id,
            agent_version,
            saved: intake,
        });
        AnswerForm::new(subject, template, agent_name, me, read_only)
    }

    fn new(
        subject: FormSubject,
        template: ReviewTemplate,
        agent_name: String,
        me: &str,
        read_only: bool,
    ) -> AnswerForm {
        let stored = subject.stored_answers();
        let fields = template
            .questions
            .iter()
            .map(|question| {
                Field::new(
                    question,
                    stored.and_then(|answers| answers.get(&question.id)),
                )
            })
            .collect();
        let editable = subject.may_edit(me, read_only);
        let mut form = AnswerForm {
            subject,
            template,
            agent_name,
            fields,
            focus: 0,
            editable,
            dirty_since: None,
            edits: 0,
            saving: None,
            save_error: None,
            issues: Vec::new(),
            summary: false,
            summary_scroll: 0,
            summary_most: std::cell::Cell::new(0),
            submitting: false,
            discard_armed: false,
        };
        form.restore_position();
        form
    }

    /// Puts focus and cursor back where the last draft left them.
    fn restore_position(&mut self) {
        let Some(state) = self.subject.form_state().cloned() else {
            return;
        };
        let field = state.get("field").and_then(Value::as_u64).unwrap_or(0) as usize;
        self.focus = field.min(self.fields.len().saturating_sub(1));
        let cursor = state
            .get("cursor")
            .and_then(Value::as_array)
            .and_then(|pair| Some((pair.first()?.as_u64()?, pair.get(1)?.as_u64()?)));
        if let (Some(Field::Text(area)), Some((row, col))) =
            (self.fields.get_mut(self.focus), cursor)
        {
            area.move_cursor(CursorMove::Jump(
                row.min(u16::MAX as u64) as u16,
                col.min(u16::MAX as u64) as u16,
            ));
        }
    }

    pub fn answers(&self) -> Answers {
        self.template
            .questions
            .iter()
            .zip(&self.fields)
            .filter_map(|(question, field)| {
                field
                    .answer(question)
                    .map(|value| (question.id.clone(), value))
            })
            .collect()
    }

    pub fn form_state(&self) -> Value {
        match self.fields.get(self.focus) {
            Some(Field::Text(area)) => {
                let ratatui_textarea::DataCursor(row, col) = area.cursor();
                json!({ "field": self.focus, "cursor": [row, col] })
            }
            _ => json!({ "field": self.focus }),
        }
    }

    fn touched(&mut self, now: DateTime<Utc>) {
        self.edits += 1;
        self.dirty_since.get_or_insert(now);
        self.issues.clear();
        self.discard_armed = false;
    }

    /// A draft save, when typing has paused long enough (or `force`).
    pub fn due_save(&mut self, now: DateTime<Utc>, force: bool) -> Option<Command> {
        let since = self.dirty_since?;
        if !self.editable
            || !self.subject.keeps_drafts()
            || (!force && (self.saving.is_some() || now - since < DRAFT_DEBOUNCE))
        {
            return None;
        }
        self.saving = Some(self.edits);
        Some(
            self.subject
                .draft(self.answers(), self.form_state(), self.edits),
        )
    }

    /// A draft came back saved (the subject as the store now holds it) or
    /// not.
    pub fn on_saved(&mut self, seq: u64, result: Result<FormSubject, String>) {
        if self.saving != Some(seq) {
            return;
        }
        self.saving = None;
        match result {
            Ok(saved) => {
                self.save_error = None;
                self.subject = saved;
                if self.edits == seq {
                    self.dirty_since = None;
                }
            }
            // Stays dirty: the next tick tries again, and the text is still here.
            Err(error) => self.save_error = Some(error),
        }
    }

    /// The submission of what the form holds.
    pub fn submit(&mut self) -> Command {
        self.submitting = true;
        // A draft still on its way is not waited for: the submission
        // carries everything.
        self.saving = None;
        self.subject.submit(self.answers())
    }

    /// The submission came back: stored (the form shows what the store
    /// holds; a review is then read-only, an intake may be answered again
    /// unless its change waits for a decision) or refused.
    pub fn on_submitted(&mut self, result: Result<FormSubject, String>, me: &str, read_only: bool) {
        self.submitting = false;
        self.summary = false;
        if let Ok(saved) = result {
            self.editable = saved.may_edit(me, read_only);
            self.subject = saved;
            self.dirty_since = None;
            self.save_error = None;
        }
    }

    /// Changes no draft holds (a submitted intake's, until submitted again):
    /// leaving drops them.
    pub fn holds_unkept_changes(&self) -> bool {
        self.has_unsaved() && !self.subject.keeps_drafts()
    }

    pub fn has_unsaved(&self) -> bool {
        self.dirty_since.is_some()
    }

    /// A change waits to be saved as a draft.
    pub fn draft_due(&self) -> bool {
        self.has_unsaved() && self.editable && self.subject.keeps_drafts()
    }

    pub fn next_field(&mut self) {
        self.focus = (self.focus + 1).min(self.fields.len().saturating_sub(1));
    }

    pub fn previous_field(&mut self) {
        self.focus = self.focus.saturating_sub(1);
    }

    /// Checks everything; on problems, focus jumps to the first.
    pub fn check_for_submit(&mut self) -> bool {
        self.issues = review::validate(&self.template, &self.answers(), ValidationMode::Submit);
        if let Some(first) = self.issues.first()
            && let Some(index) = self
                .template
                .questions
                .iter()
                .position(|q| q.id == first.question_id)
        {
            self.focus = index;
        }
        self.issues.is_empty()
    }

    /// A key for the focused field. Returns whether anything changed.
    pub fn on_key(&mut self, key: KeyEvent, now: DateTime<Utc>) -> bool {
        if !self.editable {
            match key.code {
                KeyCode::Down | KeyCode::Char('j') => self.next_field(),
                KeyCode::Up | KeyCode::Char('k') => self.previous_field(),
                _ => {}
            }
            return false;
        }
        let Some(question) = self.template.questions.get(self.focus).cloned() else {
            return false;
        };
        let options = question.options.len().max(1);
        let Some(field) = self.fields.get_mut(self.focus) else {
            return false;
        };
        let changed = match field {
            Field::Text(area) => {
                let single_line = question.kind == QuestionKind::Text;
                match key.code {
                    KeyCode::Enter if single_line => {
                        self.next_field();
                        return false;
                    }
                    KeyCode::Up | KeyCode::Down if single_line => {
                        if key.code == KeyCode::Up {
                            self.previous_field()
                        } else {
                            self.next_field()
                        }
                        return false;
                    }
                    _ => area.input(key),
                }
            }
            Field::Choice { cursor, chosen } => match key.code {
                KeyCode::Left | KeyCode::Char('h') => {
                    *cursor = cursor.saturating_sub(1);
                    false
                }
                KeyCode::Right | KeyCode::Char('l') => {
                    *cursor = (*cursor + 1).min(options - 1);
                    false
                }
                KeyCode::Char(' ') | KeyCode::Enter => {
                    *chosen = Some(*cursor);
                    true
                }
                // Options are a list, one per line: up and down (and j, k)
                // move through them, and past either end to the next field.
                KeyCode::Up | KeyCode::Char('k') if *cursor > 0 => {
                    *cursor -= 1;
                    false
                }
                KeyCode::Down | KeyCode::Char('j') if *cursor + 1 < options => {
                    *cursor += 1;
                    false
                }
                KeyCode::Up | KeyCode::Char('k') => {
                    self.previous_field();
                    false
                }
                KeyCode::Down | KeyCode::Char('j') => {
                    self.next_field();
                    false
                }
                _ => false,
            },
            Field::Multi { cursor, chosen } => match key.code {
                KeyCode::Left | KeyCode::Char('h') => {
                    *cursor = cursor.saturating_sub(1);
                    false
                }
                KeyCode::Right | KeyCode::Char('l') => {
                    *cursor = (*cursor + 1).min(options - 1);
                    false
                }
                KeyCode::Char(' ') | KeyCode::Enter => {
                    if let Some(on) = chosen.get_mut(*cursor) {
                        *on = !*on;
                    }
                    true
                }
                // Options are a list, one per line: up and down (and j, k)
                // move through them, and past either end to the next field.
                KeyCode::Up | KeyCode::Char('k') if *cursor > 0 => {
                    *cursor -= 1;
                    false
                }
                KeyCode::Down | KeyCode::Char('j') if *cursor + 1 < options => {
                    *cursor += 1;
                    false
                }
                KeyCode::Up | KeyCode::Char('k') => {
                    self.previous_field();
                    false
                }
                KeyCode::Down | KeyCode::Char('j') => {
                    self.next_field();
                    false
                }
                _ => false,
            },
            Field::YesNo(value) => match key.code {
                KeyCode::Char('y') | KeyCode::Char('Y') => {
                    *value = Some(true);
                    true
                }
                KeyCode::Char('n') | KeyCode::Char('N') => {
                    *value = Some(false);
                    true
                }
                KeyCode::Char(' ') | KeyCode::Left | KeyCode::Right => {
                    *value = Some(!value.unwrap_or(false));
                    true
                }
                KeyCode::Up => {
                    self.previous_field();
                    false
                }
                KeyCode::Down | KeyCode::Enter => {
                    self.next_field();
                    false
                }
                _ => false,
            },
            Field::Scale(value) => match key.code {
                KeyCode::Char(c @ '1'..='5') => {
                    *value = Some(c as u8 - b'0');
                    true
                }
                KeyCode::Left => {
                    *value = Some(value.unwrap_or(2).saturating_sub(1).max(1));
                    true
                }
                KeyCode::Right => {
                    *value = Some((value.unwrap_or(0) + 1).min(5));
                    true
                }
                KeyCode::Up => {
                    self.previous_field();
                    false
                }
                KeyCode::Down | KeyCode::Enter => {
                    self.next_field();
                    false
                }
                _ => false,
            },
        };
        if changed {
            self.touched(now);
        }
        changed
    }

    /// The focused answer's text, when it is a text the reviewer may edit
    /// (what `$EDITOR` opens).
    pub fn focused_text(&self) -> Option<String> {
        match self.fields.get(self.focus) {
            Some(Field::Text(area)) if self.editable => Some(area.lines().join("\n")),
            _ => None,
        }
    }

    /// Puts what the editor wrote in answer `field`, as typing would.
    pub fn replace_text(&mut self, field: usize, text: &str, now: DateTime<Utc>) -> bool {
        if !self.editable {
            return false;
        }
        let Some(Field::Text(area)) = self.fields.get_mut(field) else {
            return false;
        };
        area.select_all();
        area.cut();
        area.insert_str(text);
        self.touched(now);
        true
    }

    pub fn on_paste(&mut self, text: &str, now: DateTime<Utc>) {
        if !self.editable {
            return;
        }
        if let Some(Field::Text(area)) = self.fields.get_mut(self.focus) {
            area.insert_str(text);
            self.touched(now);
        }
    }

    /// `unconfirmed`: the saved state has not reached the server yet.
    pub fn render(&self, frame: &mut Frame, area: Rect, theme: &Theme, unconfirmed: bool) {
        let [header, body, help] = Layout::vertical([
            Constraint::Length(2),
            Constraint::Min(3),
            Constraint::Length(3),
        ])
        .areas(area);
        let state = self.state(unconfirmed);
        let title = Line::from(vec![
            Span::styled(
                format!(" {} ", sanitize(&self.template.name)),
                theme.style(Role::Title),
            ),
            Span::styled(
                format!(
                    "{} · {}",
                    sanitize(&self.agent_name),
                    sanitize(&self.context())
                ),
                theme.style(Role::Muted),
            ),
        ]);
        // Where the answers stand leads the second line, so a narrow
        // terminal never cuts it off.
        let issues = Line::from(vec![
            Span::styled(format!(" {}", state.0), theme.style(state.1)),
            if self.issues.is_empty() {
                Span::styled(" · * required", theme.style(Role::Muted))
            } else {
                Span::styled(
                    format!(
                        " · {} problem(s) to fix before submitting",
                        self.issues.len()
                    ),
                    theme.style(Role::Danger),
                )
            },
        ]);
        frame.render_widget(Paragraph::new(vec![title, issues]), header);
        self.render_fields(frame, body, theme);
        let help_text = self
            .template
            .questions
            .get(self.focus)
            .map(|q| sanitize(&q.help).into_owned())
            .unwrap_or_default();
        let help_block = Block::default()
            .borders(Borders::TOP)
            .border_style(theme.style(Role::Border));
        frame.render_widget(
            Paragraph::new(Line::styled(help_text, theme.style(Role::Info)))
                .wrap(Wrap { trim: true })
                .block(help_block),
            help,
        );
        if self.summary {
            self.render_summary(frame, area, theme);
        }
    }

    /// What to flag next to each field: everything after a submit attempt;
    /// before that, live, only answers that are there but wrong (a question
    /// not answered yet is not an error while typing).
    pub fn problems(&self) -> Vec<ValidationIssue> {
        self.problems_with(&self.answers())
    }

    /// `problems` for answers the caller already has.
    fn problems_with(&self, answers: &Answers) -> Vec<ValidationIssue> {
        if !self.issues.is_empty() {
            return self.issues.clone();
        }
        review::validate(&self.template, answers, ValidationMode::Submit)
            .into_iter()
            .filter(|issue| answers.contains_key(&issue.question_id))
            .collect()
    }

    fn block_height(
        &self,
        index: usize,
        (answers, problems): (&Answers, &[ValidationIssue]),
        width: u16,
    ) -> u16 {
        let question = &self.template.questions[index];
        let issue = u16::from(
            problems
                .iter()
                .any(|issue| issue.question_id == question.id),
        );
        let prompt = self.prompt_height(index, answers, width);
        prompt + self.fields[index].height(question, width) + issue + 1
    }

    /// A question's number ("▶ 3. "), before its words.
    fn prompt_number(&self, index: usize) -> String {
        let marker = if index == self.focus { "▶" } else { " " };
        format!("{marker} {}. ", index + 1)
    }

    /// A question's words and required mark, wrapped beside its number (a
    /// long question is read whole, never cut); unstyled to measure it.
    fn prompt(&self, index: usize, answers: &Answers, theme: Option<&Theme>) -> Paragraph<'static> {
        let style = |role| theme.map(|theme| theme.style(role)).unwrap_or_default();
        let question = &self.template.questions[index];
        let required = if question.is_required(answers) {
            " *"
        } else {
            ""
        };
        let role = if index == self.focus {
            Role::Accent
        } else {
            Role::Header
        };
        Paragraph::new(Line::from(vec![
            Span::styled(sanitize(&question.prompt).into_owned(), style(role)),
            Span::styled(required, style(Role::Danger)),
        ]))
        .wrap(Wrap { trim: false })
    }

    /// The rows a question's words take at `width`.
    fn prompt_height(&self, index: usize, answers: &Answers, width: u16) -> u16 {
        let number = u16::try_from(self.prompt_number(index).chars().count()).unwrap_or(0);
        let rows = self
            .prompt(index, answers, None)
            .line_count(width.saturating_sub(number).max(1));
        u16::try_from(rows).unwrap_or(u16::MAX)
    }

    fn render_fields(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        // Start from the first block that still lets the focused one fit.
        let answers = self.answers();
        let problems = self.problems_with(&answers);
        let mut first = self.focus;
        let known = (&answers, problems.as_slice());
        let mut used = self.block_height(self.focus, known, area.width);
        while first > 0 && used + self.block_height(first - 1, known, area.width) <= area.height {
            first -= 1;
            used += self.block_height(first, known, area.width);
        }
        let mut y = area.y;
        for index in first..self.fields.len() {
            let height = self.block_height(index, known, area.width);
            if y + height > area.bottom() && index != first {
                break;
            }
            let block = Rect::new(
                area.x,
                y,
                area.width,
                height.min(area.bottom().saturating_sub(y)),
            );
            self.render_field(frame, block, (index, &answers, &problems), theme);
            y += height;
        }
    }

    fn render_field(
        &self,
        frame: &mut Frame,
        area: Rect,
        (index, answers, problems): (usize, &Answers, &[ValidationIssue]),
        theme: &Theme,
    ) {
        let question = &self.template.questions[index];
        let focused = index == self.focus;
        let prompt_height = self.prompt_height(index, answers, area.width);
        let input_height = self.fields[index].height(question, area.width);
        let [prompt_area, input_area, rest] = Layout::vertical([
            Constraint::Length(prompt_height),
            Constraint::Length(input_height),
            Constraint::Min(0),
        ])
        .areas(area);
        let number = self.prompt_number(index);
        let [number_area, words_area] = Layout::horizontal([
            Constraint::Length(u16::try_from(number.chars().count()).unwrap_or(0)),
            Constraint::Min(1),
        ])
        .areas(prompt_area);
        let role = if focused { Role::Accent } else { Role::Header };
        frame.render_widget(Span::styled(number, theme.style(role)), number_area);
        frame.render_widget(self.prompt(index, answers, Some(theme)), words_area);
        let input_area = Rect {
            x: input_area.x + INPUT_INDENT,
            width: input_area.width.saturating_sub(INPUT_INDENT),
            ..input_area
        };
        match &self.fields[index] {
            Field::Text(text) => {
                let mut text = (**text).clone();
                let border = if focused { Role::Accent } else { Role::Border };
                text.set_block(
                    Block::default()
                        .borders(Borders::ALL)
                        .border_style(theme.style(border)),
                );
                text.set_style(theme.style(Role::Base));
                text.set_cursor_line_style(theme.style(Role::Base));
                if !focused {
                    // At rest a field shows its answer from the start.
                    text.set_cursor_style(theme.style(Role::Base));
                    text.move_cursor(CursorMove::Top);
                    text.move_cursor(CursorMove::Head);
                }
                frame.render_widget(&text, input_area);
            }
            Field::Choice { cursor, chosen } => {
                let lines = question.options.iter().enumerate().map(|(i, option)| {
                    let mark = if Some(i) == *chosen { "(•)" } else { "( )" };
                    let here = focused && i == *cursor;
                    let role = if here { Role::Selection } else { Role::Base };
                    Line::styled(
                        format!(
                            "{}{mark} {}",
                            if here { "›" } else { " " },
                            option_label(option)
                        ),
                        theme.style(role),
                    )
                });
                frame.render_widget(Paragraph::new(lines.collect::<Vec<_>>()), input_area);
            }
            Field::Multi { cursor, chosen } => {
                let lines =
                    question
                        .options
                        .iter()
                        .zip(chosen)
                        .enumerate()
                        .map(|(i, (option, on))| {
                            let mark = if *on { "[x]" } else { "[ ]" };
                            let here = focused && i == *cursor;
                            let role = if here { Role::Selection } else { Role::Base };
                            Line::styled(
                                format!(
                                    "{}{mark} {}",
                                    if here { "›" } else { " " },
                                    option_label(option)
                                ),
                                theme.style(role),
                            )
                        });
                frame.render_widget(Paragraph::new(lines.collect::<Vec<_>>()), input_area);
            }
            Field::YesNo(value) => {
                let choice = |label: &str, on: bool| {
                    let role = if on { Role::Selection } else { Role::Muted };
                    Span::styled(
                        format!(" {} {label} ", if on { "●" } else { "○" }),
                        theme.style(role),
                    )
                };
                let line = Line::from(vec![
                    choice("yes", *value == Some(true)),
                    Span::raw(" "),
                    choice("no", *value == Some(false)),
                    Span::styled("   y / n", theme.style(Role::Muted)),
                ]);
                frame.render_widget(Paragraph::new(line), input_area);
            }
            Field::Scale(value) => {
                let mut spans: Vec<Span> = (1..=5u8)
                    .map(|n| {
                        let on = *value == Some(n);
                        Span::styled(
                            if on {
                                format!("[{n}]")
                            } else {
                                format!(" {n} ")
                            },
                            theme.style(if on { Role::Selection } else { Role::Muted }),
                        )
                    })
                    .collect();
                spans.push(Span::styled(
                    "   1 poor - 5 excellent",
                    theme.style(Role::Muted),
                ));
                frame.render_widget(Paragraph::new(Line::from(spans)), input_area);
            }
        }
        if let Some(issue) = problems
            .iter()
            .find(|issue| issue.question_id == question.id)
        {
            let line = Line::styled(
                format!("    ✗ {}", sanitize(&issue.message)),
                theme.style(Role::Danger),
            );
            frame.render_widget(Paragraph::new(line), Rect { height: 1, ..rest });
        }
    }
}
