//! The report as a PDF, written in Rust with `krilla` and the bundled Noto
//! Sans (SIL Open Font License, `assets/fonts/OFL.txt`): no browser, no
//! system fonts. The pages are laid out here (krilla draws, it does not
//! lay out): blocks flow down A4 pages, tables break between rows with
//! their header repeated, charts are drawn as vector lines. The signed
//! note travels as an embedded file, `gavel-report.note`.

use krilla::Document;
use krilla::color::luma;
use krilla::embed::{AssociationKind, EmbeddedFile, MimeType};
use krilla::geom::{PathBuilder, Point};
use krilla::metadata::{DateTime as PdfDateTime, Metadata};
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke, StrokeDash};
use krilla::surface::Surface;
use krilla::text::{Font, TextDirection};
use skrifa::MetadataProvider;
use skrifa::instance::{LocationRef, Size};

use super::chart::{self, Chart, Marker};
use super::note::ReportError;
use super::words::{self, Block};
use crate::domain::report::BoardReport;

/// The embedded file holding the signed note.
pub const NOTE_FILE: &str = "gavel-report.note";

static REGULAR: &[u8] = include_bytes!("../../assets/fonts/NotoSans-Regular.ttf");
static BOLD: &[u8] = include_bytes!("../../assets/fonts/NotoSans-Bold.ttf");

const PAGE: (f32, f32) = (595.28, 841.89);
const MARGIN: f32 = 50.0;
const WIDTH: f32 = PAGE.0 - 2.0 * MARGIN;
const BOTTOM: f32 = PAGE.1 - MARGIN;

/// What one page draws.
enum Op {
    Text {
        at: (f32, f32),
        size: f32,
        bold: bool,
        text: String,
    },
    Line {
        from: (f32, f32),
        to: (f32, f32),
        width: f32,
        grey: f32,
        dash: &'static [f32],
    },
    Polyline {
        points: Vec<(f32, f32)>,
        grey: f32,
        dash: &'static [f32],
    },
    Marker {
        at: (f32, f32),
        marker: Marker,
        grey: f32,
    },
}

/// Text widths from the font's advances (the report's text is Latin; no
/// shaping needed to measure it).
struct Measure {
    regular: skrifa::FontRef<'static>,
    bold: skrifa::FontRef<'static>,
}

impl Measure {
    fn new() -> Result<Measure, ReportError> {
        let font = |bytes: &'static [u8]| {
            skrifa::FontRef::new(bytes)
                .map_err(|err| ReportError::Document(format!("the bundled font: {err}")))
        };
        Ok(Measure {
            regular: font(REGULAR)?,
            bold: font(BOLD)?,
        })
    }

    fn width(&self, text: &str, size: f32, bold: bool) -> f32 {
        let font = if bold { &self.bold } else { &self.regular };
        let metrics = font.glyph_metrics(Size::new(size), LocationRef::default());
        let charmap = font.charmap();
        text.chars()
            .map(|c| {
                charmap
                    .map(c)
                    .and_then(|glyph| metrics.advance_width(glyph))
                    .unwrap_or(size * 0.5)
            })
            .sum()
    }

    /// `text` cut to `width`, ending "..." when cut.
    fn fit(&self, text: &str, size: f32, bold: bool, width: f32) -> String {
        if self.width(text, size, bold) <= width {
            return text.to_owned();
        }
        let mut cut: String = text.to_owned();
        while !cut.is_empty() && self.width(&format!("{cut}..."), size, bold) > width {
            cut.pop();
        }
        format!("{cut}...")
    }

    /// `text` broken into lines no wider than `width`.
    fn wrap(&self, text: &str, size: f32, bold: bool, width: f32) -> Vec<String> {
        let mut lines = Vec::new();
        let mut line = String::new();
        for word in text.split_whitespace() {
            let candidate = if line.is_empty() {
                word.to_owned()
            } else {
                format!("{line} {word}")
            };
            if self.width(&candidate, size, bold) <= width || line.is_empty() {
                line = candidate;
            } else {
                lines.push(std::mem::replace(&mut line, word.to_owned()));
            }
        }
        if !line.is_empty() {
            lines.push(line);
        }
        lines
            .into_iter()
            .map(|line| self.fit(&line, size, bold, width))
            .collect()
    }
}

/// Pages being filled, top to bottom.
struct Layout {
    measure: Measure,
    pages: Vec<Vec<Op>>,
    y: f32,
}

impl Layout {
    fn room(&mut self, height: f32) {
        if self.y + height > BOTTOM {
            self.pages.push(Vec::new());
            self.y = MARGIN;
        }
    }

    fn push(&mut self, op: Op) {
        if let Some(page) = self.pages.last_mut() {
            page.push(op);
        }
    }

    fn text(&mut self, x: f32, size: f32, bold: bool, text: String) {
        self.push(Op::Text {
            at: (x, self.y),
            size,
            bold,
            text,
        });
    }

    fn paragraph(&mut self, text: &str, size: f32, bold: bool, gap: f32) {
        let leading = size * 1.4;
        for line in self.measure.wrap(text, size, bold, WIDTH) {
            self.room(leading);
            self.y += leading;
            self.text(MARGIN, size, bold, line);
        }
        self.y += gap;
    }

    fn table(&mut self, headers: &[String], rows: &[Vec<String>]) {
        const SIZE: f32 = 8.5;
        const ROW: f32 = 13.0;
        let columns = headers.len().max(1);
        // Each column as wide as its widest cell, shrunk to the page.
        let mut widths: Vec<f32> = (0..columns)
            .map(|column| {
                std::iter::once(headers.get(column))
                    .chain(rows.iter().map(|row| row.get(column)))
                    .flatten()
                    .map(|cell| self.measure.width(cell, SIZE, true) + 8.0)
                    .fold(24.0, f32::max)
            })
            .collect();
        let total: f32 = widths.iter().sum();
        if total > WIDTH {
            for width in &mut widths {
                *width *= WIDTH / total;
            }
        }
        let draw_row = |layout: &mut Layout, cells: &[String], bold: bool| {
            layout.y += ROW;
            let mut x = MARGIN;
            for (cell, width) in cells.iter().zip(&widths) {
                let text = layout.measure.fit(cell, SIZE, bold, width - 6.0);
                layout.push(Op::Text {
                    at: (x + 2.0, layout.y - 3.5),
                    size: SIZE,
                    bold,
                    text,
                });
                x += width;
            }
            layout.push(Op::Line {
                from: (MARGIN, layout.y),
                to: (MARGIN + widths.iter().sum::<f32>(), layout.y),
                width: if bold { 0.8 } else { 0.3 },
                grey: if bold { 0.0 } else { 0.6 },
                dash: &[],
            });
        };
        self.room(ROW * 2.0);
        draw_row(self, headers, true);
        for row in rows {
            if self.y + ROW > BOTTOM {
                self.room(ROW * 2.0);
                draw_row(self, headers, true);
            }
            draw_row(self, row, false);
        }
        self.y += 10.0;
    }

    fn chart(&mut self, chart: &Chart) {
        const HEIGHT: f32 = 210.0;
        self.room(HEIGHT + 8.0);
        let plot = chart::plot(chart, WIDTH, HEIGHT);
        let (dx, dy) = (MARGIN, self.y);
        let at = |(x, y): (f32, f32)| (x + dx, y + dy);
        let (left, _, right, bottom) = plot.area;
        self.push(Op::Text {
            at: at((0.0, 14.0)),
            size: 10.0,
            bold: true,
            text: chart.title.clone(),
        });
        for (y, value) in &plot.y_ticks {
            self.push(Op::Line {
                from: at((left, *y)),
                to: at((right, *y)),
                width: 0.3,
                grey: 0.8,
                dash: &[],
            });
            let label = value.to_string();
            let width = self.measure.width(&label, 7.5, false);
            self.push(Op::Text {
                at: at((left - 5.0 - width, y + 3.0)),
                size: 7.5,
                bold: false,
                text: label,
            });
        }
        self.push(Op::Line {
            from: at((left, bottom)),
            to: at((right, bottom)),
            width: 0.8,
            grey: 0.0,
            dash: &[],
        });
        for (x, label) in &plot.x_labels {
            let width = self.measure.width(label, 7.5, false);
            self.push(Op::Text {
                at: at((x - width / 2.0, bottom + 12.0)),
                size: 7.5,
                bold: false,
                text: label.clone(),
            });
        }
        for (index, (series, points)) in chart.series.iter().zip(&plot.lines).enumerate() {
            let look = chart::look(index);
            self.push(Op::Polyline {
                points: points.iter().map(|point| at(*point)).collect(),
                grey: look.grey,
                dash: look.dash,
            });
            for point in points {
                self.push(Op::Marker {
                    at: at(*point),
                    marker: look.marker,
                    grey: look.grey,
                });
            }
            let (x, y) = (left + 110.0 * index as f32, HEIGHT - 8.0);
            self.push(Op::Line {
                from: at((x, y - 3.0)),
                to: at((x + 22.0, y - 3.0)),
                width: 1.4,
                grey: look.grey,
                dash: look.dash,
            });
            self.push(Op::Marker {
                at: at((x + 11.0, y - 3.0)),
                marker: look.marker,
                grey: look.grey,
            });
            self.push(Op::Text {
                at: at((x + 27.0, y)),
                size: 8.0,
                bold: false,
                text: series.name.clone(),
            });
        }
        self.y += HEIGHT + 8.0;
    }
}

fn grey(level: f32) -> luma::Color {
    luma::Color::new((level.clamp(0.0, 1.0) * 255.0).round() as u8)
}

fn stroke(width: f32, level: f32, dash: &[f32]) -> Stroke {
    Stroke {
        paint: grey(level).into(),
        width,
        dash: (!dash.is_empty()).then(|| StrokeDash {
            array: dash.to_vec(),
            offset: 0.0,
        }),
        ..Stroke::default()
    }
}

fn fill(level: f32) -> Fill {
    Fill {
        paint: grey(level).into(),
        opacity: NormalizedF32::ONE,
        ..Fill::default()
    }
}

fn stroke_path(surface: &mut Surface<'_>, points: &[(f32, f32)], stroke_with: Stroke) {
    let mut builder = PathBuilder::new();
    for (index, (x, y)) in points.iter().enumerate() {
        if index == 0 {
            builder.move_to(*x, *y);
        } else {
            builder.line_to(*x, *y);
        }
    }
    if let Some(path) = builder.finish() {
        surface.set_fill(None);
        surface.set_stroke(Some(stroke_with));
        surface.draw_path(&path);
        surface.set_stroke(None);
    }
}

fn marker(surface: &mut Surface<'_>, kind: Marker, (x, y): (f32, f32), level: f32) {
    let mut builder = PathBuilder::new();
    match kind {
        Marker::Circle | Marker::Square => {
            let r = 2.4;
            builder.move_to(x - r, y - r);
            builder.line_to(x + r, y - r);
            builder.line_to(x + r, y + r);
            builder.line_to(x - r, y + r);
            builder.close();
        }
        Marker::Triangle => {
            builder.move_to(x, y - 3.0);
            builder.line_to(x + 3.0, y + 2.2);
            builder.line_to(x - 3.0, y + 2.2);
            builder.close();
        }
        Marker::Cross => {
            stroke_path(
                surface,
                &[(x - 3.0, y - 3.0), (x + 3.0, y + 3.0)],
                stroke(1.2, level, &[]),
            );
            stroke_path(
                surface,
                &[(x - 3.0, y + 3.0), (x + 3.0, y - 3.0)],
                stroke(1.2, level, &[]),
            );
            return;
        }
    }
    if let Some(path) = builder.finish() {
        // A hollow square tells itself from the filled circle-like marker.
        if kind == Marker::Square {
            surface.set_fill(Some(fill(1.0)));
            surface.set_stroke(Some(stroke(0.9, level, &[])));
        } else {
            surface.set_fill(Some(fill(level)));
            surface.set_stroke(None);
        }
        surface.draw_path(&path);
        surface.set_stroke(None);
    }
}

fn pdf_date(at: chrono::DateTime<chrono::Utc>) -> PdfDateTime {
    use chrono::{Datelike, Timelike};
    PdfDateTime::new(u16::try_from(at.year()).unwrap_or(1970))
        .month(at.month() as u8)
        .day(at.day() as u8)
        .hour(at.hour() as u8)
        .minute(at.minute() as u8)
        .second(at.second() as u8)
        .utc_offset_hour(0)
        .utc_offset_minute(0)
}

/// The report's PDF: the same blocks as the other formats, and the signed
/// note embedded. The same report and note give the same bytes.
pub fn render(report: &BoardReport, note: &str) -> Result<Vec<u8>, ReportError> {
    let font = |bytes: &'static [u8]| {
        Font::new(bytes.to_vec().into(), 0)
            .ok_or_else(|| ReportError::Document("the bundled font cannot be read".into()))
    };
    let (regular, bold) = (font(REGULAR)?, font(BOLD)?);
    let mut layout = Layout {
        measure: Measure::new()?,
        pages: vec![Vec::new()],
        y: MARGIN,
    };
    layout.paragraph(&words::title(report), 18.0, true, 6.0);
    for block in words::blocks(report) {
        match block {
            Block::Heading(text) => {
                layout.room(40.0);
                layout.y += 8.0;
                layout.paragraph(&text, 13.0, true, 4.0);
            }
            Block::Paragraph(text) => layout.paragraph(&text, 9.5, false, 6.0),
            Block::Table { headers, rows } => layout.table(&headers, &rows),
            Block::Chart(chart) => layout.chart(&chart),
        }
    }

    let mut document = Document::new();
    document.set_metadata(
        Metadata::new()
            .title(words::title(report))
            .creator("Gavel".into())
            .producer(format!("Gavel {}", env!("CARGO_PKG_VERSION")))
            .creation_date(pdf_date(report.generated_at))
            .document_id(crate::domain::digest::sha256_hex(note.as_bytes())),
    );
    let pages = layout.pages.len();
    for (number, ops) in layout.pages.into_iter().enumerate() {
        let settings = PageSettings::from_wh(PAGE.0, PAGE.1)
            .ok_or_else(|| ReportError::Document("the page size".into()))?;
        let mut page = document.start_page_with(settings);
        let mut surface = page.surface();
        let footer = format!("{} - page {} of {pages}", words::title(report), number + 1);
        let footer_op = Op::Text {
            at: (MARGIN, PAGE.1 - 24.0),
            size: 7.5,
            bold: false,
            text: footer,
        };
        for op in ops.iter().chain(std::iter::once(&footer_op)) {
            match op {
                Op::Text {
                    at,
                    size,
                    bold: is_bold,
                    text,
                } => {
                    surface.set_fill(Some(fill(0.0)));
                    surface.draw_text(
                        Point::from_xy(at.0, at.1),
                        if *is_bold {
                            bold.clone()
                        } else {
                            regular.clone()
                        },
                        *size,
                        text,
                        false,
                        TextDirection::Auto,
                    );
                }
                Op::Line {
                    from,
                    to,
                    width,
                    grey,
                    dash,
                } => stroke_path(&mut surface, &[*from, *to], stroke(*width, *grey, dash)),
                Op::Polyline { points, grey, dash } => {
                    stroke_path(&mut surface, points, stroke(1.4, *grey, dash));
                }
                Op::Marker {
                    at,
                    marker: kind,
                    grey,
                } => marker(&mut surface, *kind, *at, *grey),
            }
        }
        surface.finish();
        page.finish();
    }
    document
        .embed_file(EmbeddedFile {
            path: NOTE_FILE.into(),
            mime_type: MimeType::new("text/plain"),
            description: Some(
                "The report's figures, signed under the trail log's key (gavel report verify)"
                    .into(),
            ),
            association_kind: AssociationKind::Data,
            data: note.as_bytes().to_vec().into(),
            modification_date: Some(pdf_date(report.generated_at)),
            compress: Some(true),
            location: None,
        })
        .ok_or_else(|| ReportError::Document(format!("{NOTE_FILE} is embedded twice")))?;
    document
        .finish()
        .map_err(|err| ReportError::Document(format!("cannot write the PDF: {err:?}")))
}

/// The signed note a PDF carries, read with `lopdf` from its embedded
/// files.
pub fn embedded_note(bytes: &[u8]) -> Result<String, ReportError> {
    let unreadable = |what: &str| ReportError::Document(format!("not a Gavel report PDF: {what}"));
    let document = lopdf::Document::load_mem(bytes).map_err(|err| unreadable(&err.to_string()))?;
    let catalog = document
        .catalog()
        .map_err(|err| unreadable(&err.to_string()))?;
    let names = catalog
        .get(b"Names")
        .and_then(|names| document.dereference(names))
        .and_then(|(_, names)| names.as_dict())
        .map_err(|_| unreadable("no embedded files"))?;
    let tree = names
        .get(b"EmbeddedFiles")
        .and_then(|tree| document.dereference(tree))
        .and_then(|(_, tree)| tree.as_dict())
        .map_err(|_| unreadable("no embedded files"))?;
    let pairs = tree
        .get(b"Names")
        .and_then(|pairs| document.dereference(pairs))
        .and_then(|(_, pairs)| pairs.as_array())
        .map_err(|_| unreadable("no embedded files"))?;
    for pair in pairs.chunks(2) {
        let [name, spec] = pair else { continue };
        let is_note = document
            .dereference(name)
            .ok()
            .and_then(|(_, name)| name.as_str().ok())
            .is_some_and(|name| name == NOTE_FILE.as_bytes());
        if !is_note {
            continue;
        }
        let stream = document
            .dereference(spec)
            .and_then(|(_, spec)| spec.as_dict())
            .and_then(|spec| spec.get(b"EF"))
            .and_then(|ef| document.dereference(ef))
            .and_then(|(_, ef)| ef.as_dict())
            .and_then(|ef| ef.get(b"F"))
            .and_then(|file| document.dereference(file))
            .and_then(|(_, file)| file.as_stream())
            .map_err(|_| unreadable("the embedded note has no content"))?;
        let content = stream
            .decompressed_content()
            .or_else(|_| Ok::<_, lopdf::Error>(stream.content.clone()))
            .map_err(|err| unreadable(&err.to_string()))?;
        return String::from_utf8(content).map_err(|_| unreadable("the embedded note is not text"));
    }
    Err(unreadable(&format!("no embedded {NOTE_FILE}")))
}
