//! Who may act: people, not service accounts; the set's permissions; a
//! well-formed email.

use crate::backend::{BackendError, Result};

/// Only people decide (a step, a tool, a policy set, a review): a service
/// account reads, checks and requests.
pub fn check_person(actor: &crate::backend::types::User, doing: &str) -> Result<()> {
    if actor.service {
        return Err(BackendError::Forbidden(format!(
            "{} is a service account: service accounts read, check and request; only people decide ({doing})",
            actor.email
        )));
    }
    Ok(())
}

/// Refuses `actor` unless they hold one of `roles` (the active policy
/// set's permissions; an empty list lets anyone).
pub fn check_permission(
    actor: &crate::backend::types::User,
    roles: &[crate::domain::Role],
    doing: &str,
) -> Result<()> {
    if roles.is_empty() || roles.iter().any(|role| actor.holds(*role)) {
        return Ok(());
    }
    Err(BackendError::Forbidden(format!(
        "{doing} needs the {} role (the policy set's permissions)",
        roles
            .iter()
            .map(|role| role.as_str())
            .collect::<Vec<_>>()
            .join(" or ")
    )))
}

pub fn check_email(email: &str) -> Result<()> {
    let valid = email.len() <= 254
        && email
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty())
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    if valid {
        Ok(())
    } else {
        Err(BackendError::Invalid(format!(
            "{email:?} is not an email address"
        )))
    }
}
