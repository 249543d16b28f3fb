//! The console on `TestBackend`: real app, real store, commands executed by
//! the same function the worker uses, no sleeps.

mod common;

use std::sync::Arc;

use common::harness::Harness;
use gavel::backend::local::LocalBackend;
use gavel::backend::{Decision, GovernanceBackend, QueueFilter, QueueQuery, QueueSort};
use gavel::domain::{Role, Verdict};
use gavel::seed::DEMO_USER;
use gavel::tui::app::Overlay;
use gavel::tui::command::Command;
use gavel::tui::keymap::Keymap;
use gavel::tui::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use ratatui::style::Modifier;

async fn harness() -> Harness {
    Harness::new(120, 32, Theme::load("default", None).expect("theme")).await
}

#[tokio::test]
async fn the_queue_renders_with_counts_columns_and_preview() {
    let mut h = harness().await;
    let screen = h.screen();
    assert!(screen.contains("waiting on my roles"), "{screen}");
    insta::assert_snapshot!("queue", screen);
}

/// Issue 35 (14): at 120x40 the list has the full width (names whole,
/// the policy that tells two rows of one agent apart) and the preview the
/// rows below; at 80x24 the preview is there too.
#[tokio::test]
async fn the_queue_fits_120x40_and_80x24_with_its_preview() {
    for (width, height) in [(120, 40), (80, 24)] {
        let mut h = Harness::new(width, height, Theme::load("default", None).expect("theme")).await;
        let screen = h.screen();
        let first = h.app.queue.rows[0].clone();
        assert!(screen.contains("┌ Steps"), "{width}x{height}: {screen}");
        assert!(
            screen.contains(&format!("requested by {}", first.requested_by)),
            "{screen}"
        );
        if width >= 120 {
            assert!(
                screen.contains(&first.agent_name) && screen.contains(&first.triggered_by_policy)
            );
        }
        insta::assert_snapshot!(format!("queue_{width}x{height}"), screen);
        h.keys("p").await;
        assert!(!h.screen().contains("┌ Steps"), "p hides the preview");
        h.keys("p").await;
        assert!(h.screen().contains("┌ Steps"), "and shows it again");
    }
}

#[tokio::test]
async fn moving_selects_rows_and_loads_the_preview() {
    let mut h = harness().await;
    let first = h.selected();
    h.keys("jj").await;
    let third = h.app.queue.rows[2].workflow_id.clone();
    assert_eq!(h.selected(), third);
    assert!(
        matches!(h.emitted.last(), Some(Command::LoadWorkflow { workflow_id }) if *workflow_id == third)
    );
    h.press(KeyCode::Up).await;
    h.press(KeyCode::Up).await;
    assert_eq!(h.selected(), first);
    let screen = h.screen();
    assert!(
        screen.contains("▶"),
        "the preview shows the waiting step: {screen}"
    );
}

#[tokio::test]
async fn end_reads_backward_from_the_end_and_home_comes_back() {
    let mut h = harness().await;
    let total = h.app.queue.count.expect("counted");
    h.press(KeyCode::End).await;
    let Some(Command::LoadQueue { query, .. }) = h
        .emitted
        .iter()
        .rev()
        .find(|c| matches!(c, Command::LoadQueue { .. }))
    else {
        panic!("no page load");
    };
    assert!(
        query.direction == gavel::backend::Direction::Backward
            || h.app.queue.rows.len() as u64 == total
    );
    assert_eq!(h.app.queue.position(), Some((total, total)));
    h.keys("g").await;
    assert_eq!(h.app.queue.position().map(|p| p.0), Some(1));
}

#[tokio::test]
async fn the_step_view_shows_agent_policy_steps_audit_and_trail_and_esc_returns() {
    let mut h = harness().await;
    h.keys("jjj").await;
    let selected = h.selected();
    h.press(KeyCode::Enter).await;
    let screen = h.screen();
    for expected in [
        "Agent",
        "Why this workflow exists",
        "fired because",
        "The whole deployment",
        "← this one",
        "running now",
        "Steps",
        "Latest bias audit",
    ] {
        assert!(screen.contains(expected), "{expected} missing:\n{screen}");
    }
    insta::assert_snapshot!("step_view", screen);
    // The trail is further down.
    h.keys("jjjjjjjjjjjj").await;
    let screen = h.screen();
    for expected in ["Audit trail", "workflow_opened"] {
        assert!(screen.contains(expected), "{expected} missing:\n{screen}");
    }
    h.press(KeyCode::Esc).await;
    assert!(h.app.detail.is_none());
    assert_eq!(h.selected(), selected, "back to the same place");
}

#[tokio::test]
async fn approving_from_the_queue_decides_and_moves_to_the_next_item() {
    let mut h = harness().await;
    let before = h.app.queue.count.expect("count");
    let target = h.selected();
    let next = h.app.queue.rows[1].workflow_id.clone();
    h.keys("a").await;
    let screen = h.screen();
    assert!(screen.contains("You decide step"), "{screen}");
    insta::assert_snapshot!("approve_dialog", screen);
    h.keys("Fine by me").await;
    h.key(KeyCode::Char('s'), KeyModifiers::CONTROL).await;
    assert!(h.app.overlay.is_none(), "the dialog closes on success");
    assert_eq!(h.selected(), next);
    assert_eq!(h.app.queue.count, Some(before - 1));
    let stored = h.backend.workflow(&target).await.expect("workflow");
    assert_eq!(stored.steps[0].approver_email.as_deref(), Some(DEMO_USER));
    assert_eq!(stored.steps[0].comment.as_deref(), Some("Fine by me"));
    assert!(
        h.screen().contains("Approved step 1"),
        "status says what happened"
    );
}

#[tokio::test]
async fn rejecting_needs_a_comment_and_says_so_in_the_dialog() {
    let mut h = harness().await;
    let target = h.selected();
    h.keys("r").await;
    h.key(KeyCode::Char('s'), KeyModifiers::CONTROL).await;
    let screen = h.screen();
    assert!(
        screen.contains("a rejection needs a comment saying why"),
        "{screen}"
    );
    insta::assert_snapshot!("reject_dialog_needs_comment", screen);
    assert!(
        !h.emitted
            .iter()
            .any(|c| matches!(c, Command::Decide { .. })),
        "nothing is sent"
    );
    // Multi-line comment with word deletion and a paste.
    h.keys("Missing DPIA oops").await;
    h.key(KeyCode::Char('w'), KeyModifiers::CONTROL).await;
    h.press(KeyCode::Enter).await;
    let commands = h.app.on_paste("see ticket GOV-12");
    h.run(commands).await;
    h.key(KeyCode::Char('s'), KeyModifiers::CONTROL).await;
    let stored = h.backend.workflow(&target).await.expect("workflow");
    assert_eq!(
        stored.steps[0].comment.as_deref(),
        Some("Missing DPIA \nsee ticket GOV-12")
    );
}

#[tokio::test]
async fn a_refusal_is_shown_in_plain_words_and_the_view_refreshes() {
    let mut h = harness().await;
    let item = h.app.queue.selected_item().cloned().expect("an item");
    let step = item.current_step.expect("waiting");
    h.keys("a").await;
    // Someone else decides first.
    let other = h
        .store
        .users()
        .expect("users")
        .into_iter()
        .find(|user| {
            user.roles.contains(&step.role)
                && user.email != DEMO_USER
                && user.email != item.requested_by
        })
        .expect("another holder of the role");
    let rival = LocalBackend::new(Arc::clone(&h.store), Some(other.email));
    rival
        .decide(&Decision {
            workflow_id: item.workflow_id.clone(),
            step_id: step.step_id,
            verdict: Verdict::Approve,
            comment: None,
            expected_version: item.version,
            idempotency_key: Decision::new_key(),
            decision_at: None,
            on_behalf_of: None,
        })
        .await
        .expect("rival decides");
    h.key(KeyCode::Char('s'), KeyModifiers::CONTROL).await;
    let Some(Overlay::Decide(dialog)) = &h.app.overlay else {
        panic!("the dialog stays open")
    };
    let error = dialog.error.clone().expect("an error");
    assert!(error.contains("stale version"), "{error}");
    let gavel::tui::widgets::decide::Subject::Workflow { workflow, .. } = &dialog.subject else {
        panic!("a workflow's dialog")
    };
    assert_eq!(
        workflow.as_ref().map(|w| w.version),
        Some(item.version + 1),
        "reloaded"
    );
    assert!(h.screen().contains("stale version"));
}

#[tokio::test]
async fn help_lists_this_screens_keys_and_filters_as_you_type() {
    let mut h = harness().await;
    h.keys("?").await;
    let screen = h.screen();
    assert!(
        screen.contains("approve the current step") && screen.contains("quit Gavel"),
        "{screen}"
    );
    insta::assert_snapshot!("help", screen);
    h.keys("sort").await;
    let screen = h.screen();
    assert!(
        screen.contains("sort by age or by risk") && !screen.contains("quit Gavel"),
        "{screen}"
    );
    h.press(KeyCode::Esc).await;
    assert!(h.app.overlay.is_none());
}

#[tokio::test]
async fn the_palette_runs_actions_by_fuzzy_name() {
    let mut h = harness().await;
    h.keys(":").await;
    h.keys("tglsrt").await;
    h.press(KeyCode::Enter).await;
    assert_eq!(h.app.queue.choice.sort, QueueSort::Risk);
    assert!(h.screen().contains("highest risk first"));
}

#[tokio::test]
async fn search_and_filters_narrow_the_queue() {
    let mut h = harness().await;
    let name = h.app.queue.rows[0].agent_name.clone();
    let word = name.split(' ').next().expect("a word").to_owned();
    h.keys("/").await;
    h.keys(&word).await;
    h.press(KeyCode::Enter).await;
    assert!(!h.app.queue.rows.is_empty());
    assert!(
        h.app
            .queue
            .rows
            .iter()
            .all(|row| row.agent_name.contains(&word) || row.team.contains(&word))
    );
    assert!(h.screen().contains(&format!("matching \"{word}\"")));
    h.keys("x").await;
    assert!(
        h.app
            .queue
            .rows
            .iter()
            .all(|row| row.risk_tier == gavel::domain::RiskTier::High)
    );
    h.keys("c").await;
    assert_eq!(h.app.queue.choice.search, None);
    h.keys("m").await;
    let all = h
        .backend
        .queue_count(&QueueFilter::everything())
        .await
        .expect("count");
    assert_eq!(h.app.queue.count, Some(all));

    // t: a team by any part of its name, in any case (issue 35, 15).
    let team = h.app.queue.rows[0].team.clone();
    h.keys("t").await;
    h.keys(&team.to_lowercase()).await;
    h.press(KeyCode::Enter).await;
    let screen = h.screen();
    assert_eq!(
        h.app.queue.choice.team.as_deref(),
        Some(team.as_str()),
        "{screen}"
    );
    assert!(h.app.queue.rows.iter().all(|row| row.team == team));
    h.keys("c").await;
    h.keys("t").await;
    h.keys("zzzz-no-team").await;
    h.press(KeyCode::Enter).await;
    assert_eq!(h.app.queue.choice.team, None);
    assert!(
        h.screen().contains("no team's name contains"),
        "{}",
        h.screen()
    );
}

#[tokio::test]
async fn mouse_clicks_select_and_the_wheel_scrolls() {
    let mut h = harness().await;
    // Row layout: tabs, saved views, header, column titles, then rows.
    let click = MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column: 5,
        row: 4 + 4,
        modifiers: KeyModifiers::NONE,
    };
    let commands = h.app.on_mouse(click);
    h.run(commands).await;
    assert_eq!(h.app.queue.selected, 4);
    let wheel = MouseEvent {
        kind: MouseEventKind::ScrollDown,
        column: 5,
        row: 10,
        modifiers: KeyModifiers::NONE,
    };
    let commands = h.app.on_mouse(wheel);
    h.run(commands).await;
    assert_eq!(h.app.queue.selected, 7);

    // Issue 35 (15): the tab bar and the Blocked list take clicks too.
    let at = |column: u16, row: u16| MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column,
        row,
        modifiers: KeyModifiers::NONE,
    };
    let screen = h.screen();
    let tab_bar = screen.lines().next().expect("the tab bar");
    let blocked_at = tab_bar.find("4 Blocked").expect("the Blocked tab") as u16;
    let commands = h.app.on_mouse(at(blocked_at + 2, 0));
    h.run(commands).await;
    assert_eq!(h.app.tab, gavel::tui::tab::Tab::Blocked);
    let screen = h.screen();
    let titles = screen
        .lines()
        .position(|line| line.starts_with(" Agent ") && line.contains("Blocked"))
        .expect("the list's column titles") as u16;
    let commands = h.app.on_mouse(at(3, titles + 3));
    h.run(commands).await;
    let selected = h.app.blocked.selected;
    assert_eq!(selected, 2, "{}", h.screen());
    let queue_at = tab_bar.find("1 Queue").expect("the Queue tab") as u16;
    let commands = h.app.on_mouse(at(queue_at, 0));
    h.run(commands).await;
    assert_eq!(h.app.tab, gavel::tui::tab::Tab::Queue);
}

#[tokio::test]
async fn a_tiny_terminal_still_works_and_a_smaller_one_says_so() {
    let mut h = Harness::new(20, 6, Theme::load("default", None).expect("theme")).await;
    let screen = h.screen();
    insta::assert_snapshot!("tiny_20x6", screen);
    h.keys("jj").await;
    h.press(KeyCode::Enter).await;
    h.screen();
    let mut small = Terminal::new(TestBackend::new(19, 5)).expect("terminal");
    small.draw(|frame| h.app.draw(frame)).expect("draw");
    let text: String = small
        .backend()
        .buffer()
        .content()
        .iter()
        .map(|cell| cell.symbol())
        .collect();
    assert!(text.contains("terminal too"), "{text}");
}

#[tokio::test]
async fn no_color_is_monochrome_and_still_shows_selection_and_status() {
    let mut h = Harness::new(120, 32, Theme::monochrome()).await;
    let screen = h.screen();
    insta::assert_snapshot!("no_color", screen);
    let buffer = h.terminal.backend().buffer();
    assert!(
        buffer
            .content()
            .iter()
            .all(|cell| cell.fg == ratatui::style::Color::Reset
                && cell.bg == ratatui::style::Color::Reset),
        "no colour at all"
    );
    // The selected row (first data row, under the tabs, the saved views, the header and the titles) is reversed.
    let selected_row = 4;
    assert!(
        buffer[(5, selected_row)]
            .modifier
            .contains(Modifier::REVERSED)
    );
    assert!(
        screen.contains("!!") || screen.contains(" !"),
        "overdue items are marked in text, not only colour"
    );
}

#[tokio::test]
async fn escape_sequences_in_agent_names_render_inert() {
    let mut h = harness().await;
    let target = h.selected();
    {
        let conn = rusqlite::Connection::open(h.store.path().expect("a file")).expect("open");
        conn.execute(
            "UPDATE workflows SET agent_name = 'Evil\u{1b}]0;pwned\u{7}\u{1b}[2J Bot' WHERE workflow_id = ?1",
            [&target],
        )
        .expect("edit");
    }
    h.key(KeyCode::Char('r'), KeyModifiers::CONTROL).await;
    let screen = h.screen();
    assert!(
        !screen.contains('\u{1b}') && !screen.contains('\u{7}'),
        "{screen:?}"
    );
    assert!(
        screen.contains("Evil\u{FFFD}]0;pwned\u{FFFD}\u{FFFD}[2J Bot"),
        "{screen}"
    );
}

#[tokio::test]
async fn wide_and_combining_characters_keep_the_columns_aligned() {
    let mut h = harness().await;
    let target = h.selected();
    {
        let conn = rusqlite::Connection::open(h.store.path().expect("a file")).expect("open");
        conn.execute("UPDATE workflows SET agent_name = '審査エージェント e\u{301}cole 🚀', team = 'Équipe 日本' WHERE workflow_id = ?1", [&target])
            .expect("edit");
    }
    h.key(KeyCode::Char('r'), KeyModifiers::CONTROL).await;
    let screen = h.screen();
    let row = screen
        .lines()
        .find(|line| line.contains("審査"))
        .expect("the row");
    let other = screen.lines().nth(4).expect("another row");
    let column = |line: &str, needle: &str| {
        let at = line.find(needle)?;
        Some(unicode_width::UnicodeWidthStr::width(&line[..at]))
    };
    let risk_here = [" low ", " medium ", " high "]
        .iter()
        .filter_map(|r| column(row, r))
        .min()
        .expect("risk cell");
    let risk_there = [" low ", " medium ", " high "]
        .iter()
        .filter_map(|r| column(other, r))
        .min()
        .expect("risk cell");
    assert_eq!(risk_here, risk_there, "\n{row}\n{other}");
}

#[tokio::test]
async fn the_queue_holds_only_a_window_of_rows_however_far_you_scroll() {
    let mut h = harness().await;
    h.keys("m").await; // every in-progress workflow
    let total = h.app.queue.count.expect("count");
    for _ in 0..total {
        h.press(KeyCode::PageDown).await;
        if h.app
            .queue
            .position()
            .is_some_and(|(at, count)| at == count)
        {
            break;
        }
    }
    assert!(h.app.queue.rows.len() <= gavel::tui::screens::queue::MAX_ROWS);
    let last = h
        .backend
        .queue(&QueueQuery {
            direction: gavel::backend::Direction::Backward,
            ..QueueQuery::first(h.app.queue.filter(), QueueSort::Age, 1)
        })
        .await
        .expect("last");
    assert_eq!(
        h.selected(),
        last.items[0].workflow_id,
        "paged to the very end"
    );
    let _ = Role::ALL;
}

#[test]
fn the_readme_documents_every_default_key() {
    // The README names the keys that matter and links to the console's
    // page, which documents every one.
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README");
    assert!(
        readme.contains("(docs/console.md)"),
        "the README links the keys' page"
    );
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/console.md"))
        .expect("docs/console.md");
    let keymap = Keymap::default_keymap();
    for mode in [
        gavel::tui::mode::Mode::Queue,
        gavel::tui::mode::Mode::Workflow,
        gavel::tui::mode::Mode::Dialog,
        gavel::tui::mode::Mode::Policies,
    ] {
        for (keys, action) in keymap.bindings(mode) {
            for key in keys {
                assert!(
                    readme.contains(&format!("`{key}`")),
                    "docs/console.md does not document {key} ({})",
                    action.name()
                );
            }
        }
    }
}

/// A sync report with one change waiting and one the server refused.
fn sync_status(pending: &str, conflict: &str) -> gavel::backend::sync::status::SyncStatus {
    use gavel::backend::sync::plan::EntryState;
    use gavel::backend::sync::status::{PendingItem, SyncStatus};
    let at = common::harness::anchor();
    SyncStatus {
        online: Some(false),
        offline_since: Some(at - chrono::Duration::minutes(20)),
        last_synced_at: Some(at - chrono::Duration::minutes(25)),
        items: vec![
            PendingItem {
                id: 7,
                entity: format!("workflow {pending}"),
                state: EntryState::Pending,
                change: format!("approve step 1 of {pending}"),
                made_at: at,
                attempts: 1,
                server_answer: None,
                server_now: None,
            },
            PendingItem {
                id: 9,
                entity: format!("workflow {conflict}"),
                state: EntryState::Conflict,
                change: format!("reject step 1 of {conflict}: \"needs a DPIA\""),
                made_at: at,
                attempts: 1,
                server_answer: Some("the workflow changed since you loaded it".into()),
                server_now: Some(
                    "step 1 approved by sam@northwind.example: \"fine\" (workflow in_progress, version 2)"
                        .into(),
                ),
            },
        ],
        generation: 1,
        ..SyncStatus::default()
    }
}

#[tokio::test]
async fn offline_state_pending_marks_and_the_conflicts_dialog() {
    let mut h = harness().await;
    let pending = h.selected();
    let conflict = h.app.queue.rows[1].workflow_id.clone();
    let commands = h.app.on_sync(sync_status(&pending, &conflict));
    h.run(commands).await;
    let screen = h.screen();
    assert!(screen.contains("offline since"), "{screen}");
    assert!(screen.contains("1 pending sync · 1 conflict"), "{screen}");
    assert!(
        screen.contains("The server refused a change: press C."),
        "the user is told at once: {screen}"
    );
    assert!(screen.contains("⟳ "), "the pending row is marked: {screen}");
    assert!(
        screen.contains("⟳ pending sync: saved here"),
        "the preview says so: {screen}"
    );

    h.keys("C").await;
    assert!(matches!(h.app.overlay, Some(Overlay::Conflicts(_))));
    let screen = h.screen();
    insta::with_settings!({filters => vec![(r"made \d\d \w\w\w \d\d:\d\d", "made [time]"), (r"offline since \d\d:\d\d", "offline since [time]")]}, {
        insta::assert_snapshot!("conflicts_dialog", screen);
    });
    assert!(
        screen.contains("Yours:") && screen.contains("needs a DPIA"),
        "{screen}"
    );
    assert!(
        screen.contains("Server:") && screen.contains("approved by sam@"),
        "{screen}"
    );

    // d discards (the sync loop does it; the app asks).
    h.emitted.clear();
    h.keys("d").await;
    assert!(
        h.emitted.contains(&Command::DiscardChange { id: 9 }),
        "{:?}",
        h.emitted
    );

    // e decides again on the server's state; saving it retires the conflict.
    h.emitted.clear();
    h.keys("e").await;
    match &h.app.overlay {
        Some(Overlay::Decide(dialog)) => {
            assert_eq!(dialog.workflow_id(), Some(conflict.as_str()));
            assert_eq!(dialog.verdict, Verdict::Reject);
        }
        _ => panic!("the decide dialog opens"),
    }
    h.app.on_paste("still needs a DPIA");
    h.key(KeyCode::Char('s'), KeyModifiers::CONTROL).await;
    assert!(
        h.emitted.contains(&Command::DiscardChange { id: 9 }),
        "the refused change is retired once the new one is saved: {:?}",
        h.emitted
    );
}

#[tokio::test]
async fn a_first_sync_shows_its_progress_instead_of_an_empty_queue() {
    let theme = Theme::load("default", None).expect("theme");
    let mut h = Harness::build(120, 32, theme, false, false).await;
    let status = gavel::backend::sync::status::SyncStatus {
        online: Some(true),
        syncing: true,
        full_sync: Some(gavel::backend::sync::status::Progress {
            table: "workflows".into(),
            rows: 45_000,
        }),
        ..Default::default()
    };
    let commands = h.app.on_sync(status);
    h.run(commands).await;
    let screen = h.screen();
    assert!(
        screen.contains("Copying the server for offline use"),
        "{screen}"
    );
    assert!(screen.contains("first sync: 45,000 workflows…"), "{screen}");
    assert!(!screen.contains("Nothing is waiting on you"), "{screen}");
}

/// Issue 35 (7): when someone else changes a workflow on screen, the
/// watcher's message reloads it: the row is marked, and an open decide
/// dialog says so and takes a second confirm before it sends anything.
#[tokio::test]
async fn a_change_made_elsewhere_marks_the_row_and_stops_an_open_dialog_once() {
    let mut h = harness().await;
    let item = h
        .app
        .queue
        .rows
        .iter()
        .find(|item| {
            item.current_step
                .is_some_and(|step| step.step_id < item.step_count && step.quorum == 1)
        })
        .cloned()
        .expect("a row with a later step");
    let role = item.current_step.expect("current").role;
    let other = h
        .store
        .read(|conn| {
            Ok(conn.query_row(
                "SELECT email FROM users WHERE instr(roles, ?1) > 0 AND email <> ?2 AND email <> ?3
                   AND instr(?4, '|' || lower(email) || '|') = 0 ORDER BY email LIMIT 1",
                gavel::db::params![
                    role.as_str(),
                    DEMO_USER,
                    item.requested_by.clone(),
                    h.store
                        .read(|conn| Ok(conn.query_row(
                            "SELECT deciders FROM workflows WHERE workflow_id = ?1",
                            [item.workflow_id.as_str()],
                            |row| row.get::<String>(0),
                        )?))
                        .expect("deciders")
                ],
                |row| row.get::<String>(0),
            )?)
        })
        .expect("another person holding the step's role");
    open_workflow(&mut h, &item.workflow_id).await;
    h.press(KeyCode::Esc).await;
    h.keys("a").await;
    assert!(h.screen().contains("You decide step"), "{}", h.screen());
    let theirs = LocalBackend::new(Arc::clone(&h.store), Some(other));
    let workflow = theirs.workflow(&item.workflow_id).await.expect("workflow");
    theirs
        .decide(&Decision {
            workflow_id: workflow.workflow_id.clone(),
            step_id: workflow.current_step().expect("step").step_id,
            verdict: Verdict::Approve,
            comment: None,
            expected_version: workflow.version,
            idempotency_key: Decision::new_key(),
            decision_at: None,
            on_behalf_of: None,
        })
        .await
        .expect("someone else approves");
    let commands = h.app.on_message(gavel::tui::command::Message::StoreChanged);
    h.run(commands).await;
    let screen = h.screen();
    assert!(
        screen.contains("Changed by someone else since you saw it"),
        "{screen}"
    );
    h.key(KeyCode::Char('s'), KeyModifiers::CONTROL).await;
    assert!(
        h.screen().contains("confirm again"),
        "the first confirm only acknowledges: {}",
        h.screen()
    );
    let after = h
        .backend
        .workflow(&item.workflow_id)
        .await
        .expect("workflow");
    assert_eq!(after.version, workflow.version + 1, "nothing was sent");
    h.press(KeyCode::Esc).await;
    let screen = h.screen();
    assert!(
        screen.contains(gavel::tui::screens::queue_view::CHANGED_LINE),
        "{screen}"
    );
}

/// Opens the step view of `workflow_id` by searching for it.
async fn open_workflow(h: &mut Harness, workflow_id: &str) {
    h.keys("m").await;
    h.keys("/").await;
    h.keys(workflow_id).await;
    h.press(KeyCode::Enter).await;
    assert_eq!(h.selected(), workflow_id, "the search finds it");
    h.press(KeyCode::Enter).await;
    assert!(h.app.detail.is_some());
}

/// A workflow the demo user neither requested nor decided, still open, whose
/// chain has an ethics step and whose review is not submitted.
fn open_workflow_with_an_ethics_step(h: &Harness) -> String {
    h.store
        .read(|conn| {
            Ok(conn.query_row(
                "SELECT w.workflow_id FROM workflows w LEFT JOIN reviews r ON r.workflow_id = w.workflow_id
                 WHERE w.status = 'in_progress' AND w.steps LIKE '%ethics_reviewer%'
                   AND w.requested_by <> ?1 AND instr(w.deciders, ?1) = 0
                   AND (r.status IS NULL OR r.status <> 'submitted')
                 ORDER BY w.workflow_id LIMIT 1",
                [DEMO_USER],
                |row| row.get::<String>(0),
            )?)
        })
        .expect("such a workflow")
}

/// Issue 35 (4): at an ethics step whose review someone else holds, the
/// decide dialog says who decides before anything is sent, and `v` says
/// whose the review is and its state (as the step view does).
#[tokio::test]
async fn an_ethics_step_held_by_another_reviewer_says_so_before_sending() {
    let mut h = harness().await;
    let (target, reviewer, status) = h
        .store
        .read(|conn| {
            Ok(conn.query_row(
                "SELECT w.workflow_id, r.reviewer, r.status FROM workflows w JOIN reviews r ON r.workflow_id = w.workflow_id
                 WHERE w.status = 'in_progress' AND w.\"current_role\" = 'ethics_reviewer'
                   AND w.requested_by <> ?1 AND instr(w.deciders, ?1) = 0
                   AND r.reviewer <> ?1 AND r.status <> 'submitted'
                 ORDER BY w.workflow_id LIMIT 1",
                [DEMO_USER],
                |row| Ok((row.get::<String>(0)?, row.get::<String>(1)?, row.get::<String>(2)?)),
            )?)
        })
        .expect("an ethics step another reviewer holds");
    let before = h.backend.workflow(&target).await.expect("workflow");
    open_workflow(&mut h, &target).await;
    let screen = h.screen();
    assert!(screen.contains(&format!("by {reviewer}")), "{screen}");
    h.keys("v").await;
    let screen = h.screen();
    assert!(
        screen.contains(&format!("the ethics review is {reviewer}'s ({status})")),
        "{screen}"
    );
    h.keys("a").await;
    let screen = h.screen();
    assert!(
        screen.contains("You cannot decide step") && screen.contains(&format!("only {reviewer},")),
        "{screen}"
    );
    assert!(!screen.contains("then waits on"), "no promise: {screen}");
    h.key(KeyCode::Char('s'), KeyModifiers::CONTROL).await;
    assert!(
        matches!(&h.app.overlay, Some(Overlay::Decide(dialog)) if dialog.error.is_some() && !dialog.submitting),
        "nothing is sent"
    );
    let after = h.backend.workflow(&target).await.expect("workflow");
    assert_eq!(after.version, before.version);
}

/// Issue 35 (15): saving an evidence pack into a folder that does not
/// exist says so in words (not "os error 2"), and `b` then esc returns to
/// the step view it left.
#[tokio::test]
async fn a_pack_into_a_missing_folder_says_so_and_esc_returns_from_audits() {
    let mut h = harness().await;
    let target = open_workflow_with_an_ethics_step(&h);
    open_workflow(&mut h, &target).await;
    let missing = tempfile::tempdir().expect("tempdir").path().join("gone");
    h.keys("E").await;
    h.key(KeyCode::Char('u'), KeyModifiers::CONTROL).await;
    h.keys(&format!("{}/pack.zip", missing.display())).await;
    h.press(KeyCode::Enter).await;
    let screen = h.screen();
    assert!(
        screen.contains(&format!("there is no folder {}", missing.display()))
            && !screen.contains("os error"),
        "{screen}"
    );
    h.keys("b").await;
    assert_eq!(h.app.tab, gavel::tui::tab::Tab::Audits);
    h.press(KeyCode::Esc).await;
    assert_eq!(h.app.tab, gavel::tui::tab::Tab::Queue);
    assert!(h.app.detail.is_some(), "back in the step view");
    assert!(h.screen().contains(&target), "{}", h.screen());
}

#[tokio::test]
async fn a_compliance_officer_withdraws_a_request_with_a_reason_from_the_step_view() {
    let mut h = harness().await;
    let target = open_workflow_with_an_ethics_step(&h);
    open_workflow(&mut h, &target).await;
    h.keys("W").await;
    assert!(h.screen().contains("withdraw this request, because"));
    // An officer must say why: an empty reason is refused by the store.
    h.press(KeyCode::Enter).await;
    assert!(h.screen().contains("must give a reason"), "{}", h.screen());
    h.keys("W").await;
    h.keys("Duplicate of a newer request").await;
    h.press(KeyCode::Enter).await;
    assert!(h.screen().contains("Withdrew dep-"), "{}", h.screen());
    let stored = h.backend.workflow(&target).await.expect("workflow");
    assert_eq!(stored.status, gavel::domain::WorkflowStatus::Withdrawn);
    let trail = h.backend.trail("workflow", &target).await.expect("trail");
    let last = trail.last().expect("an event");
    assert_eq!(last.entry.action, "workflow_withdrawn");
    assert_eq!(last.entry.actor, DEMO_USER);
    assert!(last.entry.details.contains("Duplicate of a newer request"));
}

#[tokio::test]
async fn a_compliance_officer_assigns_the_ethics_reviewer_from_a_list() {
    let mut h = harness().await;
    let target = open_workflow_with_an_ethics_step(&h);
    let before = h
        .backend
        .review_for_workflow(&target)
        .await
        .expect("review");
    open_workflow(&mut h, &target).await;
    h.keys("A").await;
    let screen = h.screen();
    assert!(
        screen.contains("Assign the ethics review") || screen.contains("Reassign the review"),
        "{screen}"
    );
    let (chosen, reviewer) = match &h.app.overlay {
        Some(Overlay::Choose(chooser)) => {
            assert!(
                chooser
                    .people
                    .iter()
                    .all(|user| user.roles.contains(&Role::EthicsReviewer)),
                "only ethics reviewers are offered"
            );
            // Someone other than whoever reviews now.
            let index = chooser
                .people
                .iter()
                .position(|user| {
                    before
                        .as_ref()
                        .is_none_or(|review| !user.is(&review.reviewer))
                        && !user.is(DEMO_USER)
                })
                .expect("another reviewer");
            (index, chooser.people[index].email.clone())
        }
        _ => panic!("the chooser opens"),
    };
    // The chooser starts on the current reviewer; walk to the top first.
    for _ in 0..40 {
        h.press(KeyCode::Up).await;
    }
    for _ in 0..chosen {
        h.press(KeyCode::Down).await;
    }
    h.press(KeyCode::Enter).await;
    assert!(
        h.screen().contains(&format!("assigned to {reviewer}")),
        "{}",
        h.screen()
    );
    let review = h
        .backend
        .review_for_workflow(&target)
        .await
        .expect("review")
        .expect("assigned");
    assert_eq!(review.reviewer, reviewer);
    let actions: Vec<String> = h
        .backend
        .trail("review", &review.review_id)
        .await
        .expect("trail")
        .into_iter()
        .map(|event| event.entry.action)
        .collect();
    let expected = if before.is_some() {
        "review_reassigned"
    } else {
        "review_assigned"
    };
    assert_eq!(actions.last().map(String::as_str), Some(expected));
}

/// The inbox lists what asks me to act, newest first; enter opens the
/// workflow and marks it read; the status line counts what is unread.
#[tokio::test]
async fn the_inbox_lists_my_turn_and_opens_the_workflow() {
    use gavel::backend::GovernanceBackend;
    let mut h = harness().await;
    // The fixture's proposed policy sets ask the demo user (a policy
    // admin) to approve: read one where it is.
    let before = h.backend.inbox().await.expect("inbox");
    let unread = before.iter().filter(|item| !item.read).count();
    assert!(unread > 0, "the fixture has news for the demo user");
    assert!(
        h.screen().contains(&format!("{unread} unread (i)")),
        "{}",
        h.screen()
    );
    h.keys("i").await;
    let screen = h.screen();
    assert!(
        screen.contains(&format!("Inbox · {unread} unread")),
        "{screen}"
    );
    assert!(
        screen.contains("Your turn: approve policy set version"),
        "{screen}"
    );
    // Issue 35 (10): enter opens the proposal an item is about, and an
    // item whose action was taken (version 2 was approved while seeding)
    // says so.
    let proposal = before[0].clone();
    let version = proposal
        .policy_set_version
        .expect("the newest item is a policy set proposal");
    let settled = before
        .iter()
        .find(|item| item.policy_set_version.is_some() && item.settled.is_some())
        .expect("a proposal decided since");
    assert!(
        screen.contains(&format!(
            "✓ {}",
            settled.settled.as_deref().unwrap_or_default()
        )),
        "{screen}"
    );
    h.press(KeyCode::Enter).await;
    assert!(h.app.overlay.is_none());
    assert_eq!(h.app.tab, gavel::tui::tab::Tab::Policies);
    assert_eq!(
        h.app
            .policies
            .versions
            .selected_version()
            .map(|v| v.version),
        Some(version),
        "{}",
        h.screen()
    );
    h.keys("i").await;
    assert!(
        h.screen()
            .contains(&format!("Inbox · {} unread", unread - 1)),
        "{}",
        h.screen()
    );
    // A list: j and k move in it, as everywhere else.
    assert!(before.len() > 1, "the fixture's inbox has several items");
    let selected = |h: &Harness| match &h.app.overlay {
        Some(gavel::tui::app::Overlay::Inbox(inbox)) => inbox.selected,
        _ => usize::MAX,
    };
    let first = selected(&h);
    h.keys("j").await;
    assert_eq!(selected(&h), first + 1, "j moves down");
    h.keys("k").await;
    assert_eq!(selected(&h), first, "k moves up");
    h.press(KeyCode::Esc).await;
    assert!(h.app.overlay.is_none());

    // Someone requests an agent whose first step the demo user decides.
    h.store
        .add_user("inbox.owner@example.com", "Owner", &[])
        .expect("owner");
    let mut manifest = common::confidential("agt-inbox-probe");
    manifest.agent.owner = "inbox.owner@example.com".into();
    let request = gavel::backend::local::LocalBackend::new(
        std::sync::Arc::clone(&h.store),
        Some("inbox.owner@example.com".into()),
    )
    .request_deployment(&manifest)
    .await
    .expect("request");
    h.keys("i").await;
    let screen = h.screen();
    assert!(
        screen.contains("Your turn: step 1 (technical lead)"),
        "{screen}"
    );
    h.press(KeyCode::Enter).await;
    assert!(h.app.overlay.is_none(), "{}", h.screen());
    let screen = h.screen();
    assert!(
        request
            .workflow_ids
            .iter()
            .any(|id| screen.contains(id.as_str())),
        "the step view of the request's workflow: {screen}"
    );
    // Two workflows opened (two items), one read now, one read before.
    let after = h.backend.inbox().await.expect("inbox");
    let still_unread = after.iter().filter(|item| !item.read).count();
    assert_eq!(still_unread, unread);
    assert!(
        screen.contains(&format!("{still_unread} unread (i)")),
        "{screen}"
    );
}

/// Delegations from the console: the list shows who decides for whom; `n`
/// hands my steps to someone until a date; in the decide dialog `ctrl-o`
/// decides for someone who delegated to me, and the step says so.
#[tokio::test]
async fn delegations_are_made_in_the_console_and_a_step_is_decided_for_someone() {
    use gavel::backend::GovernanceBackend;
    use gavel::domain::delegation::NewDelegation;
    let mut h = harness().await;
    let ana = "ana.away@example.com";
    h.store
        .add_user(ana, "Ana", &[Role::TechnicalLead])
        .expect("ana");
    h.store
        .add_user("sam.cover@example.com", "Sam", &[Role::TechnicalLead])
        .expect("sam");
    let now = chrono::Utc::now();
    gavel::backend::local::LocalBackend::new(std::sync::Arc::clone(&h.store), Some(ana.into()))
        .delegate(&NewDelegation {
            to: gavel::seed::DEMO_USER.into(),
            starts_at: now,
            ends_at: now + chrono::TimeDelta::days(3),
            role: None,
        })
        .await
        .expect("ana delegates to the demo user");

    // The event loop dates every key and message with the clock (the
    // harness's own clock is fixed in the past for its snapshots).
    h.app.now = chrono::Utc::now();
    h.keys("D").await;
    let screen = h.screen();
    assert!(screen.contains("Delegations"), "{screen}");
    assert!(screen.contains(&format!("I decide for {ana}")), "{screen}");
    assert!(
        screen.contains(&format!("I decide for {ana} · technical lead · active")),
        "a delegation running now says active, as `gavel delegate list` does: {screen}"
    );
    // n: choose the delegate among those holding one of my roles.
    h.keys("n").await;
    let (index, offered) = match &h.app.overlay {
        Some(Overlay::Choose(chooser)) => (
            chooser
                .people
                .iter()
                .position(|user| user.is("sam.cover@example.com"))
                .expect("sam holds a role of mine"),
            chooser.people.clone(),
        ),
        _ => panic!("the chooser opens: {}", h.screen()),
    };
    assert!(offered.iter().all(|user| !user.is(gavel::seed::DEMO_USER)));
    for _ in 0..index {
        h.press(KeyCode::Down).await;
    }
    h.press(KeyCode::Enter).await;
    let until = (now + chrono::TimeDelta::days(10)).date_naive();
    h.keys(&until.format("%Y-%m-%d").to_string()).await;
    h.press(KeyCode::Enter).await;
    let screen = h.screen();
    assert!(
        screen.contains("sam.cover@example.com decides for me"),
        "{screen}"
    );
    let given = h.backend.delegations(false).await.expect("list");
    assert!(given.iter().any(|d| d.delegate == "sam.cover@example.com"
        && d.ends_at.date_naive() == until + chrono::TimeDelta::days(1)));
    // x asks before it ends one; a second x ends it.
    let sam = given
        .iter()
        .find(|d| d.delegate == "sam.cover@example.com")
        .expect("sam's")
        .clone();
    let at = h
        .app
        .delegations
        .iter()
        .position(|d| d.delegation_id == sam.delegation_id)
        .expect("listed");
    for _ in 0..at {
        h.press(KeyCode::Down).await;
    }
    h.keys("x").await;
    assert!(
        h.screen().contains(&format!("End {}", sam.delegation_id)),
        "{}",
        h.screen()
    );
    assert!(
        h.backend
            .delegations(false)
            .await
            .expect("list")
            .iter()
            .any(|d| d.delegation_id == sam.delegation_id),
        "nothing ended on the first x"
    );
    h.keys("x").await;
    assert!(
        !h.backend
            .delegations(false)
            .await
            .expect("list")
            .iter()
            .any(|d| d.delegation_id == sam.delegation_id),
        "the second x ended it"
    );
    h.press(KeyCode::Esc).await;
    assert!(h.app.overlay.is_none());

    // The first item waits on a technical lead: decide it for Ana.
    let workflow_id = h.selected();
    h.keys("a").await;
    assert!(h.screen().contains(&format!("ctrl-o: decide for {ana}")));
    h.key(KeyCode::Char('o'), KeyModifiers::CONTROL).await;
    assert!(
        h.screen()
            .contains(&format!("For {ana} (their delegation)")),
        "{}",
        h.screen()
    );
    h.key(KeyCode::Char('s'), KeyModifiers::CONTROL).await;
    let decided = h.backend.workflow(&workflow_id).await.expect("workflow");
    let step = &decided.steps[0];
    assert_eq!(step.approver_email.as_deref(), Some(gavel::seed::DEMO_USER));
    assert_eq!(step.on_behalf_of.as_deref(), Some(ana));
}
