//! The habits people bring from k9s, lazygit and gh-dash, on `TestBackend`:
//! saving the list in view (`X`).

mod common;

use common::harness::Harness;
use gavel::backend::GovernanceBackend;
use gavel::tui::theme::Theme;
use ratatui::crossterm::event::KeyCode;

async fn harness() -> Harness {
    Harness::new(120, 40, Theme::load("default", None).expect("theme")).await
}

/// `X`, then the proposed name replaced by `path`, then enter.
async fn save_list_as(h: &mut Harness, path: &std::path::Path) {
    h.keys("X").await;
    assert!(
        h.screen().contains("save the list as"),
        "X asks for a file:\n{}",
        h.screen()
    );
    for _ in 0..80 {
        h.press(KeyCode::Backspace).await;
    }
    h.keys(&path.display().to_string()).await;
    h.press(KeyCode::Enter).await;
}

fn csv_rows(path: &std::path::Path) -> Vec<csv::StringRecord> {
    csv::Reader::from_path(path)
        .expect("csv")
        .records()
        .collect::<Result<_, _>>()
        .expect("records")
}

fn json_rows(path: &std::path::Path) -> Vec<serde_json::Value> {
    serde_json::from_slice::<Vec<serde_json::Value>>(&std::fs::read(path).expect("file"))
        .expect("a JSON array")
}

#[tokio::test]
async fn x_saves_each_list_as_filtered_in_csv_or_json() {
    let mut h = harness().await;
    let out = tempfile::tempdir().expect("tempdir");

    // The queue, everything (`m`), in its order on screen.
    h.keys("m").await;
    let first = h.selected();
    let total = h
        .backend
        .queue_count(&h.app.queue.filter())
        .await
        .expect("count");
    assert!(total > 100, "more than one page: {total}");
    let csv_path = out.path().join("queue.csv");
    save_list_as(&mut h, &csv_path).await;
    assert!(
        h.screen()
            .contains(&format!("Saved {} rows", gavel::text::thousands(total))),
        "{}",
        h.screen()
    );
    let rows = csv_rows(&csv_path);
    assert_eq!(rows.len() as u64, total);
    assert_eq!(&rows[0][0], first, "the first row is the first on screen");
    let json_path = out.path().join("queue.json");
    save_list_as(&mut h, &json_path).await;
    let items = json_rows(&json_path);
    assert_eq!(items.len() as u64, total);
    assert_eq!(items[0]["workflow_id"], first, "the CLI's JSON shape");

    // A folder that does not exist is named, not made.
    let missing = out.path().join("no-such-folder").join("queue.csv");
    save_list_as(&mut h, &missing).await;
    assert!(h.screen().contains("there is no folder"), "{}", h.screen());
    assert!(!out.path().join("no-such-folder").exists());

    // A file that exists is never replaced.
    let before = std::fs::read(&csv_path).expect("read");
    save_list_as(&mut h, &csv_path).await;
    assert!(h.screen().contains("exists already"), "{}", h.screen());
    assert_eq!(std::fs::read(&csv_path).expect("read"), before);

    // The Blocked list: every blocked deployment.
    h.keys("4").await;
    let blocked = h.backend.dashboard().await.expect("dashboard").blocked_now;
    let path = out.path().join("blocked.json");
    save_list_as(&mut h, &path).await;
    let items = json_rows(&path);
    assert_eq!(items.len() as u64, blocked);
    assert!(items.iter().all(|item| item["status"] == "blocked"));

    // The Audits list, as CSV and JSON alike.
    h.keys("3").await;
    let (csv_path, json_path) = (
        out.path().join("audits.csv"),
        out.path().join("audits.json"),
    );
    save_list_as(&mut h, &csv_path).await;
    save_list_as(&mut h, &json_path).await;
    let (rows, items) = (csv_rows(&csv_path), json_rows(&json_path));
    assert!(!rows.is_empty());
    assert_eq!(rows.len(), items.len());
    assert_eq!(&rows[0][0], items[0]["agent_id"].as_str().expect("id"));
}

/// A left click on screen row `row`, at the app's clock.
async fn click(h: &mut Harness, row: u16) {
    use ratatui::crossterm::event::{KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
    let commands = h.app.on_mouse(MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column: 4,
        row,
        modifiers: KeyModifiers::NONE,
    });
    h.run(commands).await;
}

#[tokio::test]
async fn a_double_click_opens_the_row_and_two_slow_clicks_only_select_it() {
    let mut h = harness().await;
    let screen = h.screen();
    let third = screen
        .lines()
        .enumerate()
        .filter(|(_, line)| line.contains("1/") || line.contains("2/"))
        .nth(2)
        .map(|(row, _)| row as u16)
        .expect("a third row in the queue");
    click(&mut h, third).await;
    assert_eq!(h.app.queue.selected, 2, "a click selects");
    h.app.now += chrono::TimeDelta::seconds(1);
    click(&mut h, third).await;
    assert!(
        h.app.detail.is_none(),
        "two clicks a second apart only select"
    );
    let selected = h.selected();
    click(&mut h, third).await;
    assert!(h.app.detail.is_some(), "a double click opens the step view");
    assert!(h.screen().contains(&selected), "{}", h.screen());
}

#[tokio::test]
async fn the_configured_start_tab_opens_once_the_console_knows_who_you_are() {
    let mut h = harness().await;
    h.restart_with(|config| config.start_tab = gavel::tui::tab::Tab::Blocked)
        .await;
    assert_eq!(h.app.tab, gavel::tui::tab::Tab::Blocked);
    let blocked = h.backend.dashboard().await.expect("dashboard").blocked_now;
    let screen = h.screen();
    assert!(
        screen.contains(&gavel::text::thousands(blocked)),
        "the Blocked tab's figures are loaded:\n{screen}"
    );
    // The queue behind it is loaded too: `1` shows it at once.
    h.keys("1").await;
    assert!(!h.app.queue.rows.is_empty());
}

#[tokio::test]
async fn f4_asks_for_the_focused_answer_and_what_comes_back_is_saved_as_typing_is() {
    use gavel::tui::app::EditTarget;
    use gavel::tui::screens::review_form::FormKey;
    let mut h = harness().await;
    let review_id = h.open_fresh_review().await;
    // To the first text answer.
    for _ in 0..20 {
        if h.app
            .reviews
            .form
            .as_ref()
            .expect("form")
            .focused_text()
            .is_some()
        {
            break;
        }
        h.press(KeyCode::Tab).await;
    }
    let field = h.app.reviews.form.as_ref().expect("form").focus;
    h.press(KeyCode::F(4)).await;
    let edit = h.app.external_edit.take().expect("f4 asks for the editor");
    assert_eq!(
        edit.target,
        EditTarget::Answer {
            form: FormKey::Review(review_id.clone()),
            field
        }
    );
    let written = "Reviewed the training data's provenance.\nNo concerns.";
    let commands = h
        .app
        .on_edited(edit.target.clone(), Ok(format!("{written}\n")));
    h.run(commands).await;
    assert_eq!(
        h.app
            .reviews
            .form
            .as_ref()
            .expect("form")
            .focused_text()
            .as_deref(),
        Some(written),
        "the editor's trailing newline is dropped"
    );
    // Leaving the form saves the draft, as after typing.
    h.press(KeyCode::Esc).await;
    let draft = h.backend.review(&review_id).await.expect("review");
    assert!(
        draft
            .answers
            .values()
            .any(|answer| answer.as_str() == Some(written)),
        "the draft holds the edited answer: {:?}",
        draft.answers
    );
    // An editor that failed changes nothing and says why.
    let before = h.app.reviews.form.as_ref().map(|form| form.answers());
    let commands = h.app.on_edited(edit.target, Err("vi exited with 1".into()));
    h.run(commands).await;
    assert!(
        h.screen().contains("The editor did not finish"),
        "{}",
        h.screen()
    );
    assert_eq!(
        h.app.reviews.form.as_ref().map(|form| form.answers()),
        before
    );
}

#[tokio::test]
async fn back_returns_along_the_links_followed_with_each_place_as_it_was() {
    let mut h = harness().await;
    // Everything, so a request with two workflows is on the first page.
    h.keys("m").await;
    let rows = h.app.queue.rows.clone();
    let index = rows
        .iter()
        .position(|row| {
            rows.iter()
                .filter(|other| other.deployment_id == row.deployment_id)
                .count()
                > 1
        })
        .expect("a request with two workflows");
    for _ in 0..index {
        h.press(KeyCode::Down).await;
    }
    let first = h.selected();
    h.press(KeyCode::Enter).await;
    assert_eq!(h.app.detail.as_ref().expect("step view").workflow_id, first);
    // Scrolled a little, as a reader leaves it.
    h.app.detail.as_mut().expect("step view").scroll = 3;
    let scrolled = 3;

    // `]`: the request's other workflow; `b`: its agent's audits.
    h.keys("]").await;
    let sibling = h
        .app
        .detail
        .as_ref()
        .expect("step view")
        .workflow_id
        .clone();
    assert_ne!(sibling, first);
    assert!(h.screen().contains(&sibling), "{}", h.screen());
    h.keys("b").await;
    assert_eq!(h.app.tab, gavel::tui::tab::Tab::Audits);

    // Back, back, back: the sibling, the first as scrolled, the queue.
    h.press(KeyCode::Esc).await;
    assert_eq!(h.app.tab, gavel::tui::tab::Tab::Queue);
    assert_eq!(
        h.app.detail.as_ref().expect("step view").workflow_id,
        sibling
    );
    h.press(KeyCode::Esc).await;
    let screen = h.app.detail.as_ref().expect("step view");
    assert_eq!(screen.workflow_id, first);
    assert_eq!(screen.scroll, scrolled, "the place is as it was");
    h.press(KeyCode::Esc).await;
    assert!(h.app.detail.is_none());
    assert_eq!(h.selected(), first, "the queue keeps its selection");
}

#[tokio::test]
async fn a_click_on_the_reviews_list_selects_that_review_and_a_double_click_opens_it() {
    let mut h = harness().await;
    let queue_selection = h.app.queue.selected;
    h.keys("2").await;
    let target = h
        .app
        .reviews
        .items
        .get(2)
        .expect("three reviews")
        .review_id
        .clone();
    let row = h
        .screen()
        .lines()
        .position(|line| line.contains(&target))
        .expect("the review on screen") as u16;
    click(&mut h, row).await;
    assert_eq!(h.app.reviews.selected, 2);
    assert_eq!(
        h.app.queue.selected, queue_selection,
        "the queue is not clicked through"
    );
    click(&mut h, row).await;
    let form = h
        .app
        .reviews
        .form
        .as_ref()
        .expect("a double click opens it");
    assert_eq!(
        form.subject.key(),
        gavel::tui::screens::review_form::FormKey::Review(target)
    );
}

#[tokio::test]
async fn a_click_on_the_audits_list_selects_that_agent_and_shows_its_audits() {
    let mut h = harness().await;
    h.keys("3").await;
    let target = h.app.audits.agents.get(2).expect("three agents").clone();
    // The tab bar, the list's title, then two lines per agent.
    let row = 1 + 1 + 2 * 2;
    let name: String = target.name.chars().take(12).collect();
    assert!(
        h.screen()
            .lines()
            .nth(row as usize)
            .is_some_and(|line| line.contains(&name)),
        "{name:?} on line {row}:\n{}",
        h.screen()
    );
    click(&mut h, row).await;
    assert_eq!(h.app.audits.selected, 2);
    assert_eq!(
        h.app.audits.audits_agent.as_deref(),
        Some(target.agent_id.as_str())
    );
}

#[tokio::test]
async fn slash_finds_text_in_the_step_view_and_n_and_shift_n_walk_the_matches() {
    let mut h = harness().await;
    let requester = h
        .app
        .queue
        .selected_item()
        .expect("a queue item")
        .requested_by
        .clone();
    h.press(KeyCode::Enter).await;
    assert!(
        h.app
            .detail
            .as_ref()
            .and_then(|s| s.detail.as_ref())
            .is_some()
    );
    // Narrow, so the trail lies below the first screen.
    h.terminal.backend_mut().resize(80, 24);
    h.app.resize(80, 24);
    h.screen();
    h.keys("/").await;
    assert!(h.screen().contains("find in this view"), "{}", h.screen());
    h.keys(&requester).await;
    h.press(KeyCode::Enter).await;
    let screen = h.screen();
    assert!(screen.contains("1 of "), "{screen}");
    let of: usize = screen
        .split("1 of ")
        .nth(1)
        .and_then(|rest| rest.split(':').next())
        .and_then(|n| n.trim().parse().ok())
        .expect("how many matches");
    assert!(of >= 2, "the header and the trail name the requester: {of}");
    let first_scroll = h.app.detail.as_ref().expect("step view").scroll;
    h.keys("n").await;
    assert!(h.screen().contains(&format!("2 of {of}")), "{}", h.screen());
    assert!(h.app.detail.as_ref().expect("step view").scroll > first_scroll);
    h.keys("N").await;
    assert!(h.screen().contains(&format!("1 of {of}")), "{}", h.screen());
    assert_eq!(
        h.app.detail.as_ref().expect("step view").scroll,
        first_scroll
    );
    // Text no line holds says so, and leaves the view where it was.
    h.keys("/").await;
    for _ in 0..80 {
        h.press(KeyCode::Backspace).await;
    }
    h.keys("zzz-nowhere").await;
    h.press(KeyCode::Enter).await;
    assert!(h.screen().contains("No line here holds"), "{}", h.screen());
}

#[tokio::test]
async fn slash_finds_a_review_and_n_and_shift_n_walk_the_matches_round() {
    let mut h = harness().await;
    h.keys("2").await;
    // The reviews of the status most of them have.
    let statuses = [
        gavel::domain::ReviewStatus::Assigned,
        gavel::domain::ReviewStatus::Draft,
        gavel::domain::ReviewStatus::Submitted,
    ];
    let (status, submitted) = statuses
        .iter()
        .map(|status| {
            let at: Vec<usize> = h
                .app
                .reviews
                .items
                .iter()
                .enumerate()
                .filter(|(_, item)| item.status == *status)
                .map(|(index, _)| index)
                .collect();
            (*status, at)
        })
        .max_by_key(|(_, at)| at.len())
        .expect("statuses");
    assert!(
        submitted.len() >= 2,
        "two reviews of one status: {submitted:?}"
    );
    h.keys("/").await;
    assert!(h.screen().contains("find a review"), "{}", h.screen());
    h.keys(&status.as_str().to_uppercase()).await;
    h.press(KeyCode::Enter).await;
    assert_eq!(h.app.reviews.selected, submitted[0], "any case");
    assert!(
        h.screen()
            .contains(&format!("1 of {} reviews holding", submitted.len())),
        "{}",
        h.screen()
    );
    h.keys("n").await;
    assert_eq!(h.app.reviews.selected, submitted[1]);
    h.keys("N").await;
    h.keys("N").await;
    assert_eq!(
        h.app.reviews.selected,
        *submitted.last().expect("last"),
        "N goes round from the first match to the last"
    );
}

#[tokio::test]
async fn slash_finds_in_the_policies_and_their_versions_and_a_click_selects() {
    let mut h = harness().await;
    h.keys("5").await;
    let policies = h.app.policies.policies.clone();
    let holding: Vec<usize> = policies
        .iter()
        .enumerate()
        .filter(|(_, policy)| policy.policy_id.contains("risk_tier"))
        .map(|(index, _)| index)
        .collect();
    assert!(holding.len() >= 2, "several policies to walk: {holding:?}");

    h.keys("/risk_tier").await;
    h.press(KeyCode::Enter).await;
    let screen = h.screen();
    assert_eq!(h.app.policies.selected, holding[0], "{screen}");
    let screen = h.screen();
    assert!(
        screen.contains(&format!(
            "1 of {} policies holding “risk_tier”",
            holding.len()
        )),
        "{screen}"
    );
    h.keys("n").await;
    assert_eq!(h.app.policies.selected, holding[1]);
    h.keys("N").await;
    assert_eq!(h.app.policies.selected, holding[0]);
    h.keys("N").await;
    assert_eq!(
        h.app.policies.selected,
        *holding.last().expect("a match"),
        "N goes round from the first to the last"
    );

    // A click on the first row of the table selects it.
    let screen = h.screen();
    let row = screen
        .lines()
        .position(|line| line.contains(&policies[0].policy_id))
        .expect("the first policy on screen") as u16;
    click(&mut h, row).await;
    assert_eq!(h.app.policies.selected, 0);

    // In the versions, the same keys find a version (and load it).
    h.keys("v").await;
    let versions = h.app.policies.versions.versions.clone();
    let first = versions.last().expect("a version").version;
    // The prompt holds the last text looked for: replace it.
    h.keys("/").await;
    for _ in 0.."risk_tier".len() {
        h.press(KeyCode::Backspace).await;
    }
    h.keys(&format!("v{first}")).await;
    h.press(KeyCode::Enter).await;
    let screen = h.screen();
    let selected = h
        .app
        .policies
        .versions
        .selected_version()
        .expect("selected");
    assert_eq!(selected.version, first, "{screen}");
    assert!(h.screen().contains("versions holding"), "{}", h.screen());
}
