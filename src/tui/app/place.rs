//! A place the console was at, which back returns to (`history` keeps
//! the path).

use crate::tui::tab::Tab;

/// A place back can return to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub(super) tab: Tab,
    /// The step view open there: its workflow, agent name and scroll.
    pub(super) step: Option<(String, String, u16)>,
}
