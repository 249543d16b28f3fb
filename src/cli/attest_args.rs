//! The flags of `gavel attest`: an agent version's signed approval, its
//! key, and the offline check deployment systems run.

use std::path::PathBuf;

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum AttestCommand {
    /// The signed attestation of an agent version that stands: an in-toto
    /// Statement v1 in a DSSE envelope. A version that no longer stands
    /// (suspended, due for recertification, superseded) gets its signed
    /// revocation instead, and the command exits 4.
    Show {
        /// The agent (or give --manifest).
        #[arg(required_unless_present = "manifest")]
        agent: Option<String>,
        #[arg(required_unless_present = "manifest")]
        version: Option<String>,
        /// Read the agent and version from this manifest instead.
        #[arg(long, value_name = "MANIFEST.json", conflicts_with_all = ["agent", "version"])]
        manifest: Option<PathBuf>,
        /// Write the envelope to FILE (atomically) instead of printing it.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// The attestation key (securesystemslib's JSON form, with its PEM and
    /// the log's verifier key): what `attest verify --key` reads.
    Key {
        /// Write it to FILE instead of printing it.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Only the PEM public key (for cosign or Kyverno).
        #[arg(long)]
        pem: bool,
    },
    /// Check an attestation offline: the signature by the key, the
    /// statement, its subjects, its validity window and the trail event's
    /// inclusion in the signed log. With `--url` (or `--online`, for the
    /// configured server) it also asks whether the version was revoked
    /// since. Exits 0 when it holds, 4 when revoked, 1 otherwise.
    Verify {
        file: PathBuf,
        /// The key file: `gavel attest key` or `GET /v1/attestations/key`
        /// (JSON), or a PEM public key.
        #[arg(long, value_name = "KEY_FILE")]
        key: PathBuf,
        /// A digest (sha256:…) one subject must carry: an image's, say.
        #[arg(long, value_name = "sha256:HEX")]
        subject_digest: Option<String>,
        /// The manifest the attestation must be for (its canonical digest).
        #[arg(long, value_name = "MANIFEST.json", conflicts_with = "subject_digest")]
        manifest: Option<PathBuf>,
        /// Ask the configured server whether the version still stands.
        #[arg(long)]
        online: bool,
        #[arg(long)]
        json: bool,
    },
}
