//! The report as one HTML page: the blocks as headings, paragraphs, tables
//! and inline SVG charts, styled to print in black and white, and the
//! signed note in a `<script type="application/json">` block.

use super::chart;
use super::words::{self, Block};
use crate::domain::report::BoardReport;
use crate::text::html_escape;

/// The id of the script element holding the signed note.
pub const SCRIPT_ID: &str = "gavel-signed-report";

const STYLE: &str = "body{font-family:'Noto Sans',system-ui,sans-serif;max-width:56rem;margin:2rem auto;padding:0 1rem;color:#111;line-height:1.45}\
h1{font-size:1.6rem}h2{border-bottom:1px solid #999;margin-top:2rem}\
table{border-collapse:collapse;width:100%;margin:.5rem 0;font-size:.9rem}th,td{border:1px solid #999;padding:.2rem .4rem;text-align:left}\
th{background:#eee}td:not(:first-child){font-variant-numeric:tabular-nums}svg{max-width:100%;height:auto}\
@media print{body{margin:0;max-width:none}h2{page-break-after:avoid}table,svg{page-break-inside:avoid}}";

pub fn render(report: &BoardReport, note: &str) -> String {
    let title = html_escape(&words::title(report));
    let mut out = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title><style>{STYLE}</style></head><body>\n<h1>{title}</h1>\n"
    );
    for block in words::blocks(report) {
        match block {
            Block::Heading(text) => out.push_str(&format!("<h2>{}</h2>\n", html_escape(&text))),
            Block::Paragraph(text) => out.push_str(&format!("<p>{}</p>\n", html_escape(&text))),
            Block::Table { headers, rows } => {
                out.push_str("<table><thead><tr>");
                for header in &headers {
                    out.push_str(&format!("<th>{}</th>", html_escape(header)));
                }
                out.push_str("</tr></thead><tbody>\n");
                for cells in &rows {
                    out.push_str("<tr>");
                    for cell in cells {
                        out.push_str(&format!("<td>{}</td>", html_escape(cell)));
                    }
                    out.push_str("</tr>\n");
                }
                out.push_str("</tbody></table>\n");
            }
            Block::Chart(chart) => {
                out.push_str(&format!("<figure>{}</figure>\n", chart::svg(&chart)));
            }
        }
    }
    // JSON with every '<' escaped: nothing in the note can close the script.
    let data = serde_json::json!({ "note": note })
        .to_string()
        .replace('<', "\\u003c");
    out.push_str(&format!(
        "<script type=\"application/json\" id=\"{SCRIPT_ID}\">{data}</script>\n</body></html>\n"
    ));
    out
}

/// The signed note an HTML report carries.
pub fn embedded_note(text: &str) -> Option<String> {
    let open = format!("<script type=\"application/json\" id=\"{SCRIPT_ID}\">");
    let start = text.rfind(&open)? + open.len();
    let end = start + text[start..].find("</script>")?;
    let data: serde_json::Value = serde_json::from_str(&text[start..end]).ok()?;
    data.get("note")?.as_str().map(str::to_owned)
}
