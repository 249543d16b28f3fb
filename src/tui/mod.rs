//! The full-screen console: terminal lifecycle, the event loop, screens.
//!
//! Layer 7, a face (docs/architecture.md): may import the settings, services,
//! parts, contract, rules and ground. `action`, `mode`, `tab`, `hints` and
//! `keymap` sit below the screens, widgets and the app.
//!
//! Nothing here awaits the backend: screens return `Command`s, the worker
//! runs them, and answers come back as `Message`s through one channel.

pub mod action;
pub mod app;
pub mod command;
pub mod hints;
pub mod keymap;
pub mod memory;
pub mod mode;
pub mod screens;
pub mod tab;
pub mod terminal;
pub mod theme;
pub mod watch;
pub mod widgets;
mod worker;

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use ratatui::crossterm::event::{self as terminal_event, Event, KeyEventKind};
use tokio::sync::mpsc;

use self::app::{App, AppConfig};
use self::command::Command;
use self::worker::Worker;
use crate::backend::GovernanceBackend;
use crate::backend::cache::syncer::Syncer;

/// How often the spinner turns while something loads.
const BUSY_TICK: Duration = Duration::from_millis(100);
/// How often ages are refreshed when nothing else happens.
const IDLE_TICK: Duration = Duration::from_secs(30);
/// The most queued input events handled before drawing again.
const MAX_BURST: usize = 512;

/// Runs the console until the user quits or a signal ends it.
pub async fn run(
    backend: Arc<dyn GovernanceBackend>,
    syncer: Option<Arc<Syncer>>,
    config: AppConfig,
) -> color_eyre::Result<()> {
    let (mut terminal, _guard) = terminal::enter()?;
    let (answers, mut messages) = mpsc::unbounded_channel();
    // The sync loop runs beside the console; its reports arrive like input.
    let mut sync_status = syncer.as_ref().map(|syncer| syncer.subscribe());
    let sync_task = syncer.clone().map(|syncer| tokio::spawn(syncer.run()));
    let watch_task = tokio::spawn(watch::watch_changes(Arc::clone(&backend), answers.clone()));
    let mut worker = Worker::new(backend, syncer, answers);
    let (mut app, mut initial) = App::new(config, Utc::now());
    if let Some(status) = &mut sync_status {
        initial.extend(app.on_sync(status.borrow_and_update().clone()));
    }
    let size = terminal.size()?;
    app.resize(size.width, size.height);
    initial
        .into_iter()
        .for_each(|command| worker.submit(command));

    let mut events = spawn_input();
    #[cfg(unix)]
    let (mut terminate, mut hangup) = {
        use tokio::signal::unix::{SignalKind, signal};
        (
            signal(SignalKind::terminate())?,
            signal(SignalKind::hangup())?,
        )
    };
    let mut dirty = true;
    let mut ticker = Ticker::new(tokio::time::Instant::now(), IDLE_TICK);
    loop {
        if app.redraw {
            terminal.clear()?;
            app.redraw = false;
            dirty = true;
        }
        if dirty {
            terminal.draw(|frame| app.draw(frame))?;
            dirty = false;
        }
        let tick = if app.is_busy() { BUSY_TICK } else { IDLE_TICK };
        let deadline = ticker.deadline(tokio::time::Instant::now(), tick);
        let mut commands: Vec<Command> = Vec::new();
        #[cfg(unix)]
        let signalled = async {
            tokio::select! {
                _ = terminate.recv() => {},
                _ = hangup.recv() => {},
            }
        };
        #[cfg(not(unix))]
        let signalled = std::future::pending::<()>();
        tokio::select! {
            event = events.recv() => match event {
                Some(Ok(event)) => {
                    // What a key acts on is dated now, not at the last tick.
                    app.now = Utc::now();
                    dirty |= handle_event(&mut app, event, &mut commands);
                    // Take everything already waiting before drawing, so a
                    // burst of resizes or keys costs one frame.
                    for _ in 0..MAX_BURST {
                        match events.try_recv() {
                            Ok(Ok(event)) => dirty |= handle_event(&mut app, event, &mut commands),
                            Ok(Err(err)) => return Err(err.into()),
                            Err(_) => break,
                        }
                    }
                }
                Some(Err(err)) => return Err(err.into()),
                None => break,
            },
            Some(message) = messages.recv() => {
                app.now = Utc::now();
                commands.extend(app.on_message(message));
                while let Ok(message) = messages.try_recv() {
                    commands.extend(app.on_message(message));
                }
                dirty = true;
            }
            Some(status) = sync_changed(&mut sync_status) => {
                commands.extend(app.on_sync(status));
                dirty = true;
            }
            _ = tokio::time::sleep_until(deadline) => {
                ticker.fired(tokio::time::Instant::now(), tick);
                let (changed, saves) = app.tick(Utc::now());
                dirty |= changed;
                commands.extend(saves);
            }
            _ = signalled => app.quit = true,
        }
        commands
            .into_iter()
            .for_each(|command| worker.submit(command));
        if app.quit {
            break;
        }
        if let Some(text) = app.clipboard.take() {
            terminal::copy_to_clipboard(&mut terminal, &text)?;
        }
        if let Some(edit) = app.external_edit.take() {
            let result = terminal::edit_externally(&mut terminal, &edit.text)?;
            app.now = Utc::now();
            app.on_edited(edit.target, result)
                .into_iter()
                .for_each(|command| worker.submit(command));
            dirty = true;
        }
        if app.suspend {
            app.suspend = false;
            terminal::suspend(&mut terminal)?;
            dirty = true;
        }
    }
    // An unsaved draft is written before leaving, and waited for.
    for command in app.flush() {
        worker.run_now(command).await;
    }
    // Whatever is queued stays in the outbox for the next start or `gavel sync`.
    watch_task.abort();
    if let Some(task) = sync_task {
        task.abort();
    }
    terminal::restore();
    Ok(())
}

/// When the clock next ticks: a deadline kept across wakeups, so that
/// frequent ones (the sync loop's status every few seconds, keys) cannot
/// keep postponing it and freeze the ages on screen.
#[derive(Debug, Clone, Copy)]
struct Ticker<T> {
    next: T,
}

impl<T: Copy + Ord + std::ops::Add<Duration, Output = T>> Ticker<T> {
    fn new(now: T, period: Duration) -> Self {
        Ticker { next: now + period }
    }

    /// The deadline for this wait: the one already set, or sooner when the
    /// period just got shorter (the console became busy).
    fn deadline(&mut self, now: T, period: Duration) -> T {
        self.next = self.next.min(now + period);
        self.next
    }

    /// The tick happened: the next one is a period away.
    fn fired(&mut self, now: T, period: Duration) {
        self.next = now + period;
    }
}

/// The next sync status, or never when there is no sync loop.
async fn sync_changed(
    status: &mut Option<tokio::sync::watch::Receiver<crate::backend::sync::status::SyncStatus>>,
) -> Option<crate::backend::sync::status::SyncStatus> {
    match status {
        Some(receiver) => match receiver.changed().await {
            Ok(()) => Some(receiver.borrow_and_update().clone()),
            Err(_) => std::future::pending().await,
        },
        None => std::future::pending().await,
    }
}

/// Reads terminal input on its own thread. crossterm's blocking reader is
/// the dependable one; the channel lets the loop take a whole burst at once.
fn spawn_input() -> mpsc::UnboundedReceiver<std::io::Result<Event>> {
    let (sender, receiver) = mpsc::unbounded_channel();
    std::thread::spawn(move || {
        loop {
            let event = match terminal_event::poll(Duration::from_millis(250)) {
                Ok(true) => terminal_event::read(),
                Ok(false) if sender.is_closed() => return,
                Ok(false) => continue,
                Err(err) => Err(err),
            };
            let failed = event.is_err();
            if sender.send(event).is_err() || failed {
                return;
            }
        }
    });
    receiver
}

/// Feeds one terminal event to the app; true when the screen must redraw.
fn handle_event(app: &mut App, event: Event, commands: &mut Vec<Command>) -> bool {
    match event {
        Event::Key(key) if key.kind != KeyEventKind::Release => commands.extend(app.on_key(key)),
        Event::Paste(text) => commands.extend(app.on_paste(&text)),
        Event::Mouse(mouse) => commands.extend(app.on_mouse(mouse)),
        Event::Resize(width, height) => {
            app.resize(width, height);
            app.redraw = true;
        }
        _ => return false,
    }
    true
}

#[cfg(test)]
mod ticker_tests {
    use std::time::{Duration, Instant};

    use super::Ticker;

    #[test]
    fn wakeups_do_not_postpone_the_tick() {
        let start = Instant::now();
        let period = Duration::from_secs(30);
        let mut ticker = Ticker::new(start, period);
        // The sync loop wakes the console every 15 s: the tick stays due at 30 s.
        for seconds in [0, 15, 29] {
            let now = start + Duration::from_secs(seconds);
            assert_eq!(
                ticker.deadline(now, period),
                start + period,
                "at {seconds} s"
            );
        }
        ticker.fired(start + period, period);
        assert_eq!(
            ticker.deadline(start + Duration::from_secs(45), period),
            start + Duration::from_secs(60)
        );
        // Busy: a shorter period brings the tick forward at once.
        let busy = Duration::from_millis(100);
        let now = start + Duration::from_secs(46);
        assert_eq!(ticker.deadline(now, busy), now + busy);
    }
}
