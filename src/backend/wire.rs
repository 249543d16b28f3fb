//! What travels over HTTP between `gavel serve` and `HttpBackend`, beyond
//! the domain types themselves. No HTTP library here: both ends share it.

use serde::{Deserialize, Serialize};

use super::BackendError;
use crate::domain::decision::DecisionError;
use crate::domain::review::ValidationIssue;
use crate::domain::{Answers, Verdict};

/// Body of `POST /v1/workflows/{id}/steps/{step_id}/decision`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionBody {
    pub verdict: Verdict,
    #[serde(default)]
    pub comment: Option<String>,
    /// When the person decided, for a decision made offline and sent later.
    /// Between the workflow version's time and now; the server records its
    /// own receive time beside it, and SLAs count from that.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The person the caller decides for, under a delegation that person
    /// gave the caller (the decision then counts as both people's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_behalf_of: Option<String>,
}

/// Body of `POST /v1/policy-sets` and `POST /v1/policy-sets/plan`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicySetBody {
    /// The set, as TOML.
    pub source: String,
}

/// Body of `POST /v1/policy-sets/{version}/approve` and `.../reject`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicySetDecisionBody {
    /// Why (required to reject).
    #[serde(default)]
    pub comment: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignBody {
    pub reviewer: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DraftBody {
    #[schema(value_type = Object)]
    pub answers: Answers,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub form_state: Option<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitBody {
    #[schema(value_type = Object)]
    pub answers: Answers,
}

/// Body of `POST /v1/audit-runs/{run_id}/outcomes`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OutcomesBody {
    /// At most 1,000.
    pub outcomes: Vec<super::CaseOutcome>,
}

/// Body of `POST /v1/workflows/{id}/withdraw`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WithdrawBody {
    /// Required when the caller is not the requester.
    #[serde(default)]
    pub reason: Option<String>,
}

/// Body of `POST /v1/inbox/read`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InboxReadBody {
    /// At most 1,000.
    pub event_ids: Vec<i64>,
}

/// Body of `PUT /v1/tools/{name}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ToolDecisionBody {
    pub status: crate::backend::ToolStatus,
    pub comment: String,
}

/// `GET /v1/log/key`: the log's public key, in the signed-note verifier
/// key form (`origin+id+key`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LogKeyBody {
    pub key: String,
}

/// `GET /v1/log/checkpoint`: the newest signed checkpoint (a C2SP
/// tlog-checkpoint signed note).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CheckpointBody {
    pub checkpoint: String,
}

/// An inclusion or consistency proof: hashes, hex.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ProofBody {
    pub hashes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CountBody {
    pub count: u64,
}

/// Every error answer: `{ "error": code, "message": text }`, plus the
/// refused rule or the review's problems when there are any.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refusal: Option<Box<DecisionError>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issues: Option<Vec<ValidationIssue>>,
}

impl ErrorBody {
    pub fn new(error: &str, message: impl Into<String>) -> ErrorBody {
        ErrorBody {
            error: error.to_owned(),
            message: message.into(),
            refusal: None,
            issues: None,
        }
    }
}

/// The HTTP status and body for a backend error.
pub fn error_response(err: &BackendError) -> (u16, ErrorBody) {
    let message = err.to_string();
    match err {
        BackendError::NotFound { .. } => (404, ErrorBody::new("not_found", message)),
        BackendError::Refused(refusal @ DecisionError::StaleVersion { .. }) => (
            412,
            ErrorBody {
                refusal: Some(Box::new(refusal.clone())),
                ..ErrorBody::new("stale_version", message)
            },
        ),
        BackendError::Refused(refusal) => (
            403,
            ErrorBody {
                refusal: Some(Box::new(refusal.clone())),
                ..ErrorBody::new(refusal.rule(), message)
            },
        ),
        // 422: well-formed, as the API's schema says, but breaking a rule the
        // schema cannot state. 400 is kept for requests the schema refuses.
        BackendError::InvalidReview(issues) => (
            422,
            ErrorBody {
                issues: Some(issues.clone()),
                ..ErrorBody::new("invalid_review", message)
            },
        ),
        BackendError::Forbidden(_) => (403, ErrorBody::new("forbidden", message)),
        BackendError::Conflict(_) => (409, ErrorBody::new("conflict", message)),
        BackendError::InFlight(_) => (409, ErrorBody::new("duplicate_in_flight", message)),
        BackendError::IdempotencyMismatch(_) => {
            (422, ErrorBody::new("idempotency_key_reused", message))
        }
        BackendError::Invalid(_) => (422, ErrorBody::new("invalid", message)),
        BackendError::Unauthenticated(_) => (401, ErrorBody::new("unauthenticated", message)),
        BackendError::Storage(_) => (
            500,
            ErrorBody::new("storage", "the server's store failed; see its log"),
        ),
        BackendError::Unavailable(_) => (503, ErrorBody::new("unavailable", message)),
    }
}

/// The backend error an error answer stands for.
pub fn error_from_response(status: u16, body: ErrorBody) -> BackendError {
    if let Some(refusal) = body.refusal {
        return BackendError::Refused(*refusal);
    }
    if let Some(issues) = body.issues {
        return BackendError::InvalidReview(issues);
    }
    let message = body.message;
    match status {
        400 => BackendError::Invalid(message.trim_start_matches("invalid input: ").to_owned()),
        401 => BackendError::Unauthenticated(message),
        403 => BackendError::Forbidden(message.trim_start_matches("not allowed: ").to_owned()),
        404 => BackendError::NotFound {
            entity: "entity",
            id: message,
        },
        // The same decision still being processed is transient, not a conflict.
        409 if body.error == "duplicate_in_flight" => {
            BackendError::InFlight(message.trim_start_matches("still in flight: ").to_owned())
        }
        409 => BackendError::Conflict(message.trim_start_matches("conflict: ").to_owned()),
        422 if body.error == "idempotency_key_reused" => BackendError::IdempotencyMismatch(message),
        422 => BackendError::Invalid(message.trim_start_matches("invalid input: ").to_owned()),
        // A request the server gave up on (408) may still have been
        // recorded: transient, like a lost answer, so it is retried with the
        // same idempotency key.
        408 | 429 | 503 | 504 => BackendError::Unavailable(message),
        _ => BackendError::Storage(format!("server answered {status}: {message}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Role;

    #[test]
    fn errors_round_trip_through_their_http_form() {
        let cases = [
            BackendError::Refused(DecisionError::WrongRole {
                step_id: 1,
                required: Role::DataSteward,
            }),
            BackendError::Refused(DecisionError::StaleVersion {
                expected: 1,
                actual: 2,
            }),
            BackendError::InvalidReview(vec![ValidationIssue {
                question_id: "q".into(),
                message: "m".into(),
            }]),
        ];
        for err in cases {
            let (status, body) = error_response(&err);
            let back = error_from_response(status, body);
            assert_eq!(back.to_string(), err.to_string());
        }
        assert_eq!(
            error_response(&BackendError::Refused(DecisionError::StaleVersion {
                expected: 1,
                actual: 2
            }))
            .0,
            412
        );
        assert_eq!(
            error_response(&BackendError::IdempotencyMismatch("k".into())).0,
            422
        );
        let (_, storage) = error_response(&BackendError::Storage(
            "disk on fire at /secret/path".into(),
        ));
        assert!(
            !storage.message.contains("/secret"),
            "store internals stay in the server log"
        );
    }

    /// A decision still being processed under the same key is retried
    /// later with that key; other 409s stay conflicts.
    #[test]
    fn a_duplicate_in_flight_is_transient_and_other_409s_are_conflicts() {
        use crate::backend::sync::plan::{Outcome, classify};
        let in_flight = error_from_response(
            409,
            ErrorBody::new(
                "duplicate_in_flight",
                "the same Idempotency-Key is being processed; retry later",
            ),
        );
        assert!(
            matches!(in_flight, BackendError::InFlight(_)),
            "{in_flight:?}"
        );
        assert!(matches!(classify(&Err(in_flight)), Outcome::Retry(_)));
        let assigned = error_from_response(
            409,
            ErrorBody::new("conflict", "the review of wf-1 is already assigned to x"),
        );
        assert!(matches!(classify(&Err(assigned)), Outcome::Conflict(_)));
        assert_eq!(
            error_response(&BackendError::InFlight("k".into())).1.error,
            "duplicate_in_flight"
        );
    }
}

/// Body of `POST /v1/delegations/end`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndDelegationBody {
    /// The delegation to end; none: every delegation the caller gave that
    /// has not ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delegation_id: Option<String>,
}
