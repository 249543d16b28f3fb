//! The report as Markdown: the same blocks as the HTML and the PDF (charts
//! are left to the week-by-week table beside them), and the signed note in
//! a fenced block at the end.

use super::words::{self, Block};
use crate::domain::report::BoardReport;

/// The fence the signed note travels in.
pub const FENCE: &str = "```gavel-signed-report";

/// Text from the record made inert: Markdown's punctuation escaped, so a
/// team or description can neither add markup nor break a table.
fn inert(text: &str, keep_code: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' | '\r' => out.push(' '),
            '`' if keep_code => out.push(c),
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '#' | '&' | '!' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

fn row(cells: &[String]) -> String {
    let cells: Vec<String> = cells.iter().map(|cell| inert(cell, false)).collect();
    format!("| {} |\n", cells.join(" | "))
}

pub fn render(report: &BoardReport, note: &str) -> String {
    let mut out = format!("# {}\n\n", inert(&words::title(report), false));
    for block in words::blocks(report) {
        match block {
            Block::Heading(text) => out.push_str(&format!("## {}\n\n", inert(&text, false))),
            Block::Paragraph(text) => out.push_str(&format!("{}\n\n", inert(&text, true))),
            Block::Table { headers, rows } => {
                out.push_str(&row(&headers));
                out.push_str(&format!("|{}\n", " --- |".repeat(headers.len())));
                for cells in &rows {
                    out.push_str(&row(cells));
                }
                out.push('\n');
            }
            Block::Chart(_) => {}
        }
    }
    out.push_str(&format!("{FENCE}\n{}", note));
    if !note.ends_with('\n') {
        out.push('\n');
    }
    out.push_str("```\n");
    out
}

/// The signed note a Markdown report carries.
pub fn embedded_note(text: &str) -> Option<String> {
    let start = text.rfind(&format!("{FENCE}\n"))? + FENCE.len() + 1;
    let end = start + text[start..].rfind("```")?;
    Some(text[start..end].to_owned())
}
