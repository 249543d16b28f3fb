//! The queue's saved views (gh-dash's sections) on `TestBackend`: sub-tabs
//! with counts, switched by key and by click, and the last one (with its
//! sort) opened again next time.

mod common;

use common::harness::Harness;
use gavel::backend::{GovernanceBackend, QueueSort};
use gavel::config::SavedView;
use gavel::domain::{RiskTier, Role};
use gavel::text::thousands;
use gavel::tui::memory::ConsoleMemory;
use gavel::tui::screens::queue_views::QueueChoice;
use gavel::tui::theme::Theme;
use ratatui::crossterm::event::{KeyModifiers, MouseButton, MouseEvent, MouseEventKind};

fn view(name: &str, change: impl FnOnce(&mut SavedView)) -> SavedView {
    let mut view = SavedView {
        name: name.to_owned(),
        ..SavedView::defaults().remove(0)
    };
    change(&mut view);
    view
}

fn views() -> Vec<SavedView> {
    vec![
        view("Mine", |_| {}),
        view("High risk", |view| {
            view.mine = false;
            view.risk = Some(RiskTier::High);
            view.sort = QueueSort::Risk;
        }),
        view("Data steward", |view| view.role = Some(Role::DataSteward)),
    ]
}

/// The line of sub-tabs (the one under the tab bar).
fn views_line(h: &mut Harness) -> String {
    h.screen().lines().nth(1).unwrap_or_default().to_owned()
}

#[tokio::test]
async fn saved_views_are_sub_tabs_with_counts_switched_by_key_and_click_and_remembered() {
    let mut h = Harness::new(120, 40, Theme::load("default", None).expect("theme")).await;
    let memory = h.dir.path().join("state").join("console.json");
    let path = memory.clone();
    h.restart_with(|config| {
        config.views = views();
        config.memory_file = Some(path);
    })
    .await;

    // Each sub-tab shows its name and the store's count for its filter.
    let roles = h.app.queue.roles.clone();
    let line = views_line(&mut h);
    let mut counts = Vec::new();
    for view in views() {
        let count = h
            .backend
            .queue_count(&QueueChoice::of(&view).filter(&roles))
            .await
            .expect("count");
        assert!(
            line.contains(&format!("{} {}", view.name, thousands(count))),
            "{} {count} in {line}",
            view.name
        );
        counts.push(count);
    }
    assert!(
        counts[1] > 0 && counts[1] != counts[0],
        "distinct views: {counts:?}"
    );

    // `]` shows the next view: its filter and its own sort.
    h.keys("]").await;
    assert_eq!(h.app.queue.views.current, 1);
    assert_eq!(h.app.queue.choice.sort, QueueSort::Risk);
    assert!(!h.app.queue.rows.is_empty());
    assert!(
        h.app
            .queue
            .rows
            .iter()
            .all(|row| row.risk_tier == RiskTier::High),
        "only high risk rows"
    );
    assert!(
        h.screen()
            .contains(&format!("1 of {}", thousands(counts[1])))
    );
    assert_eq!(
        ConsoleMemory::load(&memory),
        (
            ConsoleMemory {
                view: Some("High risk".into()),
                sort: Some(QueueSort::Risk)
            },
            None
        ),
        "the switch is remembered at once"
    );

    // Changing a filter says the view is changed; the sort is remembered.
    h.keys("s").await;
    assert!(views_line(&mut h).contains("filters changed"));
    assert_eq!(
        ConsoleMemory::load(&memory).0.sort,
        Some(QueueSort::Age),
        "the sort is remembered"
    );

    // `[` goes round from the first to the last; a click on a sub-tab
    // shows that view.
    h.keys("[[").await;
    assert_eq!(h.app.queue.views.current, 2);
    assert_eq!(h.app.queue.filter().roles, Some(vec![Role::DataSteward]));
    let line = views_line(&mut h);
    let at = line.find("High risk").expect("the tab");
    let column = line[..at].chars().count() as u16 + 2;
    let commands = h.app.on_mouse(MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column,
        row: 1,
        modifiers: KeyModifiers::NONE,
    });
    h.run(commands).await;
    assert_eq!(h.app.queue.views.current, 1, "the click switched");
    assert!(!views_line(&mut h).contains("filters changed"));
    h.keys("s").await;

    // Next time the console opens on the view and sort it was left on.
    let path = memory.clone();
    h.restart_with(|config| {
        config.views = views();
        config.memory = ConsoleMemory::load(&path).0;
        config.memory_file = Some(path);
    })
    .await;
    assert_eq!(h.app.queue.views.current, 1);
    assert_eq!(h.app.queue.choice.sort, QueueSort::Age);
    assert!(
        h.app
            .queue
            .rows
            .iter()
            .all(|row| row.risk_tier == RiskTier::High)
    );

    // A remembered view no longer configured opens the first.
    h.restart_with(|config| {
        config.views = views().into_iter().take(1).collect();
        config.memory = ConsoleMemory {
            view: Some("High risk".into()),
            sort: None,
        };
    })
    .await;
    assert_eq!(h.app.queue.views.current, 0);
    assert_eq!(h.app.queue.filter(), QueueChoice::default().filter(&roles));
}

#[tokio::test]
async fn changes_by_others_recount_the_views_at_most_every_fifteen_seconds() {
    use gavel::tui::command::{Command, Message};
    let mut h = Harness::new(120, 40, Theme::load("default", None).expect("theme")).await;
    let counts_views = |commands: &[Command]| {
        commands
            .iter()
            .any(|command| matches!(command, Command::CountQueueViews { .. }))
    };
    let counted = h.app.queue.views.counted_at.expect("counted at start");
    h.app.now = counted + chrono::TimeDelta::seconds(5);
    let commands = h.app.on_message(Message::StoreChanged);
    assert!(
        commands
            .iter()
            .any(|command| matches!(command, Command::LoadQueue { .. })),
        "the rows are reloaded at once"
    );
    assert!(!counts_views(&commands), "but not every view, 5 s after");
    h.run(commands).await;
    h.app.now = counted + chrono::TimeDelta::seconds(16);
    let commands = h.app.on_message(Message::StoreChanged);
    assert!(
        counts_views(&commands),
        "16 s after, the views are recounted"
    );
    h.run(commands).await;
    assert_eq!(h.app.queue.views.counted_at, Some(h.app.now));
    // ctrl-r always recounts.
    let commands = h.app.on_action(gavel::tui::action::Action::Refresh);
    assert!(counts_views(&commands));
}
