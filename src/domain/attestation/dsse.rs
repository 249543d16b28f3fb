//! DSSE (Dead Simple Signing Envelope) v1 with Ed25519: the envelope, its
//! pre-authentication encoding, and the public key as securesystemslib
//! writes it (`keytype`, `scheme`, `keyval.public` in hex), whose keyid is
//! the SHA-256 of that key's canonical JSON.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};

/// A signed envelope: `payload` is the base64 of the bytes signed (with
/// `payloadType`, through the PAE).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Envelope {
    pub payload: String,
    #[serde(rename = "payloadType")]
    pub payload_type: String,
    pub signatures: Vec<Signature>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Signature {
    pub keyid: String,
    pub sig: String,
}

/// DSSE's pre-authentication encoding: what is actually signed.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {payload_type} {} ",
        payload_type.len(),
        payload.len()
    )
    .into_bytes();
    out.extend_from_slice(payload);
    out
}

/// Signs `payload` into an envelope.
pub fn seal(key: &SigningKey, payload_type: &str, payload: &[u8]) -> Envelope {
    let signature = key.sign(&pae(payload_type, payload));
    Envelope {
        payload: STANDARD.encode(payload),
        payload_type: payload_type.to_owned(),
        signatures: vec![Signature {
            keyid: PublicKey::of(&key.verifying_key()).keyid,
            sig: STANDARD.encode(signature.to_bytes()),
        }],
    }
}

/// Why an envelope is not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    #[error("the payload is not base64: {0}")]
    Payload(String),
    #[error("no signature by key {0}: the envelope was signed by another key")]
    NoSignatureByKey(String),
    #[error("the signature by key {0} does not match the payload: it was changed after signing")]
    BadSignature(String),
}

impl Envelope {
    /// The payload, once a signature by `key` over it is checked.
    pub fn open(&self, key: &PublicKey) -> Result<Vec<u8>, EnvelopeError> {
        let payload = STANDARD
            .decode(&self.payload)
            .map_err(|err| EnvelopeError::Payload(err.to_string()))?;
        let message = pae(&self.payload_type, &payload);
        let mut by_key = self
            .signatures
            .iter()
            .filter(|signature| signature.keyid == key.keyid)
            .peekable();
        if by_key.peek().is_none() {
            return Err(EnvelopeError::NoSignatureByKey(key.keyid.clone()));
        }
        let verifies = by_key.any(|signature| {
            STANDARD
                .decode(&signature.sig)
                .ok()
                .and_then(|bytes| ed25519_dalek::Signature::from_slice(&bytes).ok())
                .is_some_and(|sig| key.verifying.verify(&message, &sig).is_ok())
        });
        if verifies {
            Ok(payload)
        } else {
            Err(EnvelopeError::BadSignature(key.keyid.clone()))
        }
    }

    /// The payload, unchecked: for reading what a rejected envelope says.
    pub fn payload_unchecked(&self) -> Option<Vec<u8>> {
        STANDARD.decode(&self.payload).ok()
    }
}

/// An Ed25519 public key and its keyid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    pub keyid: String,
    pub verifying: VerifyingKey,
}

impl PublicKey {
    pub fn of(verifying: &VerifyingKey) -> PublicKey {
        // securesystemslib's canonical form of the key: sorted keys, no spaces.
        let canonical = serde_json::json!({
            "keytype": "ed25519",
            "keyval": { "public": hex::encode(verifying.as_bytes()) },
            "scheme": "ed25519",
        })
        .to_string();
        PublicKey {
            keyid: crate::domain::digest::sha256_hex(canonical),
            verifying: *verifying,
        }
    }

    /// The key as `GET /v1/attestations/key` serves it.
    pub fn document(&self, log_verifier_key: &str) -> KeyDocument {
        use ed25519_dalek::pkcs8::EncodePublicKey;
        KeyDocument {
            keyid: self.keyid.clone(),
            keytype: "ed25519".into(),
            scheme: "ed25519".into(),
            keyval: KeyValue {
                public: hex::encode(self.verifying.as_bytes()),
            },
            public_key_pem: self
                .verifying
                .to_public_key_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
                .unwrap_or_default(),
            log_verifier_key: Some(log_verifier_key.to_owned()),
        }
    }

    /// Reads a key file: the JSON document the server serves, or a PEM
    /// public key (SubjectPublicKeyInfo, as cosign writes).
    pub fn parse(text: &str) -> Result<(PublicKey, Option<String>), String> {
        let text = text.trim();
        if text.starts_with("-----BEGIN PUBLIC KEY-----") {
            use ed25519_dalek::pkcs8::DecodePublicKey;
            let verifying = VerifyingKey::from_public_key_pem(text)
                .map_err(|err| format!("not an Ed25519 public key: {err}"))?;
            return Ok((PublicKey::of(&verifying), None));
        }
        let document: KeyDocument = serde_json::from_str(text).map_err(|err| {
            format!("neither a Gavel key document (JSON) nor a PEM public key: {err}")
        })?;
        if document.keytype != "ed25519" || document.scheme != "ed25519" {
            return Err(format!(
                "a {} key with scheme {}: Gavel signs with ed25519",
                document.keytype, document.scheme
            ));
        }
        let bytes: [u8; 32] = hex::decode(&document.keyval.public)
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or("keyval.public is not 32 bytes of hex")?;
        let verifying =
            VerifyingKey::from_bytes(&bytes).map_err(|err| format!("keyval.public: {err}"))?;
        let key = PublicKey::of(&verifying);
        if key.keyid != document.keyid {
            return Err(format!(
                "the document's keyid {} is not its key's ({})",
                document.keyid, key.keyid
            ));
        }
        Ok((key, document.log_verifier_key))
    }
}

/// The public key as securesystemslib's `SSlibKey.from_dict` reads it, with
/// its PEM (for cosign and Kyverno) and the log's verifier key (to check
/// the checkpoint an attestation's proof is against).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct KeyDocument {
    pub keyid: String,
    pub keytype: String,
    pub scheme: String,
    pub keyval: KeyValue,
    pub public_key_pem: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_verifier_key: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct KeyValue {
    /// The Ed25519 public key, hex.
    pub public: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    #[test]
    fn pae_is_the_specs_encoding() {
        // The DSSE spec's own example.
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
        );
    }

    #[test]
    fn an_envelope_opens_with_its_key_only_and_unchanged() {
        let signer = key(7);
        let public = PublicKey::of(&signer.verifying_key());
        let envelope = seal(&signer, "text/plain", b"approved");
        assert_eq!(envelope.open(&public).unwrap(), b"approved");

        let other = PublicKey::of(&key(8).verifying_key());
        assert!(matches!(
            envelope.open(&other),
            Err(EnvelopeError::NoSignatureByKey(_))
        ));
        let mut changed = envelope.clone();
        changed.payload = STANDARD.encode(b"rejected");
        assert!(matches!(
            changed.open(&public),
            Err(EnvelopeError::BadSignature(_))
        ));
        let mut retyped = envelope;
        retyped.payload_type = "text/html".into();
        assert!(retyped.open(&public).is_err());
    }

    #[test]
    fn a_key_reads_back_from_its_document_and_its_pem() {
        let public = PublicKey::of(&key(3).verifying_key());
        let document = public.document("log+1234+key");
        let json = serde_json::to_string(&document).unwrap();
        let (read, log) = PublicKey::parse(&json).unwrap();
        assert_eq!(read, public);
        assert_eq!(log.as_deref(), Some("log+1234+key"));
        let (from_pem, none) = PublicKey::parse(&document.public_key_pem).unwrap();
        assert_eq!(from_pem, public);
        assert!(none.is_none());
        let mut forged = document;
        forged.keyid = "00".repeat(32);
        let err = PublicKey::parse(&serde_json::to_string(&forged).unwrap()).unwrap_err();
        assert!(err.contains("keyid"), "{err}");
    }
}
