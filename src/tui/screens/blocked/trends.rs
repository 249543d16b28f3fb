//! The Blocked tab's trends: the same weekly figures as the board report
//! (requested, approved, rejected, blocked), a sparkline each over the
//! dashboard's weeks, with the latest week's value and when they were read.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Sparkline};

use crate::backend::Dashboard;
use crate::domain::report::Week;
use crate::text::thousands;
use crate::tui::theme::{Role, Theme};

/// One trend: its label, its figure of a week, and its chart role.
type Trend = (&'static str, fn(&Week) -> u64, Role);

const TRENDS: [Trend; 4] = [
    ("requested", |week| week.requests, Role::Chart1),
    ("approved", |week| week.approved, Role::Chart2),
    ("rejected", |week| week.rejected, Role::Chart3),
    ("blocked", |week| week.blocked, Role::Danger),
];

const LABEL: u16 = 11;
const LATEST: u16 = 7;

/// The dashboard's whole weeks: the week under way would read as a drop.
fn whole_weeks(dashboard: &Dashboard) -> &[Week] {
    let this_week = crate::domain::figures::week_start(dashboard.generated_at).date_naive();
    match dashboard.weekly.split_last() {
        Some((last, before)) if last.monday >= this_week => before,
        _ => &dashboard.weekly,
    }
}

pub(super) fn render_trends(frame: &mut Frame, area: Rect, dashboard: &Dashboard, theme: &Theme) {
    let weeks = whole_weeks(dashboard);
    let span = match (weeks.first(), weeks.last()) {
        (Some(first), Some(last)) => format!(
            "{} to {}",
            first.monday.format("%d %b"),
            (last.monday + chrono::Duration::days(6)).format("%d %b")
        ),
        _ => "no whole week yet".into(),
    };
    let as_of = dashboard.generated_at.format("%H:%M");
    let full = format!(" Per week, {span} · as of {as_of} ");
    let title = if full.chars().count() + 2 <= usize::from(area.width) {
        full
    } else {
        format!(" Per week · as of {as_of} ")
    };
    let block = Block::default()
        .borders(Borders::TOP | Borders::LEFT)
        .border_style(theme.style(Role::Border))
        .title(Span::styled(title, theme.style(Role::Title)));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let rows = Layout::vertical(vec![Constraint::Length(1); TRENDS.len()]).split(inner);
    for ((label, figure, role), row) in TRENDS.iter().zip(rows.iter()) {
        let values: Vec<u64> = weeks.iter().map(figure).collect();
        let latest = values.last().copied().unwrap_or(0);
        let [name, line, value] = Layout::horizontal([
            Constraint::Length(LABEL),
            Constraint::Min(4),
            Constraint::Length(LATEST),
        ])
        .areas(*row);
        frame.render_widget(
            Paragraph::new(Line::styled(format!(" {label}"), theme.style(Role::Muted))),
            name,
        );
        frame.render_widget(
            Sparkline::default()
                .data(widened(&values, line.width))
                .style(theme.style(*role)),
            line,
        );
        frame.render_widget(
            Paragraph::new(Line::styled(
                format!(" {}", thousands(latest)),
                theme.style(Role::Base),
            )),
            value,
        );
    }
}

/// The latest weeks that fit in `width` columns, each as wide as the
/// room allows (a step line rather than a few columns at one end).
fn widened(values: &[u64], width: u16) -> Vec<u64> {
    let width = usize::from(width);
    let shown = &values[values.len().saturating_sub(width)..];
    let each = (width / shown.len().max(1)).max(1);
    shown
        .iter()
        .flat_map(|value| std::iter::repeat_n(*value, each))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weeks_fill_the_line_and_the_latest_stay_when_they_do_not_fit() {
        assert_eq!(widened(&[1, 2, 3], 7), vec![1, 1, 2, 2, 3, 3]);
        assert_eq!(widened(&[1, 2, 3, 4, 5], 3), vec![3, 4, 5]);
        assert!(widened(&[], 5).is_empty());
    }
}
