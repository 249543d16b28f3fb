//! One question's input in the review form: its state, the answer it
//! holds, and the rows it takes.

use ratatui_textarea::{CursorMove, TextArea, WrapMode};
use serde_json::Value;

use crate::domain::review::{Question, QuestionKind};

/// Columns between a question's number and its answer.
pub(super) const INPUT_INDENT: u16 = 4;

#[derive(Debug, Clone)]
pub enum Field {
    Text(Box<TextArea<'static>>),
    Choice {
        cursor: usize,
        chosen: Option<usize>,
    },
    Multi {
        cursor: usize,
        chosen: Vec<bool>,
    },
    YesNo(Option<bool>),
    Scale(Option<u8>),
}

impl Field {
    pub(super) fn new(question: &Question, answer: Option<&Value>) -> Field {
        let index_of = |value: &str| question.options.iter().position(|option| option == value);
        match question.kind {
            QuestionKind::Text | QuestionKind::LongText => {
                let text = answer.and_then(Value::as_str).unwrap_or_default();
                let mut area = TextArea::new(text.split('\n').map(str::to_owned).collect());
                // Long answers wrap, so their start never scrolls away.
                area.set_wrap_mode(WrapMode::WordOrGlyph);
                area.move_cursor(CursorMove::Bottom);
                area.move_cursor(CursorMove::End);
                Field::Text(Box::new(area))
            }
            QuestionKind::SingleChoice => {
                let chosen = answer.and_then(Value::as_str).and_then(index_of);
                Field::Choice {
                    cursor: chosen.unwrap_or(0),
                    chosen,
                }
            }
            QuestionKind::MultiChoice => {
                let picked: Vec<&str> = answer
                    .and_then(Value::as_array)
                    .map(|items| items.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                Field::Multi {
                    cursor: 0,
                    chosen: question
                        .options
                        .iter()
                        .map(|option| picked.contains(&option.as_str()))
                        .collect(),
                }
            }
            QuestionKind::YesNo => Field::YesNo(answer.and_then(Value::as_bool)),
            QuestionKind::Scale1To5 => Field::Scale(
                answer
                    .and_then(Value::as_u64)
                    .filter(|n| (1..=5).contains(n))
                    .map(|n| n as u8),
            ),
        }
    }

    pub(super) fn answer(&self, question: &Question) -> Option<Value> {
        match self {
            Field::Text(area) => {
                let text = area.lines().join("\n");
                (!text.trim().is_empty()).then(|| Value::from(text))
            }
            Field::Choice { chosen, .. } => chosen
                .and_then(|index| question.options.get(index))
                .map(|option| Value::from(option.as_str())),
            Field::Multi { chosen, .. } => {
                let picked: Vec<Value> = question
                    .options
                    .iter()
                    .zip(chosen)
                    .filter(|(_, on)| **on)
                    .map(|(option, _)| Value::from(option.as_str()))
                    .collect();
                (!picked.is_empty()).then_some(Value::Array(picked))
            }
            Field::YesNo(value) => value.map(Value::from),
            Field::Scale(value) => value.map(Value::from),
        }
    }

    /// Lines the field's input takes on screen.
    /// Rows the field takes at `width` (its indent and borders included):
    /// a text grows with its wrapped lines, up to a bound.
    pub(super) fn height(&self, question: &Question, width: u16) -> u16 {
        match (self, question.kind) {
            (Field::Text(text), kind) => {
                let inner = usize::from(width.saturating_sub(INPUT_INDENT + 2)).max(1);
                let rows: usize = text
                    .lines()
                    .iter()
                    .map(|line| crate::text::width(line).div_ceil(inner).max(1))
                    .sum();
                let (least, most) = if kind == QuestionKind::LongText {
                    (4, 10)
                } else {
                    (1, 4)
                };
                rows.clamp(least, most) as u16 + 2
            }
            (Field::Choice { .. } | Field::Multi { .. }, _) => question.options.len() as u16,
            _ => 1,
        }
    }
}
