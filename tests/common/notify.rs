//! Real receivers of notifications for the tests: an SMTP server
//! (`aiosmtpd`) and a webhook receiver checking signatures with the
//! Standard Webhooks reference verifier (`standardwebhooks`), both from
//! PyPI in the virtualenv `scripts/test` makes (`GAVEL_TEST_PYTHON`).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn python() -> PathBuf {
    let path = std::env::var_os("GAVEL_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/test-tools/venv/bin/python")
        });
    assert!(
        path.exists(),
        "the tests' Python is not installed at {}: run the tests with scripts/test, which installs it",
        path.display()
    );
    path
}

fn script(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/notify")
        .join(name)
}

/// Starts a helper and waits for its "listening on PORT" line.
fn start(args: &[&std::ffi::OsStr], ready: &str) -> (Child, u16) {
    let mut child = Command::new(python())
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start a Python helper");
    let stdout = child.stdout.take().expect("stdout");
    let mut reader = BufReader::new(stdout);
    let mut line = String::new();
    while reader.read_line(&mut line).unwrap_or(0) > 0 {
        if let Some(port) = line.trim().strip_prefix(ready) {
            let port = port.parse().expect("a port");
            std::thread::spawn(move || for _ in reader.lines() {});
            return (child, port);
        }
        line.clear();
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("{ready} never came");
}

/// A port nothing listens on now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free port")
}

fn records(file: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect()
}

/// Waits until `check` holds for the records, or fails with them.
fn wait_until(
    file: &Path,
    what: &str,
    check: impl Fn(&[serde_json::Value]) -> bool,
) -> Vec<serde_json::Value> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let now = records(file);
        if check(&now) {
            return now;
        }
        assert!(Instant::now() < deadline, "never {what}: {now:#?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub struct SmtpSink {
    child: Child,
    pub port: u16,
    file: PathBuf,
}

impl SmtpSink {
    /// On `port`; `delay` holds each answer back (to kill a sender
    /// mid-delivery).
    pub fn start(dir: &Path, port: u16, delay: Option<f64>) -> SmtpSink {
        let file = dir.join(format!("smtp-{port}.jsonl"));
        let script = script("smtp_sink.py");
        let port_text = port.to_string();
        let delay_text = delay.map(|delay| delay.to_string()).unwrap_or_default();
        let mut args: Vec<&std::ffi::OsStr> =
            vec![script.as_os_str(), port_text.as_ref(), file.as_os_str()];
        if delay.is_some() {
            args.push(delay_text.as_ref());
        }
        let (child, port) = start(&args, "smtp-sink: listening on ");
        SmtpSink { child, port, file }
    }

    /// The messages received so far.
    pub fn messages(&self) -> Vec<serde_json::Value> {
        records(&self.file)
            .into_iter()
            .filter(|record| record.get("receiving").is_none())
            .collect()
    }

    /// Waits for at least `count` messages.
    pub fn wait_for(&self, count: usize) -> Vec<serde_json::Value> {
        wait_until(&self.file, &format!("{count} messages"), |records| {
            records
                .iter()
                .filter(|r| r.get("receiving").is_none())
                .count()
                >= count
        })
        .into_iter()
        .filter(|record| record.get("receiving").is_none())
        .collect()
    }

    /// The Message-IDs of every conversation that got as far as the data
    /// (with a delay set), in order, finished or not.
    pub fn attempts(&self) -> Vec<String> {
        records(&self.file)
            .iter()
            .filter_map(|r| r["receiving"].as_str().map(str::to_owned))
            .collect()
    }

    /// Waits until a message's data has arrived (with a delay set).
    pub fn wait_receiving(&self) -> String {
        let records = wait_until(&self.file, "receiving", |records| {
            records.iter().any(|r| r.get("receiving").is_some())
        });
        records
            .iter()
            .find_map(|r| r["receiving"].as_str().map(str::to_owned))
            .expect("a Message-ID")
    }

    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.stop();
    }
}

pub struct WebhookReceiver {
    child: Child,
    pub url: String,
    file: PathBuf,
}

impl WebhookReceiver {
    pub fn start(dir: &Path, secret: &str) -> WebhookReceiver {
        let file = dir.join("webhooks.jsonl");
        let script = script("webhook_receiver.py");
        let (child, port) = start(
            &[script.as_os_str(), secret.as_ref(), file.as_os_str()],
            "webhook-receiver: listening on ",
        );
        WebhookReceiver {
            child,
            url: format!("http://127.0.0.1:{port}"),
            file,
        }
    }

    pub fn records(&self) -> Vec<serde_json::Value> {
        records(&self.file)
    }

    pub fn wait_for(
        &self,
        what: &str,
        check: impl Fn(&[serde_json::Value]) -> bool,
    ) -> Vec<serde_json::Value> {
        wait_until(&self.file, what, check)
    }
}

impl Drop for WebhookReceiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A notification worker sending through `sink`, reading the time from
/// `clock`.
pub fn worker(
    store: &std::sync::Arc<gavel::backend::local::LocalStore>,
    sink: &SmtpSink,
    clock: &std::sync::Arc<std::sync::Mutex<chrono::DateTime<chrono::Utc>>>,
) -> gavel::notify::worker::Worker {
    let settings = gavel::notify::settings::NotifySettings {
        smtp_url: Some(format!("smtp://127.0.0.1:{}", sink.port)),
        from: Some("Gavel <gavel@example.com>".into()),
        ..Default::default()
    };
    let clock = std::sync::Arc::clone(clock);
    gavel::notify::worker::Worker::new(std::sync::Arc::clone(store), settings, 5)
        .expect("worker")
        .with_clock(std::sync::Arc::new(move || *clock.lock().expect("clock")))
}
