//! HTTPS for `gavel serve`: a certificate and key from PEM files, read again
//! when they change (cert-manager renews them in place), and optionally
//! client certificates (mutual TLS) checked against a CA, so the admission
//! routes may insist on the API server's.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls::{RootCertStore, ServerConfig};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

/// How often the certificate files are looked at for a change.
const RELOAD_EVERY: Duration = Duration::from_secs(10);

/// Where the certificate, its key and (for mutual TLS) the client CA are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub client_ca: Option<PathBuf>,
}

/// Who the client proved to be at the TLS layer: the SHA-256 of the
/// certificate it presented, checked against the client CA. Every request
/// carries one (none on plain HTTP or without a certificate).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientCertificate(pub Option<String>);

/// The server side of TLS, with its certificate kept fresh.
pub struct Tls {
    pub acceptor: TlsAcceptor,
    resolver: Arc<ReloadingCert>,
}

impl Tls {
    /// Reads the files and builds the TLS configuration: HTTP/1.1, TLS 1.2
    /// and 1.3, and client certificates asked for (never required) when a
    /// client CA is given.
    pub fn load(files: &TlsFiles) -> Result<Tls, String> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let resolver = Arc::new(ReloadingCert::load(files.clone(), Arc::clone(&provider))?);
        let builder = ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .map_err(|err| format!("TLS: {err}"))?;
        let builder = match &files.client_ca {
            Some(ca) => {
                let mut roots = RootCertStore::empty();
                for cert in certificates(ca)? {
                    roots
                        .add(cert)
                        .map_err(|err| format!("{}: {err}", ca.display()))?;
                }
                let verifier =
                    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                        .allow_unauthenticated()
                        .build()
                        .map_err(|err| format!("{}: {err}", ca.display()))?;
                builder.with_client_cert_verifier(verifier)
            }
            None => builder.with_no_client_auth(),
        };
        let mut config = builder.with_cert_resolver(Arc::clone(&resolver) as _);
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Tls {
            acceptor: TlsAcceptor::from(Arc::new(config)),
            resolver,
        })
    }

    /// Looks at the files every few seconds and, when they changed and read
    /// as a matching certificate and key, serves them to new connections.
    /// A broken renewal is logged and the old certificate kept.
    pub fn keep_fresh(&self) -> tokio::task::JoinHandle<()> {
        let resolver = Arc::clone(&self.resolver);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(RELOAD_EVERY);
            tick.tick().await;
            loop {
                tick.tick().await;
                let resolver = Arc::clone(&resolver);
                let _ = tokio::task::spawn_blocking(move || resolver.reload_if_changed()).await;
            }
        })
    }
}

/// The certificate of a connection, as a request extension.
pub fn client_certificate(connection: &rustls::ServerConnection) -> ClientCertificate {
    ClientCertificate(
        connection
            .peer_certificates()
            .and_then(|chain| chain.first())
            .map(|leaf| crate::domain::digest::sha256_hex(leaf.as_ref())),
    )
}

#[derive(Debug)]
struct ReloadingCert {
    files: TlsFiles,
    provider: Arc<CryptoProvider>,
    current: RwLock<Arc<CertifiedKey>>,
    stamp: RwLock<Option<(SystemTime, SystemTime)>>,
}

impl ReloadingCert {
    fn load(files: TlsFiles, provider: Arc<CryptoProvider>) -> Result<ReloadingCert, String> {
        let stamp = stamp(&files);
        let current = certified_key(&files, &provider)?;
        Ok(ReloadingCert {
            files,
            provider,
            current: RwLock::new(Arc::new(current)),
            stamp: RwLock::new(stamp),
        })
    }

    fn reload_if_changed(&self) {
        let now = stamp(&self.files);
        let known = *self.stamp.read().unwrap_or_else(|e| e.into_inner());
        if now == known {
            return;
        }
        match certified_key(&self.files, &self.provider) {
            Ok(key) => {
                *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(key);
                *self.stamp.write().unwrap_or_else(|e| e.into_inner()) = now;
                tracing::info!(cert = %self.files.cert.display(), "TLS certificate reloaded");
            }
            // Half-written during a renewal, say: keep serving the old one
            // and try again at the next look.
            Err(err) => {
                tracing::warn!(%err, "TLS certificate changed but does not load; keeping the old one")
            }
        }
    }
}

impl ResolvesServerCert for ReloadingCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(
            &self.current.read().unwrap_or_else(|e| e.into_inner()),
        ))
    }
}

fn stamp(files: &TlsFiles) -> Option<(SystemTime, SystemTime)> {
    let modified = |path: &Path| {
        std::fs::metadata(path)
            .and_then(|meta| meta.modified())
            .ok()
    };
    modified(&files.cert).zip(modified(&files.key))
}

fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|err| format!("{}: {err}", path.display()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| format!("{}: {err}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("{}: no PEM certificate in it", path.display()));
    }
    Ok(certs)
}

fn certified_key(files: &TlsFiles, provider: &CryptoProvider) -> Result<CertifiedKey, String> {
    let chain = certificates(&files.cert)?;
    let key = PrivateKeyDer::from_pem_file(&files.key)
        .map_err(|err| format!("{}: no PEM private key ({err})", files.key.display()))?;
    CertifiedKey::from_der(chain, key, provider).map_err(|err| {
        format!(
            "{} and {} are not a certificate and its key: {err}",
            files.cert.display(),
            files.key.display()
        )
    })
}
