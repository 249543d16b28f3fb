//! What a deployment ships, named in its manifest by digest: a container
//! image, a model file. The admission webhook lets only these images run,
//! and an attestation names each as a subject.

use serde::{Deserialize, Serialize};

/// The most artifacts one manifest names.
pub const MAX_ARTIFACTS: usize = 64;

/// One artifact a deployment ships: `{ name, digest = "sha256:<64 hex>" }`.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(deny_unknown_fields)]
pub struct Artifact {
    /// What it is, in the team's words (`registry.example.com/hiring/screen`).
    pub name: String,
    /// `sha256:` and 64 lower-case hex digits.
    pub digest: String,
}

impl Artifact {
    /// The digest's hex, without its `sha256:` prefix.
    pub fn sha256(&self) -> &str {
        self.digest.strip_prefix("sha256:").unwrap_or(&self.digest)
    }
}

/// Whether `digest` is `sha256:` and 64 lower-case hex digits.
pub fn is_sha256_digest(digest: &str) -> bool {
    digest.strip_prefix("sha256:").is_some_and(|hex| {
        hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// Checks a manifest's artifacts (names of at most `max_name_bytes`):
/// the first problem as (its path, what is wrong).
pub fn check_artifacts(
    artifacts: &[Artifact],
    max_name_bytes: usize,
) -> Result<(), (String, String)> {
    let rule = |path: String, message: String| (path, message);
    if artifacts.len() > MAX_ARTIFACTS {
        return Err(rule(
            "artifacts".into(),
            format!(
                "{} artifacts; a manifest names at most {MAX_ARTIFACTS}",
                artifacts.len()
            ),
        ));
    }
    for (index, artifact) in artifacts.iter().enumerate() {
        if let Some(problem) = crate::text::field_problem(&artifact.name, max_name_bytes) {
            return Err(rule(format!("artifacts[{index}].name"), problem));
        }
        if !is_sha256_digest(&artifact.digest) {
            return Err(rule(
                format!("artifacts[{index}].digest"),
                format!(
                    "{:?} is not a digest: write sha256: and 64 lower-case hex digits (`docker buildx imagetools inspect IMAGE` or `sha256sum FILE` gives it)",
                    artifact.digest.chars().take(80).collect::<String>()
                ),
            ));
        }
        if artifacts[..index]
            .iter()
            .any(|earlier| earlier.name == artifact.name)
        {
            return Err(rule(
                format!("artifacts[{index}].name"),
                format!("{:?} is named twice", artifact.name),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn artifact(name: &str, digest: &str) -> Artifact {
        Artifact {
            name: name.into(),
            digest: digest.into(),
        }
    }

    #[test]
    fn digests_are_sha256_in_lower_case_hex_and_names_are_unique() {
        let good = format!("sha256:{}", "ab".repeat(32));
        assert!(check_artifacts(&[artifact("image", &good)], 256).is_ok());
        for bad in [
            "ab".repeat(32),
            format!("sha256:{}", "AB".repeat(32)),
            format!("sha256:{}", "ab".repeat(31)),
            format!("sha512:{}", "ab".repeat(32)),
        ] {
            let err = check_artifacts(&[artifact("image", &bad)], 256).unwrap_err();
            assert_eq!(err.0, "artifacts[0].digest", "{err:?}");
        }
        let twice = check_artifacts(&[artifact("image", &good), artifact("image", &good)], 256);
        assert!(twice.unwrap_err().1.contains("named twice"));
        let many: Vec<_> = (0..=MAX_ARTIFACTS)
            .map(|n| artifact(&format!("a{n}"), &good))
            .collect();
        assert!(check_artifacts(&many, 256).is_err());
    }
}
