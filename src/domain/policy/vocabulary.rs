//! The organisation's vocabulary: the categories, data classifications,
//! teams and roles its policy set allows. A value outside it is refused
//! where it enters, with the allowed values listed: a typo must never let an
//! agent escape a rule.

use serde::{Deserialize, Serialize};

use crate::domain::agent::{Category, DataClassification};
use crate::domain::role::Role;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Vocabulary {
    pub categories: Vec<Category>,
    /// From least to most sensitive, so a rule can say "confidential or above".
    pub data_classifications: Vec<DataClassification>,
    /// The teams agents may belong to; empty: any team.
    #[serde(default)]
    pub teams: Vec<String>,
    /// The roles people may hold and approval steps may name.
    pub roles: Vec<Role>,
}

impl Default for Vocabulary {
    /// The built-in names.
    fn default() -> Self {
        Vocabulary {
            categories: Category::BUILTIN.to_vec(),
            data_classifications: DataClassification::BUILTIN.to_vec(),
            teams: Vec::new(),
            roles: Role::BUILTIN.to_vec(),
        }
    }
}

/// A value the vocabulary does not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {value:?} is not in the policy set's vocabulary (allowed: {allowed})")]
pub struct OutsideVocabulary {
    pub field: String,
    pub value: String,
    pub allowed: String,
}

fn outside<T: std::fmt::Display>(field: &str, value: &str, allowed: &[T]) -> OutsideVocabulary {
    OutsideVocabulary {
        field: field.to_owned(),
        value: value.to_owned(),
        allowed: allowed
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", "),
    }
}

impl Vocabulary {
    pub fn check_category(&self, category: Category) -> Result<(), OutsideVocabulary> {
        if self.categories.contains(&category) {
            Ok(())
        } else {
            Err(outside("category", category.as_str(), &self.categories))
        }
    }

    pub fn check_classification(
        &self,
        classification: DataClassification,
    ) -> Result<(), OutsideVocabulary> {
        if self.data_classifications.contains(&classification) {
            Ok(())
        } else {
            Err(outside(
                "data_classification",
                classification.as_str(),
                &self.data_classifications,
            ))
        }
    }

    pub fn check_team(&self, team: &str) -> Result<(), OutsideVocabulary> {
        if self.teams.is_empty() || self.teams.iter().any(|known| known == team) {
            Ok(())
        } else {
            Err(outside("team", team, &self.teams))
        }
    }

    pub fn check_role(&self, field: &str, role: Role) -> Result<(), OutsideVocabulary> {
        if self.roles.contains(&role) {
            Ok(())
        } else {
            Err(outside(field, role.as_str(), &self.roles))
        }
    }

    /// How sensitive a classification is (0: least), if the vocabulary
    /// holds it.
    pub fn sensitivity(&self, classification: DataClassification) -> Option<usize> {
        self.data_classifications
            .iter()
            .position(|known| *known == classification)
    }

    /// Whether `classification` is `floor` or more sensitive. A value
    /// outside the vocabulary counts as the most sensitive: it errs on the
    /// side of the rule.
    pub fn at_least(&self, classification: DataClassification, floor: DataClassification) -> bool {
        match (self.sensitivity(classification), self.sensitivity(floor)) {
            (Some(value), Some(floor)) => value >= floor,
            _ => true,
        }
    }

    /// Whether moving from `from` to `to` makes the data less sensitive.
    pub fn is_lower(&self, to: DataClassification, from: DataClassification) -> bool {
        match (self.sensitivity(to), self.sensitivity(from)) {
            (Some(to), Some(from)) => to < from,
            // A classification the vocabulary no longer holds: treat a change
            // away from it as a lowering, so it is looked at.
            (_, None) => to != from,
            (None, Some(_)) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifications_order_by_the_vocabulary_not_the_alphabet() {
        let vocabulary = Vocabulary::default();
        assert!(vocabulary.is_lower(
            DataClassification::Internal,
            DataClassification::Confidential
        ));
        assert!(!vocabulary.is_lower(DataClassification::Restricted, DataClassification::Public));
        assert!(vocabulary.at_least(
            DataClassification::Restricted,
            DataClassification::Confidential
        ));
        assert!(!vocabulary.at_least(
            DataClassification::Internal,
            DataClassification::Confidential
        ));
    }

    #[test]
    fn values_outside_name_what_is_allowed() {
        let vocabulary = Vocabulary::default();
        let internal_search = Category::new("internal_search").unwrap();
        let err = vocabulary.check_category(internal_search).unwrap_err();
        assert!(err.to_string().contains("\"internal_search\""), "{err}");
        assert!(
            err.to_string()
                .contains("customer_service, human_resources"),
            "{err}"
        );
        let mut own = Vocabulary::default();
        own.categories.push(internal_search);
        assert!(own.check_category(internal_search).is_ok());
        assert!(
            vocabulary.check_team("Any Team").is_ok(),
            "no teams listed: any team"
        );
    }
}
