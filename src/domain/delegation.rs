//! Delegation: while a person is away, someone already holding their role
//! decides their steps and receives their notifications. A decision made
//! under a delegation counts as both people's for separation of duties,
//! and delegations are never passed on (A -> B -> C gives C nothing).

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::role::Role;

/// The longest a delegation may run.
pub const MAX_LENGTH: TimeDelta = TimeDelta::days(366);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Delegation {
    pub delegation_id: String,
    /// The person away.
    pub delegator: String,
    /// The person deciding for them.
    pub delegate: String,
    /// The role it was asked for; none: every reviewer role both held.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    /// The roles it covers, fixed when it was made: roles either person
    /// gains later are not delegated by it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<Role>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    /// When the delegator ended it early.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<DateTime<Utc>>,
}

impl Delegation {
    /// When it stops applying: its end, or when it was ended early.
    pub fn until(&self) -> DateTime<Utc> {
        self.ended_at
            .map_or(self.ends_at, |ended| ended.min(self.ends_at))
    }

    /// Whether it applies at `at`.
    pub fn active_at(&self, at: DateTime<Utc>) -> bool {
        self.starts_at <= at && at < self.until()
    }

    /// The roles it covers (a copy from a server that did not list them
    /// covers the role it names, or nothing).
    pub fn covered_roles(&self) -> Vec<Role> {
        if self.roles.is_empty() {
            self.role.into_iter().collect()
        } else {
            self.roles.clone()
        }
    }

    /// The roles it covers, in words.
    pub fn roles_label(&self) -> String {
        let roles = self.covered_roles();
        if roles.is_empty() {
            return "no role".into();
        }
        roles
            .iter()
            .map(|role| role.label().into_owned())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Whether it lets its delegate act in `role` at `at`.
    pub fn covers(&self, role: Role, at: DateTime<Utc>) -> bool {
        self.active_at(at) && self.covered_roles().contains(&role)
    }

    /// "active", "scheduled" or "ended", at `now`.
    pub fn state(&self, now: DateTime<Utc>) -> &'static str {
        if now >= self.until() {
            "ended"
        } else if now < self.starts_at {
            "scheduled"
        } else {
            "active"
        }
    }
}

/// A delegation as asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NewDelegation {
    /// The delegate's email.
    pub to: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
}

/// The roles a delegation covers: the one named, which both must hold, or
/// every reviewer role both hold.
pub fn covered_roles(
    request: &NewDelegation,
    delegator_roles: &[Role],
    delegate_roles: &[Role],
    now: DateTime<Utc>,
) -> Result<Vec<Role>, String> {
    if request.ends_at <= request.starts_at {
        return Err(format!(
            "the delegation ends ({}) before it starts ({})",
            request.ends_at, request.starts_at
        ));
    }
    if request.ends_at <= now {
        return Err(format!(
            "the delegation would end in the past ({})",
            request.ends_at
        ));
    }
    if request.ends_at - request.starts_at > MAX_LENGTH {
        return Err(format!(
            "a delegation runs at most {} days; make a new one when it ends",
            MAX_LENGTH.num_days()
        ));
    }
    match request.role {
        Some(role) if !delegator_roles.contains(&role) => Err(format!(
            "you do not hold the {} role, so you cannot delegate it",
            role.label()
        )),
        Some(role) if !delegate_roles.contains(&role) => Err(format!(
            "{} does not hold the {} role: a delegate must already hold the role",
            request.to,
            role.label()
        )),
        Some(role) => Ok(vec![role]),
        None => {
            let shared: Vec<Role> = delegator_roles
                .iter()
                .copied()
                .filter(|role| *role != Role::PolicyAdmin && delegate_roles.contains(role))
                .collect();
            if shared.is_empty() {
                Err(format!(
                    "{} holds none of your roles: a delegate must already hold the role",
                    request.to
                ))
            } else {
                Ok(shared)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn day(d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, d, 0, 0, 0).unwrap()
    }

    fn request(role: Option<Role>) -> NewDelegation {
        NewDelegation {
            to: "sam@example.com".into(),
            starts_at: day(2),
            ends_at: day(9),
            role,
        }
    }

    #[test]
    fn the_delegate_must_already_hold_the_role() {
        let lead = [Role::TechnicalLead];
        let both = [Role::TechnicalLead, Role::DataSteward];
        assert_eq!(
            covered_roles(&request(None), &both, &lead, day(1)),
            Ok(vec![Role::TechnicalLead])
        );
        assert!(
            covered_roles(&request(Some(Role::DataSteward)), &both, &lead, day(1))
                .unwrap_err()
                .contains("must already hold")
        );
        assert!(
            covered_roles(&request(Some(Role::MlEngineer)), &both, &both, day(1))
                .unwrap_err()
                .contains("you do not hold")
        );
        assert!(covered_roles(&request(None), &both, &[Role::MlEngineer], day(1)).is_err());
    }

    #[test]
    fn times_must_make_sense() {
        let lead = [Role::TechnicalLead];
        let mut backwards = request(None);
        backwards.ends_at = day(1);
        assert!(covered_roles(&backwards, &lead, &lead, day(1)).is_err());
        assert!(covered_roles(&request(None), &lead, &lead, day(10)).is_err());
        let mut long = request(None);
        long.ends_at = day(2) + TimeDelta::days(400);
        assert!(covered_roles(&long, &lead, &lead, day(1)).is_err());
    }

    #[test]
    fn a_delegation_covers_the_roles_it_was_made_with_not_those_gained_later() {
        let delegation = Delegation {
            delegation_id: "dlg-2".into(),
            delegator: "ana@example.com".into(),
            delegate: "sam@example.com".into(),
            role: None,
            roles: vec![Role::TechnicalLead],
            starts_at: day(2),
            ends_at: day(9),
            created_at: day(1),
            ended_at: None,
        };
        assert!(delegation.covers(Role::TechnicalLead, day(3)));
        assert!(!delegation.covers(Role::DataSteward, day(3)));
        let unlisted = Delegation {
            roles: Vec::new(),
            ..delegation
        };
        assert!(
            !unlisted.covers(Role::TechnicalLead, day(3)),
            "a copy without its roles and without a named role covers nothing"
        );
    }

    #[test]
    fn a_delegation_covers_its_role_between_its_times_until_ended() {
        let mut delegation = Delegation {
            delegation_id: "dlg-1".into(),
            delegator: "ana@example.com".into(),
            delegate: "sam@example.com".into(),
            role: Some(Role::TechnicalLead),
            roles: vec![Role::TechnicalLead],
            starts_at: day(2),
            ends_at: day(9),
            created_at: day(1),
            ended_at: None,
        };
        assert!(!delegation.covers(Role::TechnicalLead, day(1)));
        assert!(delegation.covers(Role::TechnicalLead, day(2)));
        assert!(!delegation.covers(Role::DataSteward, day(3)));
        assert!(!delegation.covers(Role::TechnicalLead, day(9)));
        assert_eq!(delegation.state(day(1)), "scheduled");
        delegation.ended_at = Some(day(4));
        assert!(!delegation.covers(Role::TechnicalLead, day(5)));
        assert_eq!(delegation.state(day(5)), "ended");
    }
}
