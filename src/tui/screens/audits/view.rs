//! Drawing the Audits tab: the standings, the selected audit's tables and groups, its runs and history.

use super::*;
use crate::backend::AgentProtocol;
use crate::domain::BiasAudit;
use crate::domain::bias::ImpactTable;
use crate::domain::bias::standing::AuditStanding;
use crate::text::{pad, sanitize};
use crate::tui::theme::{Role, Theme};
use crate::tui::widgets::bars;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Axis, Block, Borders, Chart, Dataset, GraphType, List, ListItem, ListState, Paragraph, Wrap,
};

impl AuditsScreen {
    /// A click at (`column`, `row`) on the agent list drawn in `area`
    /// selects the agent under it (two lines each, scrolled as `render`
    /// draws the list), loading its audits as moving there would.
    pub fn click(
        &mut self,
        area: Rect,
        (column, row): (u16, u16),
        requests: &mut Requests,
    ) -> Vec<Command> {
        let [list, _] = Self::split(area);
        // The title takes the list's first line; each agent two.
        let clickable = super::super::ClickableList {
            area: list,
            above: 1,
            item_lines: 2,
        };
        let Some(index) = clickable.item_at((column, row), self.selected, self.agents.len()) else {
            return Vec::new();
        };
        let (action, steps) = if index >= self.selected {
            (Action::Down, index - self.selected)
        } else {
            (Action::Up, self.selected - index)
        };
        (0..steps)
            .flat_map(|_| self.on_action(action, requests))
            .collect()
    }

    fn split(area: Rect) -> [Rect; 2] {
        Layout::horizontal([
            Constraint::Length(34.min(area.width * 3 / 8)),
            Constraint::Min(10),
        ])
        .areas(area)
    }

    pub fn render(&self, frame: &mut Frame, area: Rect, theme: &Theme, spinner: char) {
        let [list, main] = Self::split(area);
        let mut title = format!(" Agents: {} ", self.filter.words());
        if !self.search.is_empty() {
            title.push_str(&format!("matching \"{}\" ", sanitize(&self.search)));
        }
        let block = Block::default()
            .borders(Borders::RIGHT)
            .border_style(theme.style(Role::Border))
            .title(Span::styled(title, theme.style(Role::Title)));
        let width = list.width.saturating_sub(3) as usize;
        let items: Vec<ListItem> = self
            .agents
            .iter()
            .map(|standing| standing_item(standing, width, theme))
            .collect();
        let empty = items.is_empty();
        let widget = List::new(items)
            .block(block)
            .highlight_style(theme.style(Role::Selection))
            .highlight_symbol("▌");
        let mut state = ListState::default().with_selected((!empty).then_some(self.selected));
        frame.render_stateful_widget(widget, list, &mut state);
        if let Some(error) = &self.error {
            frame.render_widget(
                Paragraph::new(Line::styled(
                    format!(" {}", sanitize(error)),
                    theme.style(Role::Danger),
                )),
                main,
            );
            return;
        }
        if let Some(evidence) = &self.evidence {
            evidence.render(frame, main, theme, spinner);
            return;
        }
        match self.audits.get(self.shown) {
            Some(audit) => self.render_audit(frame, main, audit, theme),
            None => {
                let text = match (self.agents_loaded, empty, &self.audits_agent) {
                    (false, _, _) => format!(" {spinner} Loading…"),
                    (true, true, _) => format!(
                        " No agent is {} here. / searches by name, id or team; f changes the filter.",
                        self.filter.words()
                    ),
                    (true, false, None) => format!(" {spinner} Loading audits…"),
                    (true, false, Some(_)) => {
                        " No bias audit is recorded for this agent.".to_owned()
                    }
                };
                frame.render_widget(
                    Paragraph::new(Line::styled(text, theme.style(Role::Muted))),
                    main,
                );
            }
        }
    }

    pub(super) fn render_audit(
        &self,
        frame: &mut Frame,
        area: Rect,
        audit: &BiasAudit,
        theme: &Theme,
    ) {
        let stats = &audit.stats;
        let table = audit
            .attributes
            .get(self.table.min(audit.attributes.len().saturating_sub(1)));
        let (verdict, role) = if stats.passes_threshold {
            ("PASS", Role::Ok)
        } else {
            ("FAIL", Role::Danger)
        };
        let name = self
            .agents
            .iter()
            .find(|a| Some(&a.agent_id) == self.audits_agent.as_ref())
            .map_or(audit.agent_id.as_str(), |a| a.name.as_str());
        let p = stats.p_value.map_or("-".to_owned(), |p| {
            if p < 0.0001 {
                "< 0.0001".to_owned()
            } else {
                format!("{p:.4}")
            }
        });
        let mut lines = vec![
            Line::from(vec![
                Span::styled(format!(" {} ", sanitize(name)), theme.style(Role::Title)),
                Span::styled(
                    format!(
                        "version {} · {} · tested {} · audit {} of {}",
                        sanitize(&audit.agent_version),
                        sanitize(&audit.audit_id),
                        audit.tested_at.format("%Y-%m-%d"),
                        self.shown + 1,
                        self.audits.len()
                    ),
                    theme.style(Role::Muted),
                ),
            ]),
            Line::from(vec![
                Span::styled(format!(" {verdict} "), theme.style(role)),
                Span::styled(
                    format!(
                        " disparate-impact ratio {:.3} {} {:.2} (four-fifths rule) · p = {p}",
                        stats.disparate_impact_ratio,
                        if stats.passes_threshold { "≥" } else { "<" },
                        stats.threshold
                    ),
                    theme.style(Role::Base),
                ),
            ]),
            Line::styled(
                format!(
                    " lowest {} vs highest {}",
                    sanitize(stats.lowest_group.as_deref().unwrap_or("-")),
                    sanitize(stats.highest_group.as_deref().unwrap_or("-"))
                ),
                theme.style(Role::Muted),
            ),
        ];
        lines.extend(self.run_line(audit, theme));
        lines.extend(table.map(|_| self.tables_line(audit, theme)));
        lines.extend(match table {
            Some(table) => table_lines(table, audit, area.width, theme),
            None => group_lines(audit, area.width, theme),
        });
        if !stats.warnings.is_empty() {
            lines.push(Line::default());
        }
        lines.extend(
            stats
                .warnings
                .iter()
                .map(|w| Line::styled(format!(" ! {}", sanitize(w)), theme.style(Role::Warn))),
        );
        // Everything in words wraps and scrolls (J / K); the history of
        // versions takes what room is left, if there is enough.
        let text = Paragraph::new(lines).wrap(Wrap { trim: false });
        let rest = crate::tui::widgets::scrolled_text(
            frame,
            area,
            text,
            self.detail_scroll,
            &self.detail_bottom,
            theme,
        );
        if let Some(history) = rest.filter(|rest| rest.height >= 6) {
            self.render_history(frame, history, theme);
        }
    }

    /// Every table of the shown audit with its lowest ratio, the one shown
    /// marked: `[`/`]` move between them.
    pub(super) fn tables_line(&self, audit: &BiasAudit, theme: &Theme) -> Line<'static> {
        let threshold = audit.stats.threshold;
        let mut spans = vec![Span::styled(" tables ([ ]): ", theme.style(Role::Muted))];
        for (index, table) in audit.attributes.iter().enumerate() {
            let passes = table.passes_at(threshold);
            let mut style = theme.style(if passes { Role::Ok } else { Role::Danger });
            if index == self.table.min(audit.attributes.len().saturating_sub(1)) {
                style = style.add_modifier(ratatui::style::Modifier::REVERSED);
            }
            if index > 0 {
                spans.push(Span::styled(" · ", theme.style(Role::Muted)));
            }
            spans.push(Span::styled(
                format!(
                    "{} {} {:.3}",
                    sanitize(&table.name()),
                    if passes { "✓" } else { "✗" },
                    table.lowest_ratio
                ),
                style,
            ));
        }
        Line::from(spans)
    }

    /// Where an audit Gavel ran came from: the run, how the agent was
    /// asked, its unknown answers and flipped pairs.
    pub(super) fn run_line(&self, audit: &BiasAudit, theme: &Theme) -> Option<Line<'static>> {
        if self.no_evidence && audit.run_id.is_none() {
            return Some(Line::styled(
                " recorded from group counts (gavel audit record): no case evidence to show",
                theme.style(Role::Warn),
            ));
        }
        let run_id = audit.run_id.as_deref()?;
        let Some(run) = self.run.as_ref().filter(|run| run.run_id == run_id) else {
            return Some(Line::styled(
                format!(" from run {} …", sanitize(run_id)),
                theme.style(Role::Muted),
            ));
        };
        let asked = match &run.settings.agent {
            AgentProtocol::OpenaiChat { model, .. } => format!("model {}", sanitize(model)),
            AgentProtocol::JsonHttp { .. } => "JSON agent".to_owned(),
        };
        let counts = &run.counts;
        let pairs = if counts.pairs > 0 {
            format!(" · {} of {} pairs flip", counts.flipped_pairs, counts.pairs)
        } else {
            String::new()
        };
        Some(Line::from(vec![
            Span::styled(
                format!(" from run {} (e: evidence) ", sanitize(&run.run_id)),
                theme.style(Role::Accent),
            ),
            Span::styled(
                format!(
                    "· {} cases · {} unknown{pairs} · {asked} at {}",
                    run.case_count,
                    counts.unknown,
                    sanitize(&run.settings.endpoint),
                ),
                theme.style(Role::Muted),
            ),
        ]))
    }

    pub(super) fn render_history(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        // Oldest first along x.
        let points: Vec<(f64, f64)> = self
            .audits
            .iter()
            .rev()
            .enumerate()
            .map(|(i, audit)| (i as f64, audit.stats.disparate_impact_ratio))
            .collect();
        let last = (points.len().max(2) - 1) as f64;
        let threshold = self
            .audits
            .first()
            .map_or(0.8, |audit| audit.stats.threshold);
        let line = [(0.0, threshold), (last, threshold)];
        let shown_x =
            (self.audits.len() - 1 - self.shown.min(self.audits.len().saturating_sub(1))) as f64;
        let shown_point = points
            .iter()
            .copied()
            .filter(|(x, _)| *x == shown_x)
            .collect::<Vec<_>>();
        let datasets = vec![
            Dataset::default()
                .name(format!("{threshold:.2} threshold"))
                .marker(Marker::Braille)
                .graph_type(GraphType::Line)
                .style(theme.style(Role::Danger))
                .data(&line),
            Dataset::default()
                .name("ratio by version")
                .marker(Marker::Braille)
                .graph_type(GraphType::Line)
                .style(theme.style(Role::Chart1))
                .data(&points),
            Dataset::default()
                .name("shown")
                .marker(Marker::Block)
                .graph_type(GraphType::Scatter)
                .style(theme.style(Role::Accent))
                .data(&shown_point),
        ];
        let oldest = self
            .audits
            .last()
            .map_or(String::new(), |a| sanitize(&a.agent_version).into_owned());
        let newest = self
            .audits
            .first()
            .map_or(String::new(), |a| sanitize(&a.agent_version).into_owned());
        let chart = Chart::new(datasets)
            .block(
                Block::default()
                    .borders(Borders::TOP)
                    .border_style(theme.style(Role::Border))
                    .title(Span::styled(
                        " Ratio across versions (←/→ pick one) ",
                        theme.style(Role::Title),
                    )),
            )
            .x_axis(
                Axis::default()
                    .bounds([0.0, last])
                    .labels(vec![Span::raw(oldest), Span::raw(newest)])
                    .style(theme.style(Role::Muted)),
            )
            .y_axis(
                Axis::default()
                    .bounds([0.0, 1.0])
                    .labels(vec![Span::raw("0"), Span::raw("0.5"), Span::raw("1")])
                    .style(theme.style(Role::Muted)),
            );
        frame.render_widget(chart, area);
    }
}

/// One agent in the list: its standing and name, then its lowest ratio,
/// audit date and expiry.
pub(super) fn standing_item(
    standing: &AuditStanding,
    width: usize,
    theme: &Theme,
) -> ListItem<'static> {
    let (word, role) = badge(standing.attention);
    let first = Line::from(vec![
        Span::styled(format!("{word:<8} "), theme.style(role)),
        Span::styled(
            pad(&sanitize(&standing.name), width.saturating_sub(9)),
            theme.style(Role::Base),
        ),
    ]);
    let day = |at: chrono::DateTime<chrono::Utc>| at.format("%y-%m-%d").to_string();
    let facts = match (standing.lowest_ratio, standing.tested_at) {
        (Some(ratio), Some(tested)) => {
            let expiry = standing
                .expires_at
                .map(|at| format!(" → {}", day(at)))
                .unwrap_or_default();
            format!("{ratio:.3} {}{expiry}", day(tested))
        }
        _ => "no audit".to_owned(),
    };
    let second = Line::styled(
        format!("  {}", pad(&facts, width.saturating_sub(2))),
        theme.style(Role::Muted),
    );
    ListItem::new(vec![first, second])
}

/// Where a chart's columns go: a label, the bar track, the numbers; when
/// a label does not fit beside its bar (an intersection's, or any at 80
/// columns), every label takes a line of its own above its bar, whole.
struct ChartLayout {
    stacked: bool,
    label_width: usize,
    track_width: usize,
}

impl ChartLayout {
    fn new(width: u16, labels: &[String], label_width: usize, numbers_width: usize) -> Self {
        let longest_label = labels
            .iter()
            .map(|label| crate::text::width(label))
            .max()
            .unwrap_or(0);
        let width = width as usize;
        let beside = width.saturating_sub(label_width + numbers_width + 3);
        if longest_label <= label_width && beside >= 8 {
            return ChartLayout {
                stacked: false,
                label_width,
                track_width: beside,
            };
        }
        ChartLayout {
            stacked: true,
            label_width: 2,
            track_width: width.saturating_sub(2 + numbers_width + 3).max(6),
        }
    }

    /// The header: the label column's name, the track's, the numbers'.
    fn header(&self, label: &str, track: &str, numbers: &str, theme: &Theme) -> Vec<Line<'static>> {
        let style = theme.style(Role::Header);
        if self.stacked {
            vec![
                Line::styled(format!(" {label}"), style),
                Line::styled(
                    format!("   {} {numbers}", pad(track, self.track_width)),
                    style,
                ),
            ]
        } else {
            vec![Line::styled(
                format!(
                    " {} {} {numbers}",
                    pad(label, self.label_width),
                    pad(track, self.track_width)
                ),
                style,
            )]
        }
    }

    /// One category's row (two lines when stacked).
    fn row(
        &self,
        label: &str,
        bar: String,
        numbers: String,
        role: Role,
        theme: &Theme,
    ) -> Vec<Line<'static>> {
        let bar_and_numbers = [
            Span::styled(bar, theme.style(role)),
            Span::styled(format!(" {numbers}"), theme.style(role)),
        ];
        if self.stacked {
            let mut second = vec![Span::raw("   ")];
            second.extend(bar_and_numbers);
            vec![
                Line::styled(format!(" {label}"), theme.style(Role::Base)),
                Line::from(second),
            ]
        } else {
            let mut line = vec![Span::styled(
                format!(" {} ", pad(label, self.label_width)),
                theme.style(Role::Base),
            )];
            line.extend(bar_and_numbers);
            vec![Line::from(line)]
        }
    }
}

/// One table's chart: a bar per category's rate, the threshold line at
/// the threshold times the reference category's rate, the interval as a
/// whisker; each category's count, rate, impact ratio and 95% interval in
/// numbers, failing ones marked, excluded ones said.
pub fn table_lines(
    table: &ImpactTable,
    audit: &BiasAudit,
    width: u16,
    theme: &Theme,
) -> Vec<Line<'static>> {
    let threshold = audit.stats.threshold;
    let reference = table
        .categories
        .iter()
        .find(|category| category.values == table.reference)
        .and_then(|category| category.rate)
        .unwrap_or(0.0);
    let scale = table
        .categories
        .iter()
        .filter_map(|category| category.ci_high)
        .fold(reference, f64::max)
        .max(0.01);
    let line_at = reference * threshold;
    let labels: Vec<String> = table
        .categories
        .iter()
        .map(|category| sanitize(&category.label()).into_owned())
        .collect();
    let layout = ChartLayout::new(width, &labels, if width >= 90 { 26 } else { 14 }, 36);
    let rate_name = audit.mode.rate_name();
    let mut lines = vec![Line::styled(
        format!(
            " {}: {} known, {} unknown · ratios against {}",
            sanitize(&table.name()),
            table.sample(),
            table.unknown,
            sanitize(&crate::domain::bias::tables::category_label(
                &table.reference
            )),
        ),
        theme.style(Role::Muted),
    )];
    lines.extend(layout.header(
        "category",
        &format!("{rate_name} (│ = {threshold:.2} x ref.)"),
        "rate      n  impact  95% interval",
        theme,
    ));
    for (category, label) in table.categories.iter().zip(&labels) {
        let (bar, numbers, role) = match (category.rate, category.ci_low, category.ci_high) {
            (Some(rate), Some(low), Some(high)) => {
                let failing = category.fails(threshold);
                let bar = bars::track(
                    rate,
                    scale,
                    layout.track_width,
                    Some(line_at),
                    Some((low, high)),
                );
                let ratio = match (&category.excluded, category.impact_ratio) {
                    (Some(_), _) => "excl.".to_owned(),
                    (None, Some(ratio)) => format!("{ratio:.3}"),
                    (None, None) => "-".to_owned(),
                };
                let mark = if failing { " ✗" } else { "" };
                let role = match (&category.excluded, failing) {
                    (Some(_), _) => Role::Muted,
                    (None, true) => Role::Danger,
                    (None, false) => Role::Ok,
                };
                (
                    bar,
                    format!(
                        "{:>5.1}% {:>6}  {ratio:>6}  {:.1}-{:.1}%{mark}",
                        rate * 100.0,
                        category.total,
                        low * 100.0,
                        high * 100.0
                    ),
                    role,
                )
            }
            _ => (
                " ".repeat(layout.track_width),
                format!("    -  {:>6}  none", category.total),
                Role::Muted,
            ),
        };
        lines.extend(layout.row(label, bar, numbers, role, theme));
    }
    lines
}

/// The group chart: one bar per group's positive-outcome rate, the
/// four-fifths line at 0.8 x the highest rate, the Wilson interval as a
/// whisker and in numbers, failing groups marked in words and colour.
pub fn group_lines(audit: &BiasAudit, width: u16, theme: &Theme) -> Vec<Line<'static>> {
    let stats = &audit.stats;
    let highest = stats
        .groups
        .iter()
        .filter_map(|g| g.rate)
        .fold(0.0_f64, f64::max);
    let scale = stats
        .groups
        .iter()
        .filter_map(|g| g.ci_high)
        .fold(highest, f64::max)
        .max(0.01);
    let line_at = highest * stats.threshold;
    let labels: Vec<String> = stats
        .groups
        .iter()
        .map(|group| sanitize(&group.group).into_owned())
        .collect();
    let layout = ChartLayout::new(width, &labels, 18, 36);
    let mut lines = layout.header(
        "group",
        &format!("rate (│ = {:.2} x highest)", stats.threshold),
        "rate      n  95% interval",
        theme,
    );
    for (group, label) in stats.groups.iter().zip(&labels) {
        let (bar, numbers, role) = match (group.rate, group.ci_low, group.ci_high) {
            (Some(rate), Some(low), Some(high)) => {
                let failing = rate < line_at;
                let bar = bars::track(
                    rate,
                    scale,
                    layout.track_width,
                    Some(line_at),
                    Some((low, high)),
                );
                let verdict = if failing { " ✗ below" } else { "" };
                (
                    bar,
                    format!("{rate:.3}  {:>6}  {low:.3}-{high:.3}{verdict}", group.total),
                    if failing { Role::Danger } else { Role::Ok },
                )
            }
            _ => (
                " ".repeat(layout.track_width),
                format!("  -    {:>6}  no cases", group.total),
                Role::Muted,
            ),
        };
        lines.extend(layout.row(label, bar, numbers, role, theme));
    }
    lines
}
