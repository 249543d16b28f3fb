//! Drives the console on `TestBackend` over a seeded store: commands are
//! executed by the worker's own function and answers fed back, no sleeps.

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use gavel::backend::local::{LocalBackend, LocalStore};
use gavel::seed::{self, DEMO_USER, SeedOptions};
use gavel::tui::app::{App, AppConfig};
use gavel::tui::command::{Command, execute};
use gavel::tui::keymap::Keymap;
use gavel::tui::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

pub struct Harness {
    pub app: App,
    pub backend: LocalBackend,
    pub store: Arc<LocalStore>,
    pub terminal: Terminal<TestBackend>,
    /// Every command the app emitted, in order.
    pub emitted: Vec<Command>,
    pub dir: tempfile::TempDir,
}

pub fn anchor() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap()
}

impl Harness {
    pub async fn new(width: u16, height: u16, theme: Theme) -> Harness {
        Harness::build(width, height, theme, false, true).await
    }

    /// A console over a seeded store (or an empty one holding just the demo
    /// user, when `seeded` is false).
    pub async fn build(
        width: u16,
        height: u16,
        theme: Theme,
        read_only: bool,
        seeded: bool,
    ) -> Harness {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = LocalStore::open(&dir.path().join("tui.db")).expect("store");
        if seeded {
            seed::seed(
                &store,
                &SeedOptions {
                    workflows: 1500,
                    seed: 5,
                    anchor: anchor(),
                },
                &mut |_| {},
            )
            .expect("seed");
        } else {
            store
                .add_user(DEMO_USER, "Dana", &gavel::domain::Role::ALL)
                .expect("user");
        }
        let backend = LocalBackend::new(Arc::clone(&store), Some(DEMO_USER.to_owned()));
        let (app, commands) = Harness::fresh_app(width, height, theme, read_only);
        let mut harness = Harness {
            app,
            backend,
            store,
            terminal: Terminal::new(TestBackend::new(width, height)).expect("terminal"),
            emitted: Vec::new(),
            dir,
        };
        harness.run(commands).await;
        harness
    }

    fn fresh_app(width: u16, height: u16, theme: Theme, read_only: bool) -> (App, Vec<Command>) {
        let config = AppConfig {
            theme,
            keymap: Keymap::default_keymap(),
            sla_days: 3,
            read_only,
            location: "local /tmp/tui.db".into(),
            sync_state: "saved locally".into(),
            notice: None,
            witness_warning: None,
            start_tab: gavel::tui::tab::Tab::Queue,
            views: gavel::config::SavedView::defaults(),
            memory: Default::default(),
            memory_file: None,
        };
        let (mut app, commands) = App::new(config, anchor());
        app.resize(width, height);
        (app, commands)
    }

    /// Drops the app (as a crash or a quit would) and starts a new one on the
    /// same store.
    pub async fn restart(&mut self) {
        let area = self.terminal.backend().buffer().area;
        let theme = self.app.config.theme.clone();
        let (app, commands) = Harness::fresh_app(area.width, area.height, theme, false);
        self.app = app;
        self.run(commands).await;
    }

    /// A new console on the same store, its config changed by `change`.
    pub async fn restart_with(&mut self, change: impl FnOnce(&mut AppConfig)) {
        let area = self.terminal.backend().buffer().area;
        let theme = self.app.config.theme.clone();
        let (mut app, _) = Harness::fresh_app(area.width, area.height, theme, false);
        change(&mut app.config);
        let (app, commands) = App::new(app.config, anchor());
        self.app = app;
        self.app.resize(area.width, area.height);
        self.run(commands).await;
    }

    /// Executes commands and feeds the answers back until nothing is left.
    pub async fn run(&mut self, mut commands: Vec<Command>) {
        while !commands.is_empty() {
            let mut next = Vec::new();
            for command in commands {
                self.emitted.push(command.clone());
                let message = execute(&self.backend, None, command).await;
                next.extend(self.app.on_message(message));
            }
            commands = next;
        }
    }

    pub async fn key(&mut self, code: KeyCode, modifiers: KeyModifiers) {
        let commands = self.app.on_key(KeyEvent::new(code, modifiers));
        self.run(commands).await;
    }

    pub async fn keys(&mut self, text: &str) {
        for c in text.chars() {
            self.key(KeyCode::Char(c), KeyModifiers::NONE).await;
        }
    }

    pub async fn press(&mut self, code: KeyCode) {
        self.key(code, KeyModifiers::NONE).await;
    }

    pub fn screen(&mut self) -> String {
        self.terminal
            .draw(|frame| self.app.draw(frame))
            .expect("draw");
        let buffer = self.terminal.backend().buffer();
        let mut out = String::new();
        for y in 0..buffer.area.height {
            // A wide character covers the cells after it; skip those.
            let mut line = String::new();
            let mut x = 0;
            while x < buffer.area.width {
                let symbol = buffer[(x, y)].symbol();
                line.push_str(symbol);
                x += unicode_width::UnicodeWidthStr::width(symbol).max(1) as u16;
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }

    /// Opens the first review that is still only assigned (nothing typed
    /// yet) from the Reviews tab; its id.
    pub async fn open_fresh_review(&mut self) -> String {
        self.keys("2").await;
        let index = self
            .app
            .reviews
            .items
            .iter()
            .position(|item| item.status == gavel::domain::ReviewStatus::Assigned)
            .expect("an assigned review");
        for _ in 0..index {
            self.press(KeyCode::Down).await;
        }
        let id = self.app.reviews.items[index].review_id.clone();
        self.press(KeyCode::Enter).await;
        assert!(self.app.reviews.form.is_some(), "the form opens");
        id
    }

    pub fn selected(&self) -> String {
        self.app
            .queue
            .selected_item()
            .map(|item| item.workflow_id.clone())
            .unwrap_or_default()
    }
}

/// `adopt_frameworks` with the store judging at a fixed day, 2026-12-06:
/// New York's duties in effect, the EU's Annex III ones not yet (they are
/// from 2 December 2027), whatever day the tests run.
pub async fn adopt_frameworks_on_a_fixed_day(store: &Arc<LocalStore>, frameworks: &[&str]) {
    store.set_clock(gavel::clock::ManualClock::at(
        "2026-12-06T12:00:00Z".parse().expect("a time"),
    ));
    adopt_frameworks(store, frameworks).await;
}

/// Adopts `frameworks` on a seeded store as its organisation would: the
/// active set with them added, proposed by the demo user and approved by
/// a second policy admin.
pub async fn adopt_frameworks(store: &Arc<LocalStore>, frameworks: &[&str]) {
    use gavel::backend::GovernanceBackend;
    let proposer = LocalBackend::new(Arc::clone(store), Some(DEMO_USER.to_owned()));
    let active = proposer.policy_set(None).await.expect("active").source;
    let text = format!("{active}\n{}", frameworks.join("\n"));
    let proposed = proposer.propose_policy_set(&text).await.expect("propose");
    LocalBackend::new(
        Arc::clone(store),
        Some("priya.natarajan@northwind.example".to_owned()),
    )
    .decide_policy_set(proposed.version.version, true, Some("adopt the frameworks"))
    .await
    .expect("a second policy admin approves");
}
