//! A real OpenID provider for the tests: panva's `oidc-provider` (OpenID
//! Certified) run by Node.js from `tests/oidc/provider.mjs`, on loopback,
//! with accounts and their directory groups. `scripts/test` installs it and
//! names it in `GAVEL_OIDC_MODULES`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use gavel::auth::http_client::ProviderClient;
use gavel::auth::login;
use gavel::auth::session::Session;
use gavel::auth::{AuthConfig, Bearer};

pub const CLIENT_ID: &str = "gavel-cli";
pub const AUDIENCE: &str = "gavel";

/// The directory group that gives a Gavel role in the tests' mapping.
pub fn group_of(role: &str) -> String {
    format!("gavel-{role}")
}

pub struct Provider {
    child: Child,
    pub issuer: String,
}

fn modules() -> PathBuf {
    let path = std::env::var_os("GAVEL_OIDC_MODULES")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/test-tools/oidc/node_modules")
        });
    assert!(
        path.join("oidc-provider/package.json").exists(),
        "oidc-provider is not installed at {}: run the tests with scripts/test, which installs it",
        path.display()
    );
    path
}

impl Provider {
    /// A provider whose access tokens live `access_ttl` seconds, with these
    /// accounts: `{"id": {"email", "name", "groups"}}`.
    pub fn start(dir: &Path, accounts: serde_json::Value, access_ttl: u64) -> Provider {
        Provider::start_with(
            dir,
            accounts,
            &[("GAVEL_TEST_ACCESS_TTL", &access_ttl.to_string())],
        )
    }

    pub fn start_with(dir: &Path, accounts: serde_json::Value, env: &[(&str, &str)]) -> Provider {
        let file = dir.join("accounts.json");
        std::fs::write(&file, accounts.to_string()).expect("accounts file");
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/oidc/provider.mjs");
        let mut command = Command::new("node");
        command
            .arg(script)
            .arg(&file)
            .env("GAVEL_OIDC_MODULES", modules())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command.spawn().expect("start node (is Node.js installed?)");
        let stdout = child.stdout.take().expect("stdout");
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        while reader.read_line(&mut line).unwrap_or(0) > 0 {
            if let Some(issuer) = line.trim().strip_prefix("oidc-provider: listening on ") {
                let issuer = issuer.to_owned();
                // Keep draining its output so it never blocks on a full pipe.
                std::thread::spawn(move || for _ in reader.lines() {});
                return Provider { child, issuer };
            }
            line.clear();
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("oidc-provider did not start");
    }

    /// A provider with no accounts yet and a `gavel serve` on `db` whose
    /// people sign in with it.
    pub fn with_server(dir: &Path, db: &Path) -> (Provider, super::server::Server) {
        Provider::with_server_env(dir, db, &[])
    }

    /// The same, the server's environment patched by `env` (its log level,
    /// say).
    pub fn with_server_env(
        dir: &Path,
        db: &Path,
        env: &[(&str, &str)],
    ) -> (Provider, super::server::Server) {
        let provider = Provider::start(dir, serde_json::json!({}), 300);
        let config = dir.join("server.toml");
        std::fs::write(&config, provider.server_config()).expect("config");
        let server = super::server::Server::start_with(db, "127.0.0.1:0", &config, env);
        (provider, server)
    }

    /// `[auth.oidc]` for a server trusting this provider: groups
    /// `gavel-<role>` give the role, `team-<name>` the team.
    pub fn server_config(&self) -> String {
        let roles: Vec<String> = [
            "technical_lead",
            "data_steward",
            "ml_engineer",
            "ethics_reviewer",
            "compliance_officer",
            "policy_admin",
        ]
        .iter()
        .map(|role| format!("\"{}\" = [\"{role}\"]", group_of(role)))
        .collect();
        format!(
            "[auth.oidc]\nissuer = \"{}\"\nclient_id = \"{CLIENT_ID}\"\naudience = \"{AUDIENCE}\"\nscopes = [\"openid\", \"email\", \"profile\", \"groups\", \"offline_access\"]\n[auth.oidc.roles]\n{}\n[auth.oidc.teams]\n\"team-people\" = [\"People\"]\n",
            self.issuer,
            roles.join("\n")
        )
    }

    pub fn auth_config(&self) -> AuthConfig {
        AuthConfig {
            issuer: self.issuer.clone(),
            client_id: CLIENT_ID.into(),
            scopes: ["openid", "email", "profile", "groups", "offline_access"]
                .map(str::to_owned)
                .to_vec(),
            bearer: Bearer::AccessToken,
            resource: None,
        }
    }

    async fn post(&self, path: &str, body: serde_json::Value) -> reqwest::Response {
        reqwest::Client::new()
            .post(format!("{}{path}", self.issuer))
            .json(&body)
            .send()
            .await
            .expect("the provider answers")
    }

    /// Enters the code at the provider's pages, signs in as `account` and
    /// consents (or aborts), as the person's browser would.
    pub async fn approve(&self, user_code: &str, account: &str, abort: bool) {
        let answer = self
            .post(
                "/_test/approve",
                serde_json::json!({ "user_code": user_code, "account": account, "abort": abort }),
            )
            .await;
        let status = answer.status();
        let text = answer.text().await.unwrap_or_default();
        assert!(status.is_success(), "the provider's pages: {text}");
    }

    /// Opens an authorization URL as `account`'s browser would, through to
    /// the redirect back to the client.
    pub async fn authorize(&self, url: &str, account: &str) {
        let answer = self
            .post(
                "/_test/authorize",
                serde_json::json!({ "url": url, "account": account }),
            )
            .await;
        let status = answer.status();
        let text = answer.text().await.unwrap_or_default();
        assert!(status.is_success(), "the provider's pages: {text}");
    }

    /// A directory administrator changes the person's groups.
    pub async fn set_groups(&self, account: &str, groups: &[&str]) {
        let answer = self
            .post(
                "/_test/groups",
                serde_json::json!({ "account": account, "groups": groups }),
            )
            .await;
        assert!(answer.status().is_success());
    }

    pub async fn add_account(&self, account: &str, email: &str, groups: &[String]) {
        let answer = self
            .post(
                "/_test/accounts",
                serde_json::json!({ "account": account, "email": email, "name": account, "groups": groups }),
            )
            .await;
        assert!(answer.status().is_success());
    }

    /// Signs `account` in to `server` through the whole device flow (the
    /// code approved at the provider's pages before the first poll).
    pub async fn sign_in(&self, server: &str, account: &str) -> Session {
        let http = ProviderClient::new().expect("client");
        let config = self.auth_config();
        login::device_login(server, &config, &http, |code| {
            let user_code = code.user_code.clone();
            block_on(self.approve(&user_code, account, false));
        })
        .await
        .expect("device sign-in")
    }

    /// A new person at the provider, holding `roles` through their groups,
    /// signed in to `server` (which then knows them).
    pub async fn sign_in_new(
        &self,
        server: &str,
        email: &str,
        roles: &[gavel::domain::Role],
    ) -> std::sync::Arc<gavel::auth::keeper::SessionKeeper> {
        self.sign_in_with_groups(server, email, roles, &[]).await
    }

    /// Signs a person in again after the directory changed their groups
    /// to those of `roles` and `team` (`team-<name>`, lowercased).
    pub async fn sign_in_changed(
        &self,
        server: &str,
        email: &str,
        roles: &[gavel::domain::Role],
        team: Option<&str>,
    ) -> std::sync::Arc<gavel::auth::keeper::SessionKeeper> {
        let team_group = team.map(|team| format!("team-{}", team.to_lowercase()));
        let more: Vec<&str> = team_group.iter().map(String::as_str).collect();
        self.sign_in_with_groups(server, email, roles, &more).await
    }

    /// Signs a person in whose account holds the groups of `roles` and
    /// `more` (`team-people` puts them in team People), creating or
    /// changing the account first.
    pub async fn sign_in_with_groups(
        &self,
        server: &str,
        email: &str,
        roles: &[gavel::domain::Role],
        more: &[&str],
    ) -> std::sync::Arc<gavel::auth::keeper::SessionKeeper> {
        use gavel::backend::GovernanceBackend;
        let groups: Vec<String> = roles
            .iter()
            .map(|role| group_of(role.as_str()))
            .chain(more.iter().map(|group| (*group).to_owned()))
            .collect();
        self.add_account(email, email, &groups).await;
        let session = self.sign_in(server, email).await;
        let dir = std::env::temp_dir().join(format!("gavel-test-sessions-{}", std::process::id()));
        let keeper = gavel::auth::keeper::SessionKeeper::new(
            session,
            gavel::auth::session::CredentialStore::Files(dir),
        )
        .expect("keeper");
        let client = gavel::backend::http::HttpBackend::with_credentials(
            server,
            gavel::backend::http::Credentials::SignIn(std::sync::Arc::clone(&keeper)),
        )
        .expect("client");
        client
            .me()
            .await
            .expect("the server signs the new person in");
        keeper
    }

    /// Asks the provider to revoke a refresh token (as an administrator
    /// ending the person's sessions would).
    pub async fn revoke(&self, refresh_token: &str) {
        let answer = reqwest::Client::new()
            .post(format!("{}/token/revocation", self.issuer))
            .form(&[("token", refresh_token), ("client_id", CLIENT_ID)])
            .send()
            .await
            .expect("revocation");
        assert!(answer.status().is_success());
    }

    /// Whether the provider still renews with this refresh token.
    pub async fn refreshes(&self, refresh_token: &str) -> bool {
        reqwest::Client::new()
            .post(format!("{}/token", self.issuer))
            .form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
                ("client_id", CLIENT_ID),
            ])
            .send()
            .await
            .expect("token endpoint")
            .status()
            .is_success()
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a future to completion from synchronous code inside the tests'
/// multi-threaded runtime (fixtures' `add_user` is synchronous).
pub fn block_on<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(future))
}
