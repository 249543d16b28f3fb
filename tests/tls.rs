//! `gavel serve` over TLS, as a cluster's API server and a team's clients
//! meet it: the CLI talks HTTPS trusting the organisation's CA (and fails
//! without it); a renewed certificate written over the old files is served
//! to new connections without a restart; with a client CA, a client
//! certificate from another CA is refused while clients without one still
//! connect (bearer tokens authenticate the API).

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::certs::Authority;
use common::gavel;
use common::server::Server;
use predicates::prelude::*;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn roots(ca: &Path) -> rustls::RootCertStore {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca).expect("CA") {
        roots.add(cert.expect("CA cert")).expect("add the CA");
    }
    roots
}

/// Connects over TLS (with a client certificate when given), asks for the
/// auth config, and returns the server's certificate and the answer's
/// first line (empty when the server closed the connection).
async fn ask(address: &str, ca: &Path, client: Option<(&Path, &Path)>) -> (Vec<u8>, String) {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots(ca));
    let config = match client {
        Some((cert, key)) => builder
            .with_client_auth_cert(
                CertificateDer::pem_file_iter(cert)
                    .expect("cert")
                    .collect::<Result<Vec<_>, _>>()
                    .expect("certs"),
                PrivateKeyDer::from_pem_file(key).expect("key"),
            )
            .expect("client auth"),
        None => builder.with_no_client_auth(),
    };
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(address)
        .await
        .expect("connect");
    let name = ServerName::try_from("127.0.0.1").expect("name");
    let mut tls = connector.connect(name, tcp).await.expect("handshake");
    let served = tls
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|chain| chain.first())
        .map(|cert| cert.as_ref().to_vec())
        .expect("a server certificate");
    let request =
        format!("GET /v1/auth/config HTTP/1.1\r\nhost: {address}\r\nconnection: close\r\n\r\n");
    let mut answer = Vec::new();
    if tls.write_all(request.as_bytes()).await.is_ok() {
        let _ = tls.read_to_end(&mut answer).await;
    }
    let line = String::from_utf8_lossy(&answer)
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned();
    (served, line)
}

fn der(pem: &Path) -> Vec<u8> {
    CertificateDer::pem_file_iter(pem)
        .expect("pem")
        .next()
        .expect("one")
        .expect("cert")
        .as_ref()
        .to_vec()
}

#[test]
fn serve_speaks_tls_reloads_a_renewed_certificate_and_checks_client_certificates() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("tls.db");
    gavel(&db).args(["store", "init"]).assert().success();
    let token = common::service_token(&db, "deployer@example.com");
    let authority = Authority::new(dir.path(), "server");
    let (cert, key) = authority.issue(dir.path(), "server", &["127.0.0.1", "localhost"]);
    let clients = Authority::new(dir.path(), "clients");
    let (client_cert, client_key) = clients.issue(dir.path(), "apiserver", &["kube-apiserver"]);
    let stranger = Authority::new(dir.path(), "stranger");
    let (stranger_cert, stranger_key) = stranger.issue(dir.path(), "intruder", &["intruder"]);
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\ntls_cert = {:?}\ntls_key = {:?}\ntls_client_ca = {:?}\n",
            cert, key, clients.pem
        ),
    )
    .expect("config");
    let server = Server::start_with_config(&db, &config);
    assert!(
        server.url.starts_with("https://127.0.0.1:"),
        "{}",
        server.url
    );

    // The CLI over HTTPS, trusting the organisation's CA...
    gavel(&db)
        .env("GAVEL_TOKEN", &token)
        .env("SSL_CERT_FILE", &authority.pem)
        .args(["--url", &server.url, "attest", "key"])
        .assert()
        .success()
        .stdout(predicate::str::contains("\"keytype\": \"ed25519\""));
    // ...and not trusting a certificate it cannot check.
    gavel(&db)
        .env("GAVEL_TOKEN", &token)
        .env("SSL_CERT_FILE", &stranger.pem)
        .args(["--url", &server.url, "attest", "key"])
        .assert()
        .failure();

    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let address = server.address();
    runtime.block_on(async {
        // No client certificate: connected (tokens authenticate the API).
        let (served, line) = ask(&address, &authority.pem, None).await;
        assert_eq!(served, der(&cert));
        assert!(line.starts_with("HTTP/1.1 "), "{line:?}");
        // The API server's certificate: connected.
        let (_, line) = ask(&address, &authority.pem, Some((&client_cert, &client_key))).await;
        assert!(line.starts_with("HTTP/1.1 "), "{line:?}");
        // A certificate from another CA: refused.
        let (_, line) = ask(
            &address,
            &authority.pem,
            Some((&stranger_cert, &stranger_key)),
        )
        .await;
        assert!(
            line.is_empty(),
            "a stranger's certificate was accepted: {line:?}"
        );

        // Renewed in place: new connections get the new certificate.
        let original = der(&cert);
        let (renewed, _) = authority.issue(dir.path(), "server", &["127.0.0.1", "localhost"]);
        let renewed = der(&renewed);
        assert_ne!(renewed, original);
        let deadline = Instant::now() + Duration::from_secs(40);
        loop {
            let (served, _) = ask(&address, &authority.pem, None).await;
            if served == renewed {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the renewed certificate was not served: {}",
                server.log()
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    });
}
