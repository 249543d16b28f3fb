//! A throwaway PostgreSQL cluster for one test: `initdb` into a temporary
//! directory, `pg_ctl start` on a free loopback port, stopped and removed
//! when dropped. The server binaries come from `GAVEL_PG_BIN`, else the
//! newest `/usr/lib/postgresql/<version>/bin` (Debian keeps them off
//! `PATH`), else `PATH`. `initdb` refuses to run as root: as root, the
//! cluster runs as the OS `postgres` user (`runuser`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The password of the cluster's superuser `gavel` (connections over TCP
/// must give it: the cluster asks for SCRAM).
pub const PASSWORD: &str = "gavel-test-password";

pub struct Cluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    pub port: u16,
    as_postgres: bool,
    settings: Settings,
}

/// How a cluster runs.
#[derive(Clone, Copy, Default)]
struct Settings {
    /// Whether commits reach the disk: off for tests, which need speed
    /// and not durability across a machine crash; on for benchmarks.
    fsync: bool,
    /// Whether it also accepts TLS, with a certificate for 127.0.0.1
    /// signed by a CA of its own ([`Cluster::root_certificate`]).
    tls: bool,
}

/// Where the server binaries are, or a panic saying how to install them.
fn server_binaries() -> PathBuf {
    if let Some(dir) = std::env::var_os("GAVEL_PG_BIN") {
        return PathBuf::from(dir);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .filter_map(|entry| entry.ok())
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return bin;
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .find(|dir| dir.join("initdb").is_file())
        .expect(
            "no PostgreSQL server found (initdb): run the tests with scripts/test, which installs \
             it (apt-get install postgresql), or set GAVEL_PG_BIN to its bin directory",
        )
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

fn check(output: Output, what: &str) -> Output {
    assert!(
        output.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

impl Cluster {
    /// A new cluster, started, with the superuser `gavel` (password
    /// [`PASSWORD`]) and an empty database `gavel`.
    pub fn start() -> Cluster {
        Cluster::start_with(Settings::default())
    }

    /// The same with every commit flushed to disk, as a production server
    /// runs: for measuring.
    pub fn start_durable() -> Cluster {
        Cluster::start_with(Settings {
            fsync: true,
            ..Settings::default()
        })
    }

    /// The same accepting TLS too, with a certificate for 127.0.0.1 from a
    /// CA of its own (made with `openssl`).
    pub fn start_with_tls() -> Cluster {
        Cluster::start_with(Settings {
            tls: true,
            ..Settings::default()
        })
    }

    fn start_with(settings: Settings) -> Cluster {
        let bin = server_binaries();
        let dir = tempfile::Builder::new()
            .prefix("gavel-pg-")
            .tempdir()
            .expect("tempdir");
        if settings.tls {
            make_certificate(dir.path());
        }
        let as_postgres = is_root();
        if as_postgres {
            // The cluster's own user must own its directory.
            check(
                Command::new("chown")
                    .args(["-R", "postgres:postgres"])
                    .arg(dir.path())
                    .output()
                    .expect("chown"),
                "chown",
            );
        }
        let cluster = Cluster {
            port: free_port(),
            dir,
            bin,
            as_postgres,
            settings,
        };
        let pwfile = cluster.dir.path().join("pwfile");
        std::fs::write(&pwfile, PASSWORD).expect("pwfile");
        if as_postgres {
            check(
                Command::new("chown")
                    .arg("postgres:postgres")
                    .arg(&pwfile)
                    .output()
                    .expect("chown"),
                "chown",
            );
        }
        cluster.run(
            "initdb",
            &[
                "-D",
                &cluster.data().display().to_string(),
                "-U",
                "gavel",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "--pwfile",
                &pwfile.display().to_string(),
                "-E",
                "UTF8",
                "--no-sync",
            ],
        );
        cluster.pg_ctl_start();
        cluster.create_database("gavel");
        cluster
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn socket_dir(&self) -> &Path {
        self.dir.path()
    }

    /// A server binary, as the cluster's user.
    fn run(&self, program: &str, args: &[&str]) -> Output {
        let program_path = self.bin.join(program);
        let mut command = if self.as_postgres {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(&program_path);
            command
        } else {
            Command::new(&program_path)
        };
        check(
            command
                .args(args)
                .current_dir(self.dir.path())
                .env_remove("PGPASSWORD")
                .output()
                .unwrap_or_else(|err| panic!("{}: {err}", program_path.display())),
            program,
        )
    }

    fn pg_ctl_start(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync={} -c max_connections=200{}",
            self.port,
            self.socket_dir().display(),
            if self.settings.fsync { "on" } else { "off" },
            if self.settings.tls {
                format!(
                    " -c ssl=on -c ssl_cert_file={} -c ssl_key_file={}",
                    self.dir.path().join("server.crt").display(),
                    self.dir.path().join("server.key").display()
                )
            } else {
                String::new()
            }
        );
        self.run(
            "pg_ctl",
            &[
                "start",
                "-D",
                &self.data().display().to_string(),
                "-l",
                &self.dir.path().join("server.log").display().to_string(),
                "-o",
                &options,
                "-w",
                "-t",
                "60",
            ],
        );
    }

    /// `postgres://gavel:PASSWORD@127.0.0.1:PORT/DATABASE`.
    pub fn url(&self, database: &str) -> String {
        format!(
            "postgres://gavel:{PASSWORD}@127.0.0.1:{}/{database}",
            self.port
        )
    }

    /// The same without the password (it must come from elsewhere).
    pub fn url_without_password(&self, database: &str) -> String {
        format!("postgres://gavel@127.0.0.1:{}/{database}", self.port)
    }

    /// Another empty database in the cluster.
    pub fn create_database(&self, name: &str) -> String {
        self.run(
            "createdb",
            &[
                "-h",
                &self.socket_dir().display().to_string(),
                "-p",
                &self.port.to_string(),
                "-U",
                "gavel",
                name,
            ],
        );
        self.url(name)
    }

    /// Stops the server at once (as a crash would), keeping its data.
    pub fn stop(&self) {
        self.run(
            "pg_ctl",
            &[
                "stop",
                "-D",
                &self.data().display().to_string(),
                "-m",
                "immediate",
                "-w",
            ],
        );
    }

    /// Starts it again on the same port.
    pub fn restart(&self) {
        self.pg_ctl_start();
    }

    /// The certificate authority that signed the TLS certificate of a
    /// cluster started with TLS: the root that verifies it.
    pub fn root_certificate(&self) -> PathBuf {
        self.dir.path().join("ca.crt")
    }

    /// What the server logged (for a failing test's message).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // Best effort: a cluster already stopped says so and that is fine.
        let program = self.bin.join("pg_ctl");
        let data = self.data();
        let mut command = if self.as_postgres {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(&program);
            command
        } else {
            Command::new(&program)
        };
        let _ = command
            .args(["stop", "-D"])
            .arg(&data)
            .args(["-m", "immediate", "-w"])
            .output();
    }
}

/// In `dir`: a certificate authority (`ca.crt`) and the server's key and
/// certificate for 127.0.0.1 signed by it, the key readable by its owner
/// only (PostgreSQL refuses it otherwise). A real chain, as rustls will not
/// take a self-signed CA certificate as the server's own.
fn make_certificate(dir: &Path) {
    let openssl = |args: &[&str], what: &str| {
        check(
            Command::new("openssl")
                .args(args)
                .current_dir(dir)
                .output()
                .expect("openssl"),
            what,
        );
    };
    openssl(
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=Gavel test CA",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
        ],
        "openssl: the CA",
    );
    openssl(
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
        ],
        "openssl: the server's request",
    );
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
    )
    .expect("extensions");
    openssl(
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "1",
            "-extfile",
            "server.ext",
            "-out",
            "server.crt",
        ],
        "openssl: the server's certificate",
    );
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        dir.join("server.key"),
        std::fs::Permissions::from_mode(0o600),
    )
    .expect("key mode");
}

/// A loopback port nobody listens on now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free port")
}

/// The config of servers sharing one database: a new log key in `dir`
/// named by `[log] key_file` (every server on the database signs with
/// it), then `more` (other sections). Its path.
pub fn shared_server_config(dir: &Path, more: &str) -> PathBuf {
    let key = dir.join("log.key");
    gavel::backend::local::logkey::load_or_create(&key, Path::new("gavel")).expect("log key");
    let config = dir.join("config.toml");
    std::fs::write(
        &config,
        format!("[log]\nkey_file = {:?}\n{more}", key.display().to_string()),
    )
    .expect("config");
    config
}
