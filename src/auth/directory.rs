//! From the directory's groups to Gavel's roles and teams: the directory
//! decides who is a compliance officer; Gavel only maps names.

use std::collections::{BTreeMap, BTreeSet};

use crate::domain::Role;

/// The mapping of `[auth.oidc] roles` and `teams`, checked.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Directory {
    /// Where the groups are in a token's claims, as path segments.
    claim: Vec<String>,
    roles: BTreeMap<String, Vec<Role>>,
    teams: BTreeMap<String, Vec<String>>,
}

/// What a person's groups give them in Gavel.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Membership {
    pub groups: Vec<String>,
    pub roles: Vec<Role>,
    pub teams: Vec<String>,
}

impl Directory {
    /// Whether any group maps to a role or a team (otherwise people's
    /// roles are an administrator's to give).
    pub fn maps_anything(&self) -> bool {
        !self.roles.is_empty() || !self.teams.is_empty()
    }

    pub fn new(
        claim: &str,
        roles: &BTreeMap<String, Vec<String>>,
        teams: &BTreeMap<String, Vec<String>>,
    ) -> Result<Directory, String> {
        let claim: Vec<String> = claim.split('.').map(str::to_owned).collect();
        if claim.iter().any(String::is_empty) {
            return Err(
                "groups_claim must name a claim, such as `groups` or `realm_access.roles`".into(),
            );
        }
        let roles = roles
            .iter()
            .map(|(group, names)| {
                let roles = names
                    .iter()
                    .map(|name| {
                        name.parse::<Role>()
                            .map_err(|err| format!("[auth.oidc.roles] {group:?}: {err}"))
                    })
                    .collect::<Result<Vec<Role>, String>>()?;
                Ok((group.clone(), roles))
            })
            .collect::<Result<_, String>>()?;
        Ok(Directory {
            claim,
            roles,
            teams: teams.clone(),
        })
    }

    /// The person's groups in `claims` and what they map to. A claim that
    /// is missing or not a list of strings is no groups (a single string is
    /// one group: some providers send that for one).
    pub fn membership(&self, claims: &serde_json::Map<String, serde_json::Value>) -> Membership {
        let mut value = None;
        let mut scope = Some(claims);
        for segment in &self.claim {
            value = scope.and_then(|object| object.get(segment));
            scope = value.and_then(serde_json::Value::as_object);
        }
        let groups: Vec<String> = match value {
            Some(serde_json::Value::Array(items)) => items
                .iter()
                .filter_map(serde_json::Value::as_str)
                .map(str::to_owned)
                .collect(),
            Some(serde_json::Value::String(one)) => vec![one.clone()],
            _ => Vec::new(),
        };
        self.membership_of(groups)
    }

    /// What `groups` (by name) give a person: the same mapping for a
    /// token's groups and for the groups SCIM provisions.
    pub fn membership_of(&self, groups: Vec<String>) -> Membership {
        let mut roles = BTreeSet::new();
        let mut teams = BTreeSet::new();
        for group in &groups {
            roles.extend(self.roles.get(group).into_iter().flatten().copied());
            teams.extend(self.teams.get(group).into_iter().flatten().cloned());
        }
        // Roles in the order Gavel lists them everywhere (the approval
        // chain's), whatever order the groups came in.
        let mut roles: Vec<Role> = roles.into_iter().collect();
        roles.sort_by_key(|role| {
            (
                Role::ALL
                    .iter()
                    .position(|known| known == role)
                    .unwrap_or(usize::MAX),
                role.as_str(),
            )
        });
        Membership {
            groups,
            roles,
            teams: teams.into_iter().collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn directory(claim: &str) -> Directory {
        let roles = BTreeMap::from([
            (
                "gavel-compliance".to_owned(),
                vec!["compliance_officer".to_owned()],
            ),
            (
                "gavel-leads".to_owned(),
                vec!["technical_lead".to_owned(), "ml_engineer".to_owned()],
            ),
        ]);
        let teams = BTreeMap::from([("hr-ml".to_owned(), vec!["hr".to_owned()])]);
        Directory::new(claim, &roles, &teams).expect("a valid mapping")
    }

    fn claims(json: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
        json.as_object().cloned().expect("an object")
    }

    #[test]
    fn groups_map_to_roles_and_teams_and_unknown_groups_give_nothing() {
        let membership = directory("groups").membership(&claims(serde_json::json!({
            "groups": ["gavel-leads", "hr-ml", "everyone", 7]
        })));
        assert_eq!(
            membership.roles,
            vec![Role::TechnicalLead, Role::MlEngineer]
        );
        assert_eq!(membership.teams, vec!["hr".to_owned()]);
        assert_eq!(membership.groups.len(), 3);
    }

    #[test]
    fn a_dotted_claim_reaches_into_objects_and_a_missing_one_is_no_groups() {
        let keycloak = directory("realm_access.roles");
        let membership = keycloak.membership(&claims(serde_json::json!({
            "realm_access": { "roles": ["gavel-compliance"] }
        })));
        assert_eq!(membership.roles, vec![Role::ComplianceOfficer]);
        let none = keycloak.membership(&claims(
            serde_json::json!({ "groups": ["gavel-compliance"] }),
        ));
        assert!(none.roles.is_empty() && none.groups.is_empty());
    }

    #[test]
    fn a_mapping_to_a_malformed_role_is_refused() {
        let roles = BTreeMap::from([("g".to_owned(), vec!["Not A Role".to_owned()])]);
        let err = Directory::new("groups", &roles, &BTreeMap::new()).expect_err("refused");
        assert!(err.contains("\"g\""), "{err}");
        assert!(Directory::new("groups..x", &BTreeMap::new(), &BTreeMap::new()).is_err());
    }
}
