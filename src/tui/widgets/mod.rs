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
