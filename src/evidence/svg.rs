//! Bias-audit charts as SVG written directly (no fonts or system libraries
//! needed): one bar per category, its positive-outcome rate, and the line
//! a category must reach to pass (the threshold times the reference rate).

use std::fmt::Write;

use crate::text::html_escape;

/// One bar: a label, its rate (none: no individuals), and whether it is
/// left out of the ratios.
pub struct Bar<'a> {
    pub label: &'a str,
    pub rate: Option<f64>,
    pub excluded: bool,
}

const WIDTH: f64 = 640.0;
const ROW: f64 = 26.0;
const LEFT: f64 = 200.0;
const TOP: f64 = 36.0;

/// The chart of `bars` titled `title`, with the passing line at
/// `threshold` times the highest rate of the bars not left out.
pub fn chart(title: &str, bars: &[Bar<'_>], threshold: f64) -> String {
    let height = TOP + ROW * bars.len() as f64 + 30.0;
    let span = WIDTH - LEFT - 70.0;
    let reference = bars
        .iter()
        .filter(|bar| !bar.excluded)
        .filter_map(|bar| bar.rate)
        .fold(0.0_f64, f64::max);
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{height}\" viewBox=\"0 0 {WIDTH} {height}\" font-family=\"sans-serif\" font-size=\"12\" role=\"img\"><title>{}</title><rect width=\"100%\" height=\"100%\" fill=\"#fff\"/><text x=\"8\" y=\"20\" font-size=\"14\" font-weight=\"bold\">{}</text>",
        html_escape(title),
        html_escape(title)
    );
    for (index, bar) in bars.iter().enumerate() {
        let y = TOP + ROW * index as f64;
        let _ = write!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            LEFT - 8.0,
            y + 15.0,
            html_escape(bar.label)
        );
        match bar.rate {
            Some(rate) => {
                let fails = !bar.excluded && reference > 0.0 && rate < threshold * reference;
                let fill = if bar.excluded {
                    "#bbb"
                } else if fails {
                    "#c0392b"
                } else {
                    "#2e86c1"
                };
                let _ = write!(
                    out,
                    "<rect x=\"{LEFT}\" y=\"{:.1}\" width=\"{:.1}\" height=\"18\" fill=\"{fill}\"/><text x=\"{:.1}\" y=\"{:.1}\">{:.1}%{}</text>",
                    y + 2.0,
                    (rate.clamp(0.0, 1.0) * span).max(0.5),
                    LEFT + rate.clamp(0.0, 1.0) * span + 6.0,
                    y + 15.0,
                    rate * 100.0,
                    if bar.excluded { " (excluded)" } else { "" },
                );
            }
            None => {
                let _ = write!(
                    out,
                    "<text x=\"{:.1}\" y=\"{:.1}\" fill=\"#555\">no individuals</text>",
                    LEFT + 4.0,
                    y + 15.0
                );
            }
        }
    }
    if reference > 0.0 {
        let x = LEFT + (threshold * reference).clamp(0.0, 1.0) * span;
        let bottom = TOP + ROW * bars.len() as f64;
        let _ = write!(
            out,
            "<line x1=\"{x:.1}\" y1=\"{:.1}\" x2=\"{x:.1}\" y2=\"{bottom:.1}\" stroke=\"#000\" stroke-dasharray=\"4 3\"/><text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{:.0}% of the highest rate</text>",
            TOP - 4.0,
            bottom + 16.0,
            threshold * 100.0
        );
    }
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chart_draws_each_bar_and_escapes_its_labels() {
        let svg = chart(
            "sex <script>",
            &[
                Bar {
                    label: "female",
                    rate: Some(0.3),
                    excluded: false,
                },
                Bar {
                    label: "male",
                    rate: Some(0.5),
                    excluded: false,
                },
                Bar {
                    label: "other & unknown",
                    rate: None,
                    excluded: true,
                },
            ],
            0.8,
        );
        assert!(svg.starts_with("<svg"));
        assert_eq!(
            svg.matches("<rect").count(),
            3,
            "the background and two bars"
        );
        assert!(svg.contains("#c0392b"), "female fails: 0.3 < 0.8 × 0.5");
        assert!(svg.contains("sex &lt;script&gt;") && !svg.contains("<script"));
        assert!(svg.contains("other &amp; unknown"));
    }
}
