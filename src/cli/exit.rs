//! How a command ends: the exit codes scripts can rely on, and why a
//! command failed.

use crate::backend::BackendError;

pub const OK: u8 = 0;
pub const FAILURE: u8 = 1;
pub const BAD_INPUT: u8 = 2;
pub const APPROVAL_REQUIRED: u8 = 3;
pub const BLOCKED: u8 = 4;
pub const REFUSED: u8 = 5;
/// The server's log does not hold against what this client witnessed.
pub const WITNESS: u8 = 6;

/// Why a command failed, and the exit code that says so.
#[derive(Debug)]
pub enum Failure {
    BadInput(String),
    Refused(String),
    Witness(String),
    Other(color_eyre::Report),
}

impl Failure {
    pub fn exit_code(&self) -> u8 {
        match self {
            Failure::BadInput(_) => BAD_INPUT,
            Failure::Refused(_) => REFUSED,
            Failure::Witness(_) => WITNESS,
            Failure::Other(_) => FAILURE,
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::BadInput(message) => write!(f, "{message}"),
            Failure::Refused(message) => write!(f, "refused: {message}"),
            Failure::Witness(message) => write!(f, "WITNESS WARNING: {message}"),
            Failure::Other(report) => write!(f, "{report:#}"),
        }
    }
}

impl From<BackendError> for Failure {
    fn from(err: BackendError) -> Self {
        match err {
            BackendError::Refused(rule) => {
                Failure::Refused(format!("{rule} [rule: {}]", rule.rule()))
            }
            BackendError::Forbidden(_)
            | BackendError::Conflict(_)
            | BackendError::IdempotencyMismatch(_) => Failure::Refused(err.to_string()),
            BackendError::NotFound { .. }
            | BackendError::Invalid(_)
            | BackendError::InvalidReview(_)
            | BackendError::Unauthenticated(_) => Failure::BadInput(err.to_string()),
            BackendError::Storage(_) | BackendError::Unavailable(_) | BackendError::InFlight(_) => {
                Failure::Other(color_eyre::eyre::eyre!(err))
            }
        }
    }
}

pub type Outcome = Result<u8, Failure>;
