//! Risk floors: the least tier an agent can have, remembered per kind of
//! agent (every request asks, and CEL is the cost).

use crate::domain::agent::{Agent, RiskTier};
use crate::domain::policy::condition::Outcome;
use crate::domain::policy::facts::RequestFacts;

use super::PolicySet;

/// The most distinct agents whose floors are remembered; past it the
/// memory starts over (a set with floors over names would grow it).
const MAX_FLOORS_FOUND: usize = 4_096;

/// Agents' values in `fields`, as one string: equal for agents a condition
/// reading only those fields cannot tell apart. None when a field is `*`
/// (the whole agent).
pub(crate) fn fields_key(
    agent: &Agent,
    fields: &std::collections::BTreeSet<String>,
) -> Option<String> {
    if fields.contains("*") {
        return None;
    }
    let mut key = String::new();
    for field in fields {
        if field == "labels" {
            key.push_str(&serde_json::to_string(&agent.labels).unwrap_or_default());
        } else if let Some(value) = agent.attribute(field) {
            key.push_str(&value.to_string());
        }
        key.push('\u{1f}');
    }
    Some(key)
}

/// The answers to the questions `read`, as part of a key: agents whose
/// answers differ there are not alike to the sets.
pub(crate) fn intake_key(
    read: Option<&std::collections::BTreeSet<String>>,
    answers: Option<&crate::domain::review::Answers>,
) -> String {
    let Some(answers) = answers else {
        return "\u{1f}none".to_owned();
    };
    let value = match read {
        None => serde_json::to_string(answers),
        Some(keys) => {
            serde_json::to_string(&keys.iter().map(|key| answers.get(key)).collect::<Vec<_>>())
        }
    };
    format!("\u{1f}{}", value.unwrap_or_default())
}

impl PolicySet {
    /// What of an agent's intake answers its policies and floors read, as
    /// part of a key (empty when they read none).
    pub(crate) fn intake_part(&self, answers: Option<&crate::domain::review::Answers>) -> String {
        match self.intake_read() {
            Some(keys) if keys.is_empty() => String::new(),
            read => intake_key(read.as_ref(), answers),
        }
    }

    /// The least tier an agent can have, and why; a floor whose condition
    /// errors applies (failing closed).
    pub fn minimum_risk(&self, agent: &Agent) -> (RiskTier, Option<String>) {
        self.minimum_risk_with(agent, &crate::domain::review::Answers::new())
    }

    /// As `minimum_risk`, with the agent version's submitted intake (which
    /// floors may read).
    pub fn minimum_risk_with(
        &self,
        agent: &Agent,
        intake: &crate::domain::review::Answers,
    ) -> (RiskTier, Option<String>) {
        if self.floors.is_empty() {
            return (RiskTier::Low, None);
        }
        let Some(mut key) = fields_key(agent, &self.floor_fields) else {
            return self.find_minimum_risk(agent, intake);
        };
        // Agents alike whose intakes differ are not alike to a floor that
        // reads them.
        if self
            .floors
            .iter()
            .any(|floor| !floor.intake_keys().is_empty() || floor.reads_any_intake())
        {
            key.push_str(&serde_json::to_string(intake).unwrap_or_default());
        }
        // A poisoned lock only loses the memory, never the answer.
        if let Some(found) = self
            .floors_found
            .lock()
            .ok()
            .and_then(|found| found.get(&key).cloned())
        {
            return found;
        }
        let found = self.find_minimum_risk(agent, intake);
        if let Ok(mut memory) = self.floors_found.lock() {
            if memory.len() >= MAX_FLOORS_FOUND {
                memory.clear();
            }
            memory.insert(key, found.clone());
        }
        found
    }

    fn find_minimum_risk(
        &self,
        agent: &Agent,
        intake: &crate::domain::review::Answers,
    ) -> (RiskTier, Option<String>) {
        let scope = self
            .evaluator
            .scope_with_intake(agent, &RequestFacts::default(), intake);
        let mut least = (RiskTier::Low, None);
        for (floor, condition) in self.file.minimum_risk.iter().zip(&self.floors) {
            let applies = !matches!(condition.evaluate(&scope), Outcome::DoesNotHold);
            if applies && floor.tier > least.0 {
                least = (floor.tier, Some(floor.reason.clone()));
            }
        }
        least
    }
}
