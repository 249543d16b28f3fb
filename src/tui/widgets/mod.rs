//! Pieces of the screen shared by every view.
//!
//! Part of the console (layer 7): widgets import the theme and the layers
//! below, never the screens or the app.

pub mod bars;
pub mod chooser;
pub mod chrome;
pub mod conflicts;
pub mod decide;
pub mod delegations;
pub mod exceptions;
pub mod inbox;
pub mod incidents;
pub mod obligations;
pub mod overlay;
pub mod recertifications;

use ratatui::layout::{Constraint, Flex, Layout, Rect};

/// Empties `area` for an overlay and paints it in the theme's base colours,
/// so a theme with a background (light) has no holes of the terminal's own.
pub fn clear(frame: &mut ratatui::Frame, area: Rect, theme: &crate::tui::theme::Theme) {
    frame.render_widget(ratatui::widgets::Clear, area);
    frame.render_widget(
        ratatui::widgets::Block::default().style(theme.style(crate::tui::theme::Role::Base)),
        area,
    );
}

/// Draws `text` (wrapped) in `area`: whole when it fits, and returns the
/// rows left below it; otherwise scrolled by `scroll`, with its last row
/// saying how much is above or below (J / K), the most `scroll` may be
/// kept in `bottom` for the keys to clamp against.
pub fn scrolled_text(
    frame: &mut ratatui::Frame,
    area: Rect,
    text: ratatui::widgets::Paragraph<'_>,
    scroll: u16,
    bottom: &std::cell::Cell<u16>,
    theme: &crate::tui::theme::Theme,
) -> Option<Rect> {
    use ratatui::text::Line;
    use ratatui::widgets::Paragraph;
    let total = u16::try_from(text.line_count(area.width)).unwrap_or(u16::MAX);
    if total <= area.height {
        bottom.set(0);
        let [words, rest] =
            Layout::vertical([Constraint::Length(total), Constraint::Min(0)]).areas(area);
        frame.render_widget(text, words);
        return Some(rest);
    }
    // The last row says how much is above or below, and hides nothing.
    let [words, hint_row] =
        Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(area);
    let most = total.saturating_sub(words.height);
    bottom.set(most);
    let scroll = scroll.min(most);
    frame.render_widget(text.scroll((scroll, 0)), words);
    let below = most - scroll;
    let hint = if below > 0 {
        format!("↓ {below} more lines (J) ")
    } else {
        "↑ (K) ".to_owned()
    };
    frame.render_widget(
        Paragraph::new(Line::styled(
            hint,
            theme.style(crate::tui::theme::Role::Accent),
        ))
        .alignment(ratatui::layout::Alignment::Right),
        hint_row,
    );
    None
}

/// A centred box of at most `width` x `height` inside `area`.
pub fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let [row] = Layout::vertical([Constraint::Length(height.min(area.height))])
        .flex(Flex::Center)
        .areas(area);
    let [cell] = Layout::horizontal([Constraint::Length(width.min(area.width))])
        .flex(Flex::Center)
        .areas(row);
    cell
}

/// An overlay's box: centred in `area` (at most `width` x `height` inside
/// a margin), cleared, bordered and titled; answers the inside.
pub fn overlay_box(
    frame: &mut ratatui::Frame,
    area: Rect,
    (width, height): (u16, u16),
    title: String,
    theme: &crate::tui::theme::Theme,
) -> Rect {
    use crate::tui::theme::Role;
    use ratatui::widgets::{Block, Borders};
    let area = centered(
        area,
        area.width.saturating_sub(4).min(width),
        area.height.saturating_sub(2).min(height),
    );
    clear(frame, area, theme);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.style(Role::Border))
        .title(ratatui::text::Span::styled(title, theme.style(Role::Title)));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    inner
}

/// A list under its `head` lines, over the selected row's `detail`: the
/// list takes what its rows need, up to half; the selected row stays in
/// view however long the list; the detail gets the rest, under a rule.
/// With no rows, the head wraps (it explains the empty list).
pub fn list_over_detail<'a>(
    frame: &mut ratatui::Frame,
    inner: Rect,
    mut head: Vec<ratatui::text::Line<'a>>,
    rows: Vec<ratatui::text::Line<'a>>,
    selected: usize,
    detail: Option<Vec<ratatui::text::Line<'a>>>,
    theme: &crate::tui::theme::Theme,
) {
    use ratatui::widgets::{Block, Borders, Paragraph, Wrap};
    let empty = rows.is_empty();
    let wanted = head.len() + rows.len().max(2);
    let most = usize::from(inner.height / 2).max(3);
    let [list_area, detail_area] = Layout::vertical([
        Constraint::Length(u16::try_from(wanted.min(most)).unwrap_or(u16::MAX)),
        Constraint::Fill(1),
    ])
    .areas(inner);
    let window = usize::from(list_area.height)
        .saturating_sub(head.len())
        .max(1);
    let first = selected.saturating_sub(window.saturating_sub(1));
    head.extend(rows.into_iter().skip(first).take(window));
    let list = Paragraph::new(head);
    let list = if empty {
        list.wrap(Wrap { trim: false })
    } else {
        list
    };
    frame.render_widget(list, list_area);
    if let Some(detail) = detail {
        frame.render_widget(
            Paragraph::new(detail)
                .block(
                    Block::default()
                        .borders(Borders::TOP)
                        .border_style(theme.style(crate::tui::theme::Role::Border)),
                )
                .wrap(Wrap { trim: false }),
            detail_area,
        );
    }
}

/// The lines over an overlay's list: its keys, the question a first key
/// asked (a second confirms), the last error, then "Loading…" until the
/// list arrives, or `empty` (what to know) when it holds nothing.
pub fn overlay_head(
    keys: &str,
    confirm: Option<String>,
    error: Option<&str>,
    loading: bool,
    empty: Option<String>,
    theme: &crate::tui::theme::Theme,
) -> Vec<ratatui::text::Line<'static>> {
    use crate::tui::theme::Role;
    use ratatui::text::Line;
    let mut head = vec![Line::styled(keys.to_owned(), theme.style(Role::Muted))];
    if let Some(question) = confirm {
        head.push(Line::styled(question, theme.style(Role::Warn)));
    }
    if let Some(error) = error {
        head.push(Line::styled(
            format!(" ✗ {}", crate::text::sanitize(error)),
            theme.style(Role::Danger),
        ));
    }
    if loading {
        head.push(Line::styled(" Loading…", theme.style(Role::Muted)));
    } else if let Some(empty) = empty {
        head.push(Line::styled(empty, theme.style(Role::Muted)));
    }
    head
}
