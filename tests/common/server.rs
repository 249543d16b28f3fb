//! A real `gavel serve` child process on a loopback port.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

pub struct Server {
    pub child: Child,
    pub url: String,
    /// The store file (empty for a server on PostgreSQL).
    pub db: PathBuf,
    /// `--database-url` and the config naming the shared log key, for a
    /// server on PostgreSQL.
    database: Option<(String, PathBuf)>,
    stderr: Arc<Mutex<String>>,
}

impl Server {
    /// On a free port.
    pub fn start(db: &Path) -> Server {
        Server::start_on(db, "127.0.0.1:0")
    }

    /// On `listen` (a restart reuses the port its clients know).
    pub fn start_on(db: &Path, listen: &str) -> Server {
        Server::try_start_on(db, listen).expect("gavel serve did not start listening")
    }

    /// On a free port, with a config file of its own.
    pub fn start_with_config(db: &Path, config: &Path) -> Server {
        Server::try_start(db, "127.0.0.1:0", Some(config), &[])
            .expect("gavel serve did not start listening")
    }

    /// On `listen`, with a config file and environment variables.
    pub fn start_with(db: &Path, listen: &str, config: &Path, env: &[(&str, &str)]) -> Server {
        Server::try_start(db, listen, Some(config), env)
            .expect("gavel serve did not start listening")
    }

    fn try_start_on(db: &Path, listen: &str) -> Option<Server> {
        Server::try_start(db, listen, None, &[])
    }

    /// On a free port, on the PostgreSQL store at `url`, signing with the
    /// log key at `config`'s `[log] key_file` (servers on one database
    /// share it).
    pub fn start_on_database(url: &str, config: &Path) -> Server {
        Server::start_on_database_at(url, config, "127.0.0.1:0")
    }

    pub fn start_on_database_at(url: &str, config: &Path, listen: &str) -> Server {
        Server::try_start_on_database(url, config, listen)
            .expect("gavel serve did not start listening")
    }

    fn try_start_on_database(url: &str, config: &Path, listen: &str) -> Option<Server> {
        let mut command = Command::new(env!("CARGO_BIN_EXE_gavel"));
        command
            .arg("--config")
            .arg(config)
            .args(["--database-url", url]);
        let mut server = Server::spawn(command, listen)?;
        server.db = PathBuf::new();
        server.database = Some((url.to_owned(), config.to_owned()));
        Some(server)
    }

    fn try_start(
        db: &Path,
        listen: &str,
        config: Option<&Path>,
        env: &[(&str, &str)],
    ) -> Option<Server> {
        // The server signs the log with the store's key.
        let key = gavel::backend::local::logkey::default_path(db);
        gavel::backend::local::logkey::load_or_create(&key, db).expect("log key");
        let mut command = Command::new(env!("CARGO_BIN_EXE_gavel"));
        if let Some(config) = config {
            command.arg("--config").arg(config);
        }
        command.envs(env.iter().copied());
        command.arg("--db").arg(db);
        let mut server = Server::spawn(command, listen)?;
        server.db = db.to_owned();
        Some(server)
    }

    fn spawn(mut command: Command, listen: &str) -> Option<Server> {
        // Debug unless the test asked for another level.
        if !command.get_envs().any(|(name, _)| name == "RUST_LOG") {
            command.env("RUST_LOG", "debug");
        }
        let mut child = command
            .args(["serve", "--listen", listen])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start gavel serve");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let url = line
            .trim()
            .rsplit(' ')
            .next()
            .unwrap_or_default()
            .to_owned();
        if !url.starts_with("http://127.0.0.1:") && !url.starts_with("https://127.0.0.1:") {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        let stderr = Arc::new(Mutex::new(String::new()));
        let sink = Arc::clone(&stderr);
        let mut pipe = child.stderr.take().expect("stderr");
        std::thread::spawn(move || {
            let mut buffer = [0u8; 4096];
            while let Ok(n) = pipe.read(&mut buffer) {
                if n == 0 {
                    break;
                }
                if let Ok(mut log) = sink.lock() {
                    log.push_str(&String::from_utf8_lossy(&buffer[..n]));
                }
            }
        });
        Some(Server {
            child,
            url,
            db: PathBuf::new(),
            database: None,
            stderr,
        })
    }

    /// "127.0.0.1:PORT".
    pub fn address(&self) -> String {
        self.url
            .trim_start_matches("http://")
            .trim_start_matches("https://")
            .trim_end_matches('/')
            .to_owned()
    }

    /// Stops the server (as a crash or an outage would).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts it again on the same address and store.
    pub fn restart(&mut self) {
        self.stop();
        let address = self.address();
        // The port was just released; binding it again may take a moment.
        for _ in 0..50 {
            let started = match &self.database {
                Some((url, config)) => Server::try_start_on_database(url, config, &address),
                None => Server::try_start_on(&self.db, &address),
            };
            if let Some(server) = started {
                *self = server;
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("gavel serve did not start again on {address}");
    }

    pub fn log(&self) -> String {
        self.stderr
            .lock()
            .map(|log| log.clone())
            .unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
