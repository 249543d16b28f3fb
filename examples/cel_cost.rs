//! Measures one evaluation of the costliest conditions the static limits
//! allow (docs/policies.md): `cargo run --release --example cel_cost`.

use std::time::{Duration, Instant};

use gavel::domain::policy::condition::{Condition, ConditionSource, Evaluator};
use gavel::domain::policy::facts::RequestFacts;
use gavel::domain::policy::vocabulary::Vocabulary;

fn list(items: usize) -> String {
    let items: Vec<String> = (0..items).map(|n| n.to_string()).collect();
    format!("[{}]", items.join(", "))
}

fn main() {
    let l = list(50);
    let candidates = [
        (
            "nested all over two 50-item lists, arithmetic body",
            format!(
                "{l}.all(x, {l}.all(y, x * y + x + y >= 0 && x + y < 100000 && x - y > -100000 && x * 2 + y * 3 != -1))"
            ),
        ),
        (
            "nested all with `in` over a third list",
            format!("{l}.all(x, {l}.all(y, y in {l}))"),
        ),
        (
            "a mapped range",
            format!("{l}.map(x, {l}).all(y, y.all(z, z + 1 > 0))"),
        ),
        (
            "the largest pattern allowed, beside the loops",
            format!(
                "agent.name.matches('^(?:a{{100}}){{6}}b$') || {l}.all(x, {l}.all(y, y in {l}))"
            ),
        ),
        (
            "string building in the inner loop",
            format!(
                "{l}.all(x, {l}.all(y, (string(x) + string(y) + agent.name + agent.name).size() > 0))"
            ),
        ),
    ];
    let agent = gavel::domain::Agent {
        agent_id: "agt-1".into(),
        name: "n".repeat(200),
        team: "Team".into(),
        owner: "o@example.com".into(),
        category: gavel::domain::Category::CustomerService,
        data_classification: gavel::domain::DataClassification::Internal,
        has_external_tools: false,
        tools_approved: false,
        risk_tier: gavel::domain::RiskTier::Low,
        version: "1.0.0".into(),
        labels: Default::default(),
    };
    let evaluator = Evaluator::new(&Vocabulary::default());
    for (what, source) in candidates {
        let condition = match Condition::compile(&ConditionSource::Cel(source.clone())) {
            Ok(condition) => condition,
            Err(err) => {
                println!("{what}: refused: {err}");
                continue;
            }
        };
        let scope = evaluator.scope(&agent, &RequestFacts::default());
        let mut best = Duration::MAX;
        for _ in 0..5 {
            let started = Instant::now();
            let outcome = condition.evaluate(&scope);
            best = best.min(started.elapsed());
            std::hint::black_box(outcome);
        }
        println!("{what}: {best:?} ({} bytes)", source.len());
    }
}
