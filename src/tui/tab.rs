//! The console's tabs, in the order the tab bar shows them.

/// A screen with its place in the tab bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Queue,
    Reviews,
    Audits,
    Blocked,
    Policies,
}

impl Tab {
    const ALL: [Tab; 5] = [
        Tab::Queue,
        Tab::Reviews,
        Tab::Audits,
        Tab::Blocked,
        Tab::Policies,
    ];

    pub fn index(self) -> usize {
        Tab::ALL.iter().position(|tab| *tab == self).unwrap_or(0)
    }

    pub fn next(self) -> Tab {
        Tab::ALL[(self.index() + 1) % Tab::ALL.len()]
    }

    pub fn previous(self) -> Tab {
        Tab::ALL[(self.index() + Tab::ALL.len() - 1) % Tab::ALL.len()]
    }
}

impl From<crate::config::StartTab> for Tab {
    fn from(tab: crate::config::StartTab) -> Tab {
        use crate::config::StartTab;
        match tab {
            StartTab::Queue => Tab::Queue,
            StartTab::Reviews => Tab::Reviews,
            StartTab::Audits => Tab::Audits,
            StartTab::Blocked => Tab::Blocked,
            StartTab::Policies => Tab::Policies,
        }
    }
}
