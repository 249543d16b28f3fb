//! The console's figures, from the real `App` driven on a `TestBackend`
//! (and a crossterm backend writing into memory, to count bytes).

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use gavel::backend::local::{LocalBackend, LocalStore};
use gavel::backend::{GovernanceBackend, QueueFilter, QueueItem, QueueQuery, QueueSort};
use gavel::seed::DEMO_USER;
use gavel::tui::app::{App, AppConfig};
use gavel::tui::command::{Command, execute};
use gavel::tui::keymap::Keymap;
use gavel::tui::theme::Theme;
use ratatui::backend::{CrosstermBackend, TestBackend};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::{Constraint, Rect};
use ratatui::widgets::{Cell, Row, Table, TableState};
use ratatui::{Terminal, TerminalOptions, Viewport};

use crate::report::{Figure, ms, percentiles};

pub const WIDTH: u16 = 120;
pub const HEIGHT: u16 = 40;

/// The console on a store, commands executed inline (as the worker would,
/// without the channel).
pub struct Driver<B: ratatui::backend::Backend> {
    pub app: App,
    backend: Arc<dyn GovernanceBackend>,
    pub terminal: Terminal<B>,
}

/// The demo user's console on the embedded store.
pub fn local(store: &Arc<LocalStore>) -> Arc<dyn GovernanceBackend> {
    Arc::new(LocalBackend::new(Arc::clone(store), Some(DEMO_USER.into())))
}

fn config() -> AppConfig {
    AppConfig {
        theme: Theme::load("default", None).expect("theme"),
        keymap: Keymap::default_keymap(),
        sla_days: 3,
        read_only: false,
        location: "local bench.db".into(),
        sync_state: "saved locally".into(),
        notice: None,
        witness_warning: None,
        start_tab: gavel::tui::tab::Tab::Queue,
        views: gavel::config::SavedView::defaults(),
        memory: Default::default(),
        memory_file: None,
    }
}

impl<B: ratatui::backend::Backend> Driver<B> {
    /// Opens the console on a store and runs until its first frame with
    /// queue rows.
    pub async fn open(store: &Arc<LocalStore>, terminal: Terminal<B>) -> Driver<B> {
        Driver::open_on(local(store), terminal).await
    }

    /// The same on any backend (a server, its offline cache).
    pub async fn open_on(backend: Arc<dyn GovernanceBackend>, terminal: Terminal<B>) -> Driver<B> {
        let (mut app, commands) = App::new(config(), chrono::Utc::now());
        app.resize(WIDTH, HEIGHT);
        let mut driver = Driver {
            app,
            backend,
            terminal,
        };
        driver.run(commands).await;
        driver.draw();
        driver
    }

    pub async fn run(&mut self, mut commands: Vec<Command>) {
        while !commands.is_empty() {
            let mut next = Vec::new();
            for command in commands {
                let message = execute(self.backend.as_ref(), None, command).await;
                next.extend(self.app.on_message(message));
            }
            commands = next;
        }
    }

    pub fn draw(&mut self) {
        let app = &self.app;
        self.terminal.draw(|frame| app.draw(frame)).expect("draw");
    }

    /// A key, what it asks of the store, and the redraw; then the queue
    /// count, which the real console's worker runs beside the page (the
    /// frame shows the rows first and the count when it comes). Returns
    /// (key to redrawn frame, the count's own time).
    pub async fn key_timed(&mut self, code: KeyCode) -> (Duration, Duration) {
        let started = Instant::now();
        let commands = self.app.on_key(KeyEvent::new(code, KeyModifiers::NONE));
        let (counts, rest): (Vec<Command>, Vec<Command>) = commands
            .into_iter()
            .partition(|command| matches!(command, Command::CountQueue { .. }));
        let mut counts = counts;
        let mut commands = rest;
        while !commands.is_empty() {
            let mut next = Vec::new();
            for command in commands {
                let message = execute(self.backend.as_ref(), None, command).await;
                next.extend(self.app.on_message(message));
            }
            let (more_counts, rest): (Vec<Command>, Vec<Command>) = next
                .into_iter()
                .partition(|command| matches!(command, Command::CountQueue { .. }));
            counts.extend(more_counts);
            commands = rest;
        }
        self.draw();
        let frame = started.elapsed();
        let counting = Instant::now();
        self.run(counts).await;
        self.draw();
        (frame, counting.elapsed())
    }

    pub async fn key(&mut self, code: KeyCode) -> Duration {
        self.key_timed(code).await.0
    }
}

pub fn test_terminal() -> Terminal<TestBackend> {
    Terminal::new(TestBackend::new(WIDTH, HEIGHT)).expect("terminal")
}

/// The first page of the demo user's queue, read with one bare query.
fn bare_first_page(path: &std::path::Path) -> Duration {
    let started = Instant::now();
    let conn = rusqlite::Connection::open(path).expect("open");
    let mut statement = conn
        .prepare(
            "SELECT workflow_id, agent_name, team, current_step, current_role, urgency, waiting_since
             FROM workflows WHERE status = 'in_progress'
               AND current_role IN ('technical_lead', 'data_steward', 'ethics_reviewer', 'compliance_officer')
             ORDER BY waiting_since, workflow_id LIMIT 100",
        )
        .expect("prepare");
    let rows = statement
        .query_map([], |row| row.get::<_, String>(0))
        .expect("query")
        .count();
    assert!(rows > 0);
    started.elapsed()
}

/// A plain ratatui table of the visible rows, the reference for a redraw.
pub fn bare_table(terminal: &mut Terminal<TestBackend>, items: &[QueueItem], selected: usize) {
    let rows: Vec<Row> = items
        .iter()
        .map(|item| {
            Row::new(vec![
                Cell::from(item.agent_name.clone()),
                Cell::from(item.team.clone()),
                Cell::from(item.triggered_by_policy.clone()),
                Cell::from(item.risk_tier.as_str()),
                Cell::from(item.workflow_id.clone()),
            ])
        })
        .collect();
    let table = Table::new(
        rows,
        [
            Constraint::Fill(3),
            Constraint::Fill(2),
            Constraint::Fill(2),
            Constraint::Length(6),
            Constraint::Length(10),
        ],
    );
    let mut state = TableState::default().with_selected(Some(selected));
    terminal
        .draw(|frame| frame.render_stateful_widget(table, frame.area(), &mut state))
        .expect("draw");
}

/// Counts what a crossterm backend writes.
#[derive(Clone, Default)]
pub struct Counter(Arc<AtomicUsize>);

impl Write for Counter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.fetch_add(bytes.len(), Ordering::Relaxed);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

pub struct ConsoleRun {
    /// The first frame's figure first, then the keys', in one order for
    /// every backend (so two runs compare figure by figure).
    pub figures: Vec<Figure>,
    /// Median cost of one frame of the queue.
    pub frame: Duration,
}

/// Times a redraw of an unchanged screen.
fn frame_cost<B: ratatui::backend::Backend>(driver: &mut Driver<B>, presses: Presses) -> Duration {
    let mut samples = Vec::new();
    for _ in 0..presses.times(200) {
        let started = Instant::now();
        driver.draw();
        samples.push(started.elapsed());
    }
    percentiles(&samples).0
}

/// How many times each key is pressed: enough for a p99 when measuring, a
/// tenth in a smoke run (which only proves the figures still work).
#[derive(Clone, Copy)]
pub enum Presses {
    Measure,
    Smoke,
}

impl Presses {
    pub fn of(smoke: bool) -> Presses {
        if smoke {
            Presses::Smoke
        } else {
            Presses::Measure
        }
    }

    fn times(self, measured: usize) -> usize {
        match self {
            Presses::Measure => measured,
            Presses::Smoke => (measured / 10).max(4),
        }
    }
}

/// Every console figure on the store at `path` (`label` says its size).
pub async fn figures(path: &std::path::Path, label: &str, presses: Presses) -> ConsoleRun {
    let bare_page = bare_first_page(path);
    let mut run = measure(
        async { local(&LocalStore::open(path).expect("store")) },
        label,
        format!("bare SQLite read of the page: {}", ms(bare_page)),
        presses,
    )
    .await;
    run.figures.extend(watched(path, label, presses).await);
    run
}

/// What watching the store for other people's commits costs: one read of
/// the change mark, and the key latency while a watcher reads it a hundred
/// times as often as the console does (every 10 ms rather than 1 s).
async fn watched(path: &std::path::Path, label: &str, presses: Presses) -> Vec<Figure> {
    let store = LocalStore::open(path).expect("store");
    let reads: Vec<Duration> = (0..presses.times(1000))
        .map(|_| {
            let started = Instant::now();
            store.change_mark().expect("mark");
            started.elapsed()
        })
        .collect();
    let (read_p50, read_p99) = percentiles(&reads);
    let watching = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let watcher = {
        let (store, watching) = (Arc::clone(&store), Arc::clone(&watching));
        std::thread::spawn(move || {
            let mut marks = 0u64;
            while watching.load(Ordering::Relaxed) {
                store.change_mark().expect("mark");
                marks += 1;
                std::thread::sleep(Duration::from_millis(10));
            }
            marks
        })
    };
    let mut driver = Driver::open(&store, test_terminal()).await;
    let mut samples = Vec::new();
    for _ in 0..presses.times(300) {
        samples.push(driver.key_timed(KeyCode::Char('j')).await.0);
    }
    watching.store(false, Ordering::Relaxed);
    let marks = watcher.join().expect("watcher");
    let (p50, p99) = percentiles(&samples);
    vec![
        Figure::new(
            format!("one read of the change mark the console watches (PRAGMA data_version; {label}) p50 / p99"),
            format!("{} / {}", ms(read_p50), ms(read_p99)),
        ),
        Figure::new(
            format!("keypress to redraw, move selection (j), while the store is watched every 10 ms ({marks} reads; {label}) p50 / p99"),
            format!("{} / {}", ms(p50), ms(p99)),
        )
        .target("p99 <= 16 ms", p99 <= Duration::from_millis(16)),
    ]
}

/// Every console figure on the backend `open` gives, its opening counted
/// in the first frame; `reference` is what that frame is compared with.
pub async fn measure(
    open: impl Future<Output = Arc<dyn GovernanceBackend>>,
    label: &str,
    reference: String,
    presses: Presses,
) -> ConsoleRun {
    let started = Instant::now();
    let mut driver = Driver::open_on(open.await, test_terminal()).await;
    let first_frame = started.elapsed();
    assert!(
        !driver.app.queue.rows.is_empty(),
        "the first frame has queue rows"
    );
    let frame = frame_cost(&mut driver, presses);

    let mut figures = vec![
        Figure::new(
            format!("time to first queue frame ({label})"),
            ms(first_frame),
        )
        .target("<= 200 ms", first_frame <= Duration::from_millis(200))
        .reference(reference),
    ];

    // The same visible rows in a bare table, for the redraw reference.
    let visible: Vec<QueueItem> = driver.app.queue.rows.iter().take(36).cloned().collect();
    let mut bare_terminal = test_terminal();
    let mut bare = Vec::new();
    for selected in 0..presses.times(200) {
        let started = Instant::now();
        bare_table(
            &mut bare_terminal,
            &visible,
            selected % visible.len().max(1),
        );
        bare.push(started.elapsed());
    }
    let (bare_p50, bare_p99) = percentiles(&bare);

    let keys: [(&str, KeyCode, usize); 4] = [
        ("move selection (j)", KeyCode::Char('j'), 300),
        ("page down", KeyCode::PageDown, 100),
        ("jump to end (G) and back (g)", KeyCode::Char('G'), 40),
        ("apply a filter (x: risk tier)", KeyCode::Char('x'), 40),
    ];
    let mut counts = Vec::new();
    for (what, code, count) in keys {
        let mut samples = Vec::new();
        for press in 0..presses.times(count) {
            let (frame, count) = driver.key_timed(code).await;
            samples.push(frame);
            if code == KeyCode::Char('x') {
                counts.push(count);
            }
            if code == KeyCode::Char('G') {
                // Back to the start, so every G travels the whole queue.
                samples.push(driver.key(KeyCode::Char('g')).await);
            }
            if code == KeyCode::PageDown && press % 40 == 39 {
                driver.key(KeyCode::Char('g')).await;
            }
        }
        let (p50, p99) = percentiles(&samples);
        figures.push(
            Figure::new(
                format!("keypress to redraw, {what} ({label}) p50 / p99"),
                format!("{} / {}", ms(p50), ms(p99)),
            )
            .target("p99 <= 16 ms", p99 <= Duration::from_millis(16))
            .reference(format!(
                "bare ratatui Table of the same rows: {} / {}",
                ms(bare_p50),
                ms(bare_p99)
            )),
        );
    }
    let (count_p50, count_p99) = percentiles(&counts);
    figures.push(Figure::new(
        format!("queue count after a filter change ({label}; shown when ready, the rows do not wait) p50 / p99"),
        format!("{} / {}", ms(count_p50), ms(count_p99)),
    ));
    ConsoleRun { figures, frame }
}

/// Bytes a one-row move sends to a real terminal backend.
pub async fn bytes_for_one_row_move(path: &std::path::Path) -> usize {
    let store = LocalStore::open(path).expect("store");
    let counter = Counter::default();
    let terminal = Terminal::with_options(
        CrosstermBackend::new(counter.clone()),
        TerminalOptions {
            viewport: Viewport::Fixed(Rect::new(0, 0, WIDTH, HEIGHT)),
        },
    )
    .expect("terminal");
    let mut driver = Driver::open(&store, terminal).await;
    // Settle the preview of the first row, then move once.
    driver.key(KeyCode::Char('j')).await;
    driver.key(KeyCode::Char('k')).await;
    let before = counter.0.load(Ordering::Relaxed);
    driver.key(KeyCode::Char('j')).await;
    counter.0.load(Ordering::Relaxed) - before
}

/// A browsing session, for the RSS figure (run in its own process).
pub async fn browse(path: &std::path::Path, every_tab: bool) {
    let store = LocalStore::open(path).expect("store");
    let mut driver = Driver::open(&store, test_terminal()).await;
    for _ in 0..3 {
        for _ in 0..200 {
            driver.key(KeyCode::Char('j')).await;
        }
        for _ in 0..100 {
            driver.key(KeyCode::PageDown).await;
        }
        driver.key(KeyCode::Char('G')).await;
        for _ in 0..50 {
            driver.key(KeyCode::PageUp).await;
        }
        driver.key(KeyCode::Char('m')).await; // every workflow
        driver.key(KeyCode::Char('G')).await;
        driver.key(KeyCode::Char('x')).await;
        driver.key(KeyCode::Char('s')).await;
        driver.key(KeyCode::Char('g')).await;
        driver.key(KeyCode::Enter).await; // the step view
        driver.key(KeyCode::Esc).await;
        driver.key(KeyCode::Char('c')).await;
    }
    if every_tab {
        // Each tab, and far down the Audits list (read a page at a time).
        for tab in ['2', '3', '4', '5'] {
            driver.key(KeyCode::Char(tab)).await;
            if tab == '3' {
                for _ in 0..1_000 {
                    driver.key(KeyCode::Char('j')).await;
                }
                let audits = &driver.app.audits;
                assert!(
                    audits.agents.len() > 1_000 || audits.selected + 1 == audits.agents.len(),
                    "the Audits list reads on as it is scrolled"
                );
            }
        }
    }
    let backend = local(&store);
    let all = QueueQuery::first(QueueFilter::default(), QueueSort::Age, 50);
    assert!(!backend.queue(&all).await.expect("queue").items.is_empty());
}
