//! The report's line charts: one line per figure over the weeks, told
//! apart by dash and marker as well as by grey level, so a chart printed
//! in black and white still reads. `plot` lays a chart out once; the SVG
//! (for HTML) and the PDF draw the same geometry.

use std::fmt::Write;

use crate::text::html_escape;

/// Weekly values of several figures.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    pub title: String,
    /// One label per week.
    pub labels: Vec<String>,
    pub series: Vec<Series>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub values: Vec<u64>,
}

/// How the n-th series is drawn: a grey level (0 black .. 1 white), a dash
/// pattern (none: solid) and a marker.
pub struct Look {
    pub grey: f32,
    pub dash: &'static [f32],
    pub marker: Marker,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marker {
    Circle,
    Square,
    Triangle,
    Cross,
}

pub fn look(index: usize) -> Look {
    const LOOKS: [(f32, &[f32], Marker); 4] = [
        (0.0, &[], Marker::Circle),
        (0.35, &[6.0, 3.0], Marker::Square),
        (0.55, &[2.0, 2.0], Marker::Triangle),
        (0.2, &[8.0, 3.0, 2.0, 3.0], Marker::Cross),
    ];
    let (grey, dash, marker) = LOOKS[index % LOOKS.len()];
    Look { grey, dash, marker }
}

/// A chart laid out in a `width` by `height` box, y growing down.
pub struct Plot {
    pub width: f32,
    pub height: f32,
    /// The plotting area: left, top, right, bottom.
    pub area: (f32, f32, f32, f32),
    /// The value at the top of the y axis.
    pub top_value: u64,
    /// Each series' points.
    pub lines: Vec<Vec<(f32, f32)>>,
    /// Where each week's label is written (every label that fits).
    pub x_labels: Vec<(f32, String)>,
    /// y-axis ticks: position and value.
    pub y_ticks: Vec<(f32, u64)>,
}

/// A round top for the y axis at or above `max` (1, 2 or 5 times a power
/// of ten).
fn nice_top(max: u64) -> u64 {
    let mut step = 1u64;
    loop {
        for factor in [1, 2, 5] {
            let top = step.saturating_mul(factor);
            if top >= max.max(1) {
                return top;
            }
        }
        step = step.saturating_mul(10);
    }
}

pub fn plot(chart: &Chart, width: f32, height: f32) -> Plot {
    let area = (48.0, 28.0, width - 12.0, height - 44.0);
    let (left, top, right, bottom) = area;
    let max = chart
        .series
        .iter()
        .flat_map(|series| series.values.iter().copied())
        .max()
        .unwrap_or(0);
    let top_value = nice_top(max);
    let weeks = chart.labels.len().max(1);
    let x = |index: usize| {
        if weeks == 1 {
            (left + right) / 2.0
        } else {
            left + (right - left) * index as f32 / (weeks - 1) as f32
        }
    };
    let y = |value: u64| bottom - (bottom - top) * value as f32 / top_value as f32;
    let lines = chart
        .series
        .iter()
        .map(|series| {
            series
                .values
                .iter()
                .enumerate()
                .map(|(index, value)| (x(index), y(*value)))
                .collect()
        })
        .collect();
    // A label needs about 36 points.
    let every = ((36.0 * weeks as f32 / (right - left)).ceil() as usize).max(1);
    let x_labels = chart
        .labels
        .iter()
        .enumerate()
        .filter(|(index, _)| index % every == 0)
        .map(|(index, label)| (x(index), label.clone()))
        .collect();
    let y_ticks = (0..=4)
        .map(|tick| {
            let value = top_value * tick / 4;
            (y(value), value)
        })
        .collect();
    Plot {
        width,
        height,
        area,
        top_value,
        lines,
        x_labels,
        y_ticks,
    }
}

fn marker_svg(out: &mut String, marker: Marker, (x, y): (f32, f32), stroke: &str) {
    let _ = match marker {
        Marker::Circle => write!(
            out,
            "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"2.6\" fill=\"{stroke}\"/>"
        ),
        Marker::Square => write!(
            out,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"5\" height=\"5\" fill=\"#fff\" stroke=\"{stroke}\"/>",
            x - 2.5,
            y - 2.5
        ),
        Marker::Triangle => write!(
            out,
            "<path d=\"M{x:.1} {:.1}L{:.1} {:.1}L{:.1} {:.1}Z\" fill=\"{stroke}\"/>",
            y - 3.2,
            x + 3.0,
            y + 2.4,
            x - 3.0,
            y + 2.4
        ),
        Marker::Cross => write!(
            out,
            "<path d=\"M{:.1} {:.1}L{:.1} {:.1}M{:.1} {:.1}L{:.1} {:.1}\" stroke=\"{stroke}\" stroke-width=\"1.4\"/>",
            x - 3.0,
            y - 3.0,
            x + 3.0,
            y + 3.0,
            x - 3.0,
            y + 3.0,
            x + 3.0,
            y - 3.0
        ),
    };
}

fn grey_hex(grey: f32) -> String {
    let level = (grey.clamp(0.0, 1.0) * 255.0).round() as u8;
    format!("#{level:02x}{level:02x}{level:02x}")
}

/// The chart as SVG, 640 by 260.
pub fn svg(chart: &Chart) -> String {
    let plot = plot(chart, 640.0, 260.0);
    let (left, top, right, bottom) = plot.area;
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" font-family=\"sans-serif\" font-size=\"11\" role=\"img\"><title>{t}</title><rect width=\"100%\" height=\"100%\" fill=\"#fff\"/><text x=\"8\" y=\"16\" font-size=\"13\" font-weight=\"bold\">{t}</text>",
        w = plot.width,
        h = plot.height,
        t = html_escape(&chart.title)
    );
    for (y, value) in &plot.y_ticks {
        let _ = write!(
            out,
            "<line x1=\"{left}\" y1=\"{y:.1}\" x2=\"{right}\" y2=\"{y:.1}\" stroke=\"#ddd\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{value}</text>",
            left - 6.0,
            y + 4.0
        );
    }
    let _ = write!(
        out,
        "<line x1=\"{left}\" y1=\"{bottom}\" x2=\"{right}\" y2=\"{bottom}\" stroke=\"#000\"/>"
    );
    for (x, label) in &plot.x_labels {
        let _ = write!(
            out,
            "<text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            bottom + 14.0,
            html_escape(label)
        );
    }
    for (index, (series, points)) in chart.series.iter().zip(&plot.lines).enumerate() {
        let look = look(index);
        let stroke = grey_hex(look.grey);
        let dash = if look.dash.is_empty() {
            String::new()
        } else {
            format!(
                " stroke-dasharray=\"{}\"",
                look.dash
                    .iter()
                    .map(|part| part.to_string())
                    .collect::<Vec<_>>()
                    .join(" ")
            )
        };
        let path: Vec<String> = points
            .iter()
            .map(|(x, y)| format!("{x:.1},{y:.1}"))
            .collect();
        let _ = write!(
            out,
            "<polyline points=\"{}\" fill=\"none\" stroke=\"{stroke}\" stroke-width=\"1.6\"{dash}/>",
            path.join(" ")
        );
        for point in points {
            marker_svg(&mut out, look.marker, *point, &stroke);
        }
        // The legend, under the axis.
        let x = left + 120.0 * index as f32;
        let y = plot.height - 10.0;
        let _ = write!(
            out,
            "<line x1=\"{x:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"{stroke}\" stroke-width=\"1.6\"{dash}/>",
            y - 4.0,
            x + 24.0,
            y - 4.0
        );
        marker_svg(&mut out, look.marker, (x + 12.0, y - 4.0), &stroke);
        let _ = write!(
            out,
            "<text x=\"{:.1}\" y=\"{y:.1}\">{}</text>",
            x + 30.0,
            html_escape(&series.name)
        );
    }
    let _ = top;
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart(values: Vec<u64>) -> Chart {
        Chart {
            title: "t <&>".into(),
            labels: (0..values.len()).map(|week| format!("w{week}")).collect(),
            series: vec![
                Series {
                    name: "requested".into(),
                    values: values.clone(),
                },
                Series {
                    name: "blocked".into(),
                    values: values.iter().map(|value| value / 2).collect(),
                },
            ],
        }
    }

    #[test]
    fn the_axis_tops_at_a_round_value_and_points_fall_inside_the_area() {
        assert_eq!(nice_top(0), 1);
        assert_eq!(nice_top(7), 10);
        assert_eq!(nice_top(11), 20);
        assert_eq!(nice_top(4_001), 5_000);
        let plot = plot(&chart(vec![3, 17, 0, 9]), 640.0, 260.0);
        assert_eq!(plot.top_value, 20);
        let (left, top, right, bottom) = plot.area;
        for point in plot.lines.iter().flatten() {
            assert!(point.0 >= left && point.0 <= right && point.1 >= top && point.1 <= bottom);
        }
        assert_eq!(plot.lines[0][2].1, bottom, "zero sits on the axis");
    }

    #[test]
    fn series_differ_by_dash_and_marker_not_only_by_colour() {
        assert_ne!(look(0).dash, look(1).dash);
        assert_ne!(look(0).marker, look(1).marker);
        let svg = svg(&chart(vec![1, 2, 3]));
        assert!(svg.contains("stroke-dasharray"));
        assert!(svg.contains("t &lt;&amp;&gt;") && !svg.contains("<&>"));
        assert_eq!(svg.matches("<polyline").count(), 2);
    }
}
