//! Policy conditions: CEL (Common Expression Language, the language of
//! Kubernetes admission policies and IAM conditions) over the agent and the
//! request, through the `cel` crate.
//!
//! A condition is written either as CEL text or, as the seed's policies
//! are, as a table of `field = value` meaning every field equals its value;
//! the table form is turned into the CEL it means, so both evaluate alike.
//!
//! The crate has no type checker, so a condition is checked when a policy
//! set is loaded: it must parse; it may read only `agent.<field>`,
//! `agent.labels.<key>` and `request.<fact>`; and it must give a boolean,
//! without error, for synthetic agents covering the vocabulary. At run time
//! an error never passes an agent: the policy counts as fired, in error.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use cel::common::ast::{Expr, IdedExpr};
use cel::{Context, ExecutionError, Program, Value};
use serde::{Deserialize, Serialize};

use crate::domain::agent::Agent;
use crate::domain::policy::facts::RequestFacts;
use crate::domain::policy::vocabulary::Vocabulary;

/// The agent fields a condition may read (`agent.labels` besides).
pub const AGENT_FIELDS: [&str; 10] = [
    "agent_id",
    "name",
    "team",
    "owner",
    "category",
    "data_classification",
    "has_external_tools",
    "tools_approved",
    "risk_tier",
    "version",
];

/// The request facts a condition may read as `request.<fact>`.
pub const REQUEST_FIELDS: [&str; 1] = ["lowers_risk_fields"];

/// A condition as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum ConditionSource {
    /// CEL text.
    Cel(String),
    /// `field = value` pairs, all of which must hold (the seed's form).
    #[schema(value_type = Object)]
    Equalities(BTreeMap<String, serde_json::Value>),
}

impl Default for ConditionSource {
    fn default() -> Self {
        ConditionSource::Equalities(BTreeMap::new())
    }
}

impl ConditionSource {
    /// The CEL the condition means.
    pub fn to_cel(&self) -> Result<String, String> {
        match self {
            ConditionSource::Cel(text) => Ok(text.clone()),
            ConditionSource::Equalities(pairs) if pairs.is_empty() => Ok("true".into()),
            ConditionSource::Equalities(pairs) => pairs
                .iter()
                .map(|(field, expected)| {
                    let subject = if AGENT_FIELDS.contains(&field.as_str()) {
                        format!("agent.{field}")
                    } else if REQUEST_FIELDS.contains(&field.as_str()) {
                        format!("request.{field}")
                    } else {
                        return Err(format!(
                            "unknown field {field:?} (agent fields: {}; request facts: {})",
                            AGENT_FIELDS.join(", "),
                            REQUEST_FIELDS.join(", ")
                        ));
                    };
                    let literal = match expected {
                        serde_json::Value::String(_) | serde_json::Value::Bool(_) => {
                            expected.to_string()
                        }
                        other => {
                            return Err(format!("{field}: {other} must be a string or a boolean"));
                        }
                    };
                    Ok(format!("{subject} == {literal}"))
                })
                .collect::<Result<Vec<_>, _>>()
                .map(|parts| parts.join(" && ")),
        }
    }

    /// Whether this is CEL text (shown as written) or the table form.
    pub fn is_cel(&self) -> bool {
        matches!(self, ConditionSource::Cel(_))
    }
}

impl std::fmt::Display for ConditionSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConditionSource::Cel(text) => f.write_str(text),
            ConditionSource::Equalities(pairs) if pairs.is_empty() => f.write_str("always"),
            ConditionSource::Equalities(pairs) => {
                let parts: Vec<String> = pairs
                    .iter()
                    .map(|(field, value)| format!("{field} = {value}"))
                    .collect();
                f.write_str(&parts.join(" and "))
            }
        }
    }
}

/// A condition ready to evaluate.
#[derive(Debug, Clone)]
pub struct Condition {
    cel: String,
    program: Arc<Program>,
    /// Label keys read without `has()`: an agent lacking one makes the
    /// condition error (and its policy fire), so `plan` warns of them.
    unguarded_labels: Vec<String>,
    /// The agent fields it reads (`labels`, or `*` for all of them).
    fields: std::collections::BTreeSet<String>,
    /// Whether it reads the request's facts.
    reads_request: bool,
    /// The label keys it reads by name (`agent.labels.region`).
    label_keys: std::collections::BTreeSet<String>,
    /// Whether it reads labels by a key computed at run time (or the whole
    /// agent), so any label may matter.
    reads_any_label: bool,
    /// The intake questions it reads by name (`intake.nyc_aedt`).
    intake_keys: std::collections::BTreeSet<String>,
    /// Whether it reads the intake whole or by a computed key.
    reads_any_intake: bool,
}

/// What a condition may read besides the agent and the request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reads {
    /// `intake.<question>`: the agent version's intake answers
    /// (obligations' conditions).
    pub intake: bool,
}

/// Why a condition cannot be used, with where in it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConditionError(pub String);

/// How a condition came out for one agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Holds,
    DoesNotHold,
    /// It could not be evaluated: the policy fires, saying why.
    Failed(String),
}

impl Condition {
    /// Compiles and checks the names a condition reads.
    pub fn compile(source: &ConditionSource) -> Result<Condition, ConditionError> {
        Condition::compile_reading(source, Reads::default())
    }

    /// Compiles a condition that may also read what `reads` allows.
    pub fn compile_reading(
        source: &ConditionSource,
        reads: Reads,
    ) -> Result<Condition, ConditionError> {
        let cel = source.to_cel().map_err(ConditionError)?;
        crate::domain::policy::cel_limits::check_source(&cel).map_err(ConditionError)?;
        let program = Program::compile(&cel)
            .map_err(|errors| ConditionError(format!("does not parse: {errors}")))?;
        crate::domain::policy::cel_limits::check_expression(program.expression())
            .map_err(ConditionError)?;
        let mut names = Names {
            allows_intake: reads.intake,
            ..Names::default()
        };
        names.walk(program.expression(), false);
        if let Some(problem) = names.problems.first() {
            return Err(ConditionError(problem.clone()));
        }
        Ok(Condition {
            cel,
            program: Arc::new(program),
            unguarded_labels: names.unguarded_labels,
            fields: names.fields,
            reads_request: names.reads_request,
            label_keys: names.label_keys,
            reads_any_label: names.reads_any_label,
            intake_keys: names.intake_keys,
            reads_any_intake: names.reads_any_intake,
        })
    }

    /// The intake questions it reads by name.
    pub fn intake_keys(&self) -> &std::collections::BTreeSet<String> {
        &self.intake_keys
    }

    /// The intake questions it reads by name that `intake` leaves
    /// unanswered (all of them without an intake).
    pub fn unanswered(&self, intake: Option<&crate::domain::review::Answers>) -> Vec<String> {
        self.intake_keys
            .iter()
            .filter(|key| {
                intake
                    .is_none_or(|answers| answers.get(*key).is_none_or(serde_json::Value::is_null))
            })
            .cloned()
            .collect()
    }

    /// Whether it reads the intake whole, or by a key computed at run time.
    pub fn reads_any_intake(&self) -> bool {
        self.reads_any_intake
    }

    /// Whether the label `key` can change how it comes out.
    pub fn reads_label(&self, key: &str) -> bool {
        self.reads_any_label || self.label_keys.contains(key)
    }

    /// The CEL evaluated (for a table condition, what it was turned into).
    pub fn cel(&self) -> &str {
        &self.cel
    }

    pub fn unguarded_labels(&self) -> &[String] {
        &self.unguarded_labels
    }

    /// The agent fields it reads: agents equal in these fields come out the
    /// same.
    pub fn fields(&self) -> &std::collections::BTreeSet<String> {
        &self.fields
    }

    /// Whether it reads the request (`request.lowers_risk_fields`), not only
    /// the agent.
    pub fn reads_request(&self) -> bool {
        self.reads_request
    }

    pub fn evaluate(&self, scope: &Scope) -> Outcome {
        match self.program.execute(&scope.context) {
            Ok(Value::Bool(true)) => Outcome::Holds,
            Ok(Value::Bool(false)) => Outcome::DoesNotHold,
            Ok(other) => Outcome::Failed(format!(
                "the condition gave {} instead of true or false",
                type_name(&other)
            )),
            Err(err) => Outcome::Failed(describe(&err)),
        }
    }

    /// Runs the condition over synthetic agents covering the vocabulary,
    /// with and without each request fact: a type error shows here, not
    /// when a real agent meets it. Missing labels are expected and do not
    /// count.
    pub fn check_against(
        &self,
        evaluator: &Evaluator,
        vocabulary: &Vocabulary,
    ) -> Result<(), ConditionError> {
        let mut unbounded = usize::MAX;
        self.check_within(evaluator, vocabulary, &mut unbounded)
    }

    /// As `check_against`, spending at most `budget` evaluations (taken
    /// from it): agents that differ only in fields the condition does not
    /// read come out alike, so one of each kind is evaluated.
    pub fn check_within(
        &self,
        evaluator: &Evaluator,
        vocabulary: &Vocabulary,
        budget: &mut usize,
    ) -> Result<(), ConditionError> {
        self.check_with_intakes(evaluator, vocabulary, budget, &[])
    }

    /// As `check_within`, once for each of `intakes` (none: the condition
    /// reads no intake).
    pub fn check_with_intakes(
        &self,
        evaluator: &Evaluator,
        vocabulary: &Vocabulary,
        budget: &mut usize,
        intakes: &[crate::domain::review::Answers],
    ) -> Result<(), ConditionError> {
        let no_intake = [crate::domain::review::Answers::new()];
        let intakes = if intakes.is_empty() {
            &no_intake[..]
        } else {
            intakes
        };
        let reads = |field: &str| self.fields.contains(field) || self.fields.contains("*");
        let mut seen = std::collections::HashSet::new();
        let requests: &[bool] = if self.reads_request {
            &[false, true]
        } else {
            &[false]
        };
        for agent in synthetic_agents(vocabulary) {
            let kind = (
                reads("category").then_some(agent.category),
                reads("data_classification").then_some(agent.data_classification),
                reads("risk_tier").then_some(agent.risk_tier),
                reads("has_external_tools").then_some(agent.has_external_tools),
                reads("tools_approved").then_some(agent.tools_approved),
            );
            if !seen.insert(kind) {
                continue;
            }
            for (&lowers, intake) in requests
                .iter()
                .flat_map(|lowers| intakes.iter().map(move |intake| (lowers, intake)))
            {
                *budget = budget.checked_sub(1).ok_or_else(|| {
                    ConditionError(
                        "checking it against every kind of agent the vocabulary allows would exceed the set's budget of evaluations: read fewer fields, or name fewer categories and classifications".into(),
                    )
                })?;
                let facts = RequestFacts {
                    lowers_risk_fields: lowers,
                };
                let scope = evaluator.scope_with_intake(&agent, &facts, intake);
                if let Outcome::Failed(why) = self.evaluate(&scope)
                    && !why.starts_with("no label")
                {
                    return Err(ConditionError(format!(
                        "{why} (for a {} agent with {} data)",
                        agent.category, agent.data_classification
                    )));
                }
            }
        }
        Ok(())
    }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Bool(_) => "a boolean",
        Value::Int(_) | Value::UInt(_) | Value::Float(_) => "a number",
        Value::String(_) => "a string",
        Value::List(_) => "a list",
        Value::Map(_) => "a map",
        Value::Null => "null",
        _ => "a value",
    }
}

fn describe(err: &ExecutionError) -> String {
    match err {
        ExecutionError::NoSuchKey(key) => {
            format!(
                "no label {key:?} on this agent, or no intake answer (read them with has() first)"
            )
        }
        other => other.to_string(),
    }
}

/// Walks an expression for the variables and fields it reads.
#[derive(Default)]
struct Names {
    problems: Vec<String>,
    unguarded_labels: Vec<String>,
    /// Agent fields read (`labels` for any label; `*` for the whole agent).
    fields: std::collections::BTreeSet<String>,
    /// Whether `request` is read at all.
    reads_request: bool,
    /// Label keys read by name.
    label_keys: std::collections::BTreeSet<String>,
    /// Labels read by a computed key, or the agent read whole.
    reads_any_label: bool,
    /// Whether `intake` may be read at all.
    allows_intake: bool,
    intake_keys: std::collections::BTreeSet<String>,
    reads_any_intake: bool,
}

impl Names {
    fn walk(&mut self, node: &IdedExpr, guarded: bool) {
        match &node.expr {
            Expr::Ident(name) if name == "agent" => {
                // The agent as a whole (passed to a function, say).
                self.fields.insert("*".into());
                self.reads_any_label = true;
            }
            Expr::Ident(name) if name == "request" => self.reads_request = true,
            Expr::Ident(name) if name == "intake" && self.allows_intake => {
                self.reads_any_intake = true;
            }
            Expr::Ident(name) if name == "intake" => self
                .problems
                .push("intake answers are read by obligations' conditions, not here".into()),
            Expr::Ident(name) => {
                // Comprehension variables (`x` in `list.all(x, ...)`) are
                // bound by the macro: only free names are variables.
                self.problems.push(format!(
                    "unknown variable {name:?}: a condition reads `agent` and `request`"
                ));
            }
            Expr::Select(select) => {
                match &select.operand.expr {
                    Expr::Ident(root) if root == "agent" => {
                        self.fields.insert(select.field.clone());
                        // `agent.labels` not followed by a key: indexed
                        // (`agent.labels[k]`) or read whole.
                        self.reads_any_label |= select.field == "labels";
                        if select.field != "labels"
                            && !AGENT_FIELDS.contains(&select.field.as_str())
                        {
                            self.problems.push(format!(
                                "unknown field agent.{} (fields: {}, labels)",
                                select.field,
                                AGENT_FIELDS.join(", ")
                            ));
                        }
                        return;
                    }
                    Expr::Ident(root) if root == "intake" && self.allows_intake => {
                        self.intake_keys.insert(select.field.clone());
                        return;
                    }
                    Expr::Ident(root) if root == "request" => {
                        self.reads_request = true;
                        if !REQUEST_FIELDS.contains(&select.field.as_str()) {
                            self.problems.push(format!(
                                "unknown fact request.{} (facts: {})",
                                select.field,
                                REQUEST_FIELDS.join(", ")
                            ));
                        }
                        return;
                    }
                    Expr::Select(inner)
                        if inner.field == "labels"
                            && matches!(&inner.operand.expr, Expr::Ident(root) if root == "agent") =>
                    {
                        self.fields.insert("labels".into());
                        self.label_keys.insert(select.field.clone());
                        if !(select.test || guarded) {
                            self.unguarded_labels.push(select.field.clone());
                        }
                        return;
                    }
                    _ => {}
                }
                self.walk(&select.operand, guarded);
            }
            Expr::Call(call) => {
                // `has(agent.labels.x) && agent.labels.x == ...`: the right
                // side is guarded by the left.
                let guards = call.func_name == "_&&_" && call.args.first().is_some_and(reads_has);
                if let Some(target) = &call.target {
                    self.walk(target, guarded);
                }
                for (index, arg) in call.args.iter().enumerate() {
                    self.walk(arg, guarded || (guards && index > 0));
                }
            }
            Expr::List(list) => {
                for element in &list.elements {
                    self.walk(element, guarded);
                }
            }
            Expr::Map(map) => {
                for entry in &map.entries {
                    if let cel::common::ast::EntryExpr::MapEntry(entry) = &entry.expr {
                        self.walk(&entry.key, guarded);
                        self.walk(&entry.value, guarded);
                    }
                }
            }
            Expr::Comprehension(comprehension) => {
                self.walk(&comprehension.iter_range, guarded);
                let mut inner = Names {
                    allows_intake: self.allows_intake,
                    ..Names::default()
                };
                for part in [
                    &comprehension.accu_init,
                    &comprehension.loop_cond,
                    &comprehension.loop_step,
                    &comprehension.result,
                ] {
                    inner.walk(part, guarded);
                }
                let bound = [
                    comprehension.iter_var.as_str(),
                    comprehension.accu_var.as_str(),
                ];
                self.problems
                    .extend(inner.problems.into_iter().filter(|problem| {
                        !bound
                            .iter()
                            .any(|name| problem.starts_with(&format!("unknown variable {name:?}")))
                            && !comprehension.iter_var2.as_deref().is_some_and(|name| {
                                problem.starts_with(&format!("unknown variable {name:?}"))
                            })
                    }));
                self.unguarded_labels.extend(inner.unguarded_labels);
                self.fields.extend(inner.fields);
                self.reads_request |= inner.reads_request;
                self.label_keys.extend(inner.label_keys);
                self.reads_any_label |= inner.reads_any_label;
                self.intake_keys.extend(inner.intake_keys);
                self.reads_any_intake |= inner.reads_any_intake;
            }
            _ => {}
        }
    }
}

fn reads_has(node: &IdedExpr) -> bool {
    match &node.expr {
        Expr::Select(select) => select.test,
        Expr::Call(call) if call.func_name == "_&&_" => call.args.iter().any(reads_has),
        _ => false,
    }
}

/// The variables one evaluation sees.
pub struct Scope<'a> {
    context: Context<'a, 'static>,
}

/// Evaluates conditions under one vocabulary: holds the `at_least`
/// function, which orders classifications as the vocabulary does.
pub struct Evaluator {
    base: Context<'static, 'static>,
}

impl Evaluator {
    pub fn new(vocabulary: &Vocabulary) -> Evaluator {
        let mut base = Context::default();
        let order: Arc<Vec<String>> = Arc::new(
            vocabulary
                .data_classifications
                .iter()
                .map(|name| name.as_str().to_owned())
                .collect(),
        );
        // The names are fixed here and cannot clash with the standard
        // library's, so adding them cannot fail.
        let _ = base.add_function(
            "at_least",
            move |value: Arc<String>, floor: Arc<String>| -> bool {
                let rank = |name: &str| order.iter().position(|known| known == name);
                match (rank(&value), rank(&floor)) {
                    (Some(value), Some(floor)) => value >= floor,
                    // Outside the vocabulary: err on the side of the rule.
                    _ => true,
                }
            },
        );
        Evaluator { base }
    }

    /// The agent, its version's intake answers and the request, as an
    /// obligation's condition reads them: only answered questions are in
    /// `intake`.
    pub fn scope_with_intake(
        &self,
        agent: &Agent,
        facts: &RequestFacts,
        intake: &crate::domain::review::Answers,
    ) -> Scope<'_> {
        let mut scope = self.scope(agent, facts);
        let answers: HashMap<String, Value> = intake
            .iter()
            .filter(|(_, answer)| !answer.is_null())
            .map(|(question, answer)| (question.clone(), json_to_cel(answer)))
            .collect();
        scope
            .context
            .add_variable_from_value("intake", Value::from(answers));
        scope
    }

    /// The agent and the request as a condition reads them.
    pub fn scope(&self, agent: &Agent, facts: &RequestFacts) -> Scope<'_> {
        let mut fields: HashMap<String, Value> = HashMap::with_capacity(AGENT_FIELDS.len() + 1);
        for field in AGENT_FIELDS {
            if let Some(value) = agent.attribute(field) {
                fields.insert(field.to_owned(), json_to_cel(&value));
            }
        }
        let labels: HashMap<String, Value> = agent
            .labels
            .iter()
            .map(|(key, value)| (key.clone(), Value::from(value.as_str())))
            .collect();
        fields.insert("labels".to_owned(), Value::from(labels));
        let mut request: HashMap<String, Value> = HashMap::new();
        request.insert(
            "lowers_risk_fields".to_owned(),
            Value::Bool(facts.lowers_risk_fields),
        );
        let mut context = self.base.new_inner_scope();
        context.add_variable_from_value("agent", Value::from(fields));
        context.add_variable_from_value("request", Value::from(request));
        Scope { context }
    }
}

fn json_to_cel(value: &serde_json::Value) -> Value {
    match value {
        serde_json::Value::Bool(flag) => Value::Bool(*flag),
        serde_json::Value::String(text) => Value::from(text.as_str()),
        serde_json::Value::Number(number) => number
            .as_i64()
            .map(Value::Int)
            .unwrap_or_else(|| Value::Float(number.as_f64().unwrap_or_default())),
        // A multi-choice answer: a list of strings.
        serde_json::Value::Array(items) => {
            Value::List(Arc::new(items.iter().map(json_to_cel).collect()))
        }
        _ => Value::Null,
    }
}

/// One agent per category, classification, risk tier and tool state: every
/// combination a condition over the vocabulary can meet.
pub(crate) fn synthetic_agents(vocabulary: &Vocabulary) -> Vec<Agent> {
    use crate::domain::agent::RiskTier;
    let mut agents = Vec::new();
    for &category in &vocabulary.categories {
        for &data_classification in &vocabulary.data_classifications {
            for risk_tier in RiskTier::ALL {
                for (has_external_tools, tools_approved) in
                    [(false, false), (true, false), (true, true)]
                {
                    agents.push(Agent {
                        agent_id: "agt-synthetic".into(),
                        name: "Synthetic agent".into(),
                        team: vocabulary
                            .teams
                            .first()
                            .cloned()
                            .unwrap_or_else(|| "Any team".into()),
                        owner: "owner@example.com".into(),
                        category,
                        data_classification,
                        has_external_tools,
                        tools_approved,
                        risk_tier,
                        version: "1.0.0".into(),
                        labels: BTreeMap::new(),
                    });
                }
            }
        }
    }
    agents
}

#[cfg(test)]
mod tests;
