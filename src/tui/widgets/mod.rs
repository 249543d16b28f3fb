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
pub mod inbox;
pub mod overlay;

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
