//! Capped, jittered exponential backoff for HTTP requests that may be sent
//! again, honouring a server's `Retry-After`. Shared by the governance
//! client and the audit runner.

use std::time::Duration;

use rand::RngExt;
use reqwest::header::{HeaderMap, RETRY_AFTER};

#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub first: Duration,
    pub max: Duration,
    /// The longest `Retry-After` honoured as given.
    pub max_retry_after: Duration,
}

impl Backoff {
    /// How long to wait before attempt `attempt + 1`: what the server asked
    /// for, else an exponential delay with full jitter, so clients that
    /// failed together do not retry together.
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(wait) = retry_after {
            return wait.min(self.max_retry_after);
        }
        let exponential = self
            .first
            .saturating_mul(2u32.saturating_pow(attempt))
            .min(self.max);
        exponential.mul_f64(rand::rng().random_range(0.5..1.0))
    }
}

/// A `Retry-After` given in seconds (the HTTP-date form is not honoured:
/// backoff applies instead).
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(RETRY_AFTER)
        .and_then(|value| value.to_str().ok())
        .and_then(|text| text.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_is_capped_and_honours_retry_after() {
        let backoff = Backoff {
            first: Duration::from_millis(100),
            max: Duration::from_secs(2),
            max_retry_after: Duration::from_secs(10),
        };
        assert!(backoff.delay(0, None) <= Duration::from_millis(100));
        assert!(backoff.delay(0, None) >= Duration::from_millis(50));
        assert!(backoff.delay(10, None) <= Duration::from_secs(2));
        assert_eq!(
            backoff.delay(0, Some(Duration::from_secs(3))),
            Duration::from_secs(3)
        );
        assert_eq!(
            backoff.delay(0, Some(Duration::from_secs(600))),
            Duration::from_secs(10)
        );
    }
}
