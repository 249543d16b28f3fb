//! The Reviews, Audits, Blocked and Policies tabs on `TestBackend`.

mod common;

use chrono::Duration;
use common::harness::{Harness, anchor};
use gavel::backend::{Decision, GovernanceBackend};
use gavel::domain::bias::{self, AuditSubmission, GroupCounts};
use gavel::domain::{ReviewStatus, Role, Verdict};
use gavel::tui::command::Command;
use gavel::tui::screens::review_form::FormSubject;
use gavel::tui::tab::Tab;
use gavel::tui::theme::Theme;
use ratatui::crossterm::event::{KeyCode, KeyModifiers};
use serde_json::json;

async fn harness() -> Harness {
    Harness::new(120, 40, Theme::load("default", None).expect("theme")).await
}

async fn ctrl(h: &mut Harness, c: char) {
    h.key(KeyCode::Char(c), KeyModifiers::CONTROL).await;
}

/// Lets the draft timer fire, as the event loop's tick would.
async fn pause_typing(h: &mut Harness) {
    let later = h.app.now + Duration::seconds(2);
    let (_, commands) = h.app.tick(later);
    assert!(
        commands
            .iter()
            .any(|c| matches!(c, Command::SaveDraft { .. })),
        "a draft save is due"
    );
    h.run(commands).await;
}

/// Fills the default template with valid answers, through the keyboard.
async fn fill_valid(h: &mut Harness) {
    h.press(KeyCode::Char(' ')).await; // 1: appropriate
    h.press(KeyCode::Tab).await;
    h.keys("y").await; // 2: yes
    h.press(KeyCode::Tab).await;
    h.press(KeyCode::Right).await; // 3: job applicants
    h.press(KeyCode::Char(' ')).await;
    h.press(KeyCode::Tab).await;
    h.keys("4").await; // 4: scale
    h.press(KeyCode::Tab).await;
    h.keys("Proxy bias; mitigated by audits.").await; // 5: long text
    h.press(KeyCode::Tab).await;
    h.press(KeyCode::Char(' ')).await; // 6: approve
}

#[tokio::test]
async fn the_reviews_tab_lists_work_to_do_first() {
    let mut h = harness().await;
    h.keys("2").await;
    assert_eq!(h.app.tab, Tab::Reviews);
    let statuses: Vec<ReviewStatus> = h.app.reviews.items.iter().map(|item| item.status).collect();
    let first_submitted = statuses
        .iter()
        .position(|s| *s == ReviewStatus::Submitted)
        .unwrap_or(statuses.len());
    assert!(
        statuses[first_submitted..]
            .iter()
            .all(|s| *s == ReviewStatus::Submitted),
        "{statuses:?}"
    );
    insta::assert_snapshot!("reviews_list", h.screen());
}

#[tokio::test]
async fn typing_in_the_form_produces_the_right_answers() {
    let mut h = harness().await;
    h.open_fresh_review().await;
    insta::assert_snapshot!("review_form", h.screen());
    fill_valid(&mut h).await;
    let form = h.app.reviews.form.as_ref().expect("form");
    assert_eq!(
        serde_json::to_value(form.answers()).expect("json"),
        json!({
            "use_case_appropriateness": "appropriate",
            "training_data_ethically_sourced": true,
            "affected_populations": ["job_applicants"],
            "values_alignment": 4,
            "risks_and_mitigations": "Proxy bias; mitigated by audits.",
            "recommendation": "approve"
        })
    );
    h.key(KeyCode::BackTab, KeyModifiers::SHIFT).await;
    assert_eq!(
        h.app.reviews.form.as_ref().map(|f| f.focus),
        Some(4),
        "shift-tab goes back"
    );
}

/// A long answer wraps in its field, at 120 and at 80 columns: its start
/// and its end are both on screen once the reviewer moves on, and again
/// when the draft is reopened.
#[tokio::test]
async fn long_answers_wrap_and_show_from_their_start() {
    for width in [120, 80] {
        let mut h = Harness::new(width, 40, Theme::load("default", None).expect("theme")).await;
        h.open_fresh_review().await;
        for _ in 0..4 {
            h.press(KeyCode::Tab).await;
        }
        let answer = "Opening words of the answer. ".to_owned()
            + &"Proxies for protected traits are checked every quarter. ".repeat(3)
            + "Closing words.";
        h.keys(&answer).await;
        h.press(KeyCode::Tab).await;
        let screen = h.screen();
        assert!(
            screen.contains("Opening words of the answer.") && screen.contains("Closing words."),
            "{width} columns, the field at rest:\n{screen}"
        );
        // No line of the screen runs past its width.
        assert!(
            screen
                .lines()
                .all(|line| gavel::text::width(line) <= usize::from(width)),
            "{screen}"
        );
        // Reopened, the draft reads the same.
        pause_typing(&mut h).await;
        h.press(KeyCode::Esc).await;
        h.press(KeyCode::Enter).await;
        let screen = h.screen();
        assert!(
            screen.contains("Opening words of the answer.") && screen.contains("Closing words."),
            "{width} columns, reopened:\n{screen}"
        );
    }
}

/// The submit summary takes every key it is shown for: typing and
/// scrolling there change no answer behind it, and it scrolls to its end
/// at 80x24, where it is longer than the window.
#[tokio::test]
async fn the_submit_summary_takes_every_key_and_scrolls() {
    let mut h = Harness::new(80, 24, Theme::load("default", None).expect("theme")).await;
    h.open_fresh_review().await;
    fill_valid(&mut h).await;
    let before = h.app.reviews.form.as_ref().expect("form").answers();
    ctrl(&mut h, 's').await;
    assert!(h.app.reviews.form.as_ref().is_some_and(|f| f.summary));
    // Drawn, as a person sees it before the next key.
    assert!(h.screen().contains("Submit this review?"));
    h.keys("jjjjjjkjxyz q1").await;
    h.press(KeyCode::PageDown).await;
    h.press(KeyCode::Tab).await;
    h.press(KeyCode::Backspace).await;
    h.press(KeyCode::Enter).await;
    let form = h.app.reviews.form.as_ref().expect("the form is still open");
    assert!(form.summary, "still the summary");
    assert_eq!(form.answers(), before, "no key reached the answers");
    assert_eq!(form.focus, 5, "nor moved the field behind");
    h.press(KeyCode::Char('G')).await;
    let screen = h.screen();
    assert!(
        screen.contains("ctrl-s submit") && !screen.contains("Is the use case appropriate"),
        "the end of the summary can be reached at 80x24:\n{screen}"
    );
    h.press(KeyCode::Char('g')).await;
    assert!(
        h.screen().contains("Is the use case appropriate"),
        "{}",
        h.screen()
    );
    h.press(KeyCode::Esc).await;
    let form = h.app.reviews.form.as_ref().expect("form");
    assert!(!form.summary);
    assert_eq!(form.answers(), before);
}

#[tokio::test]
async fn submit_refuses_invalid_answers_and_jumps_to_the_first_problem() {
    let mut h = harness().await;
    let review_id = h.open_fresh_review().await;
    h.press(KeyCode::Tab).await;
    h.press(KeyCode::Tab).await;
    ctrl(&mut h, 's').await;
    let form = h.app.reviews.form.as_ref().expect("form");
    assert!(!form.summary, "no summary while answers are missing");
    assert_eq!(form.focus, 0, "focus jumps to the first problem");
    assert_eq!(form.issues.len(), 6, "{:?}", form.issues);
    let screen = h.screen();
    assert!(
        screen.contains("problem(s) to fix") && screen.contains("✗"),
        "{screen}"
    );
    insta::assert_snapshot!("review_form_errors", screen);
    assert!(
        !h.emitted
            .iter()
            .any(|c| matches!(c, Command::SubmitReview { .. }))
    );
    // Rejecting without a rationale is caught as well.
    fill_valid(&mut h).await;
    h.press(KeyCode::Right).await;
    h.press(KeyCode::Right).await;
    h.press(KeyCode::Char(' ')).await;
    ctrl(&mut h, 's').await;
    let form = h.app.reviews.form.as_ref().expect("form");
    assert_eq!(
        form.issues
            .iter()
            .map(|i| i.question_id.as_str())
            .collect::<Vec<_>>(),
        ["rationale"]
    );
    let stored = h.backend.review(&review_id).await.expect("review");
    assert_ne!(stored.status, ReviewStatus::Submitted);
}

#[tokio::test]
async fn a_draft_survives_a_restart_with_the_cursor_where_it_was() {
    let mut h = harness().await;
    let review_id = h.open_fresh_review().await;
    for _ in 0..4 {
        h.press(KeyCode::Tab).await;
    }
    h.keys("Half a thought").await;
    h.press(KeyCode::Enter).await;
    h.keys("and a second line").await;
    pause_typing(&mut h).await;
    assert!(!h.app.reviews.form.as_ref().expect("form").has_unsaved());

    h.restart().await;
    h.keys("2").await;
    let index = h
        .app
        .reviews
        .items
        .iter()
        .position(|item| item.review_id == review_id)
        .expect("still listed");
    for _ in 0..index {
        h.press(KeyCode::Down).await;
    }
    h.press(KeyCode::Enter).await;
    let form = h.app.reviews.form.as_ref().expect("form");
    assert_eq!(
        form.answers()["risks_and_mitigations"],
        "Half a thought\nand a second line"
    );
    assert_eq!(form.focus, 4, "focus is back on the field being typed in");
    // The cursor is where typing stopped: more text continues the line.
    h.keys("!").await;
    let form = h.app.reviews.form.as_ref().expect("form");
    assert_eq!(
        form.answers()["risks_and_mitigations"],
        "Half a thought\nand a second line!"
    );
}

#[tokio::test]
async fn quitting_flushes_an_unsaved_draft() {
    let mut h = harness().await;
    let review_id = h.open_fresh_review().await;
    h.keys(" ").await;
    let commands = h.app.flush();
    assert_eq!(commands.len(), 1);
    h.run(commands).await;
    let stored = h.backend.review(&review_id).await.expect("review");
    assert_eq!(stored.status, ReviewStatus::Draft);
    assert_eq!(stored.answers["use_case_appropriateness"], "appropriate");
}

#[tokio::test]
async fn submitting_shows_a_summary_then_freezes_the_review_and_unlocks_the_ethics_step() {
    let mut h = harness().await;
    let review_id = h.open_fresh_review().await;
    fill_valid(&mut h).await;
    ctrl(&mut h, 's').await;
    assert!(h.app.reviews.form.as_ref().expect("form").summary);
    let screen = h.screen();
    assert!(screen.contains("Submit this review?"), "{screen}");
    ctrl(&mut h, 's').await;
    let form = h.app.reviews.form.as_ref().expect("form");
    assert!(
        !form.editable
            && matches!(&form.subject, FormSubject::Review(review) if review.status == ReviewStatus::Submitted)
    );
    let stored = h.backend.review(&review_id).await.expect("review");
    assert_eq!(stored.status, ReviewStatus::Submitted);
    // Typing does nothing now.
    h.keys("n").await;
    assert_eq!(
        h.backend.review(&review_id).await.expect("review").answers,
        stored.answers
    );
    // The ethics step accepts a decision once its workflow reaches it.
    let workflow = h
        .backend
        .workflow(&stored.workflow_id)
        .await
        .expect("workflow");
    if let Some(step) = workflow
        .current_step()
        .filter(|step| step.role == Role::EthicsReviewer)
    {
        let decided = h
            .backend
            .decide(&Decision {
                workflow_id: workflow.workflow_id.clone(),
                step_id: step.step_id,
                verdict: Verdict::Approve,
                comment: None,
                expected_version: workflow.version,
                idempotency_key: Decision::new_key(),
                decision_at: None,
                on_behalf_of: None,
            })
            .await;
        assert!(decided.is_ok(), "{decided:?}");
    }
}

/// An audit with known counts, recorded as the agent's latest.
async fn known_audit(h: &Harness, passing: bool) -> (String, bias::AuditStats) {
    let agent = h
        .backend
        .search_agents("", 1)
        .await
        .expect("agents")
        .remove(0);
    let groups = if passing {
        vec![
            GroupCounts {
                group: "women".into(),
                positive: 212,
                total: 540,
            },
            GroupCounts {
                group: "men".into(),
                positive: 238,
                total: 561,
            },
            GroupCounts {
                group: "non-binary".into(),
                positive: 9,
                total: 24,
            },
        ]
    } else {
        vec![
            GroupCounts {
                group: "under 40".into(),
                positive: 300,
                total: 600,
            },
            GroupCounts {
                group: "40 and over".into(),
                positive: 90,
                total: 400,
            },
        ]
    };
    let stats = bias::compute(&groups, 0.8).expect("stats");
    // Audits are recorded by an ML engineer of the seeded organisation.
    let engineer = ml_engineer(h);
    gavel::backend::local::LocalBackend::new(std::sync::Arc::clone(&h.store), Some(engineer))
        .record_audit(&AuditSubmission {
            agent_id: agent.agent_id.clone(),
            agent_version: "9.9.9".into(),
            tested_at: Some(anchor() + Duration::days(1)),
            groups,
            attributes: Vec::new(),
            mode: Default::default(),
            source: None,
            threshold: None,
        })
        .await
        .expect("record");
    (agent.agent_id, stats)
}

/// An ML engineer of the seeded organisation (who records audits).
fn ml_engineer(h: &Harness) -> String {
    h.store
        .read(|conn| {
            Ok(conn.query_row(
                "SELECT email FROM users WHERE roles LIKE '%ml_engineer%' ORDER BY email LIMIT 1",
                gavel::db::params![],
                |row| row.get(0),
            )?)
        })
        .expect("an ML engineer")
}

async fn show_audits_of(h: &mut Harness, agent_id: &str) {
    h.keys("3").await;
    h.keys("/").await;
    h.keys(agent_id).await;
    h.press(KeyCode::Enter).await;
    assert_eq!(h.app.audits.audits_agent.as_deref(), Some(agent_id));
}

#[tokio::test]
async fn a_failing_audit_chart_marks_the_failing_group_and_matches_the_domain() {
    let mut h = harness().await;
    let (agent_id, stats) = known_audit(&h, false).await;
    show_audits_of(&mut h, &agent_id).await;
    let screen = h.screen();
    insta::assert_snapshot!("audit_failing", screen);
    assert!(screen.contains("FAIL"));
    assert!(
        screen.contains(&format!("ratio {:.3} < 0.80", stats.disparate_impact_ratio)),
        "{screen}"
    );
    for group in &stats.groups {
        let rate = group.rate.expect("rate");
        let line = screen
            .lines()
            .find(|line| {
                line.contains(&format!(" {} ", group.group)) && line.contains(&format!("{rate:.3}"))
            })
            .expect("a bar per group");
        assert!(
            line.contains(&format!("{rate:.3}")) && line.contains(&group.total.to_string()),
            "{line}"
        );
        assert!(
            line.contains(&format!(
                "{:.3}-{:.3}",
                group.ci_low.expect("low"),
                group.ci_high.expect("high")
            )),
            "{line}"
        );
        let failing = rate < 0.8 * 0.5;
        assert_eq!(line.contains("✗ below"), failing, "{line}");
    }
    let p = stats.p_value.expect("p");
    assert!(screen.contains(&if p < 0.0001 {
        "< 0.0001".to_owned()
    } else {
        format!("{p:.4}")
    }));
}

#[tokio::test]
async fn a_passing_audit_chart_shows_pass_and_every_warning() {
    let mut h = harness().await;
    let (agent_id, stats) = known_audit(&h, true).await;
    show_audits_of(&mut h, &agent_id).await;
    let screen = h.screen();
    insta::assert_snapshot!("audit_passing", screen);
    assert!(
        screen.contains("PASS") && screen.contains("ratio 0.884 ≥ 0.80"),
        "{screen}"
    );
    assert!(!screen.contains("✗ below"));
    assert!(
        stats
            .warnings
            .iter()
            .all(|warning| screen.contains(&warning.chars().take(40).collect::<String>())),
        "{screen}"
    );
    // Counts recorded by hand have no evidence, and `e` says so.
    h.keys("e").await;
    assert!(h.app.audits.evidence.is_none());
    assert!(h.screen().contains("no case evidence"), "{}", h.screen());
    // Older versions are a key away.
    h.press(KeyCode::Left).await;
    assert_eq!(h.app.audits.shown, 1.min(h.app.audits.audits.len() - 1));
}

/// The store's first agent, and an ML engineer's backend to run its audits.
async fn first_agent_and_ml_engineer(
    h: &Harness,
) -> (
    gavel::backend::AgentSummary,
    gavel::backend::local::LocalBackend,
) {
    let agent = h
        .backend
        .search_agents("", 1)
        .await
        .expect("agents")
        .remove(0);
    let engineer = ml_engineer(h);
    let ml =
        gavel::backend::local::LocalBackend::new(std::sync::Arc::clone(&h.store), Some(engineer));
    (agent, ml)
}

/// An audit Gavel ran names its run on the Audits tab, and `e` steps
/// through the run's evidence group by group.
#[tokio::test]
async fn an_audit_gavel_ran_names_its_run_and_shows_each_cases_evidence() {
    use gavel::backend::CaseOutcomeKind::{Negative, Positive, Unknown};
    let mut h = harness().await;
    let (agent, ml) = first_agent_and_ml_engineer(&h).await;
    let run = ml
        .start_audit_run(&common::conformance::run_start(&agent.agent_id, 4))
        .await
        .expect("start");
    let mut vague = common::conformance::case("c2", "female", "p2", Unknown);
    vague.response = "It is hard to say from this information.".into();
    vague.reason = "no rule matched".into();
    ml.record_case_outcomes(
        &run.run_id,
        &[
            common::conformance::case("c1", "female", "p1", Positive),
            vague,
            common::conformance::case("c3", "male", "p1", Positive),
            common::conformance::case("c4", "male", "p2", Negative),
        ],
    )
    .await
    .expect("outcomes");
    ml.finish_audit_run(&run.run_id).await.expect("finish");

    show_audits_of(&mut h, &agent.agent_id).await;
    let screen = h.screen();
    assert!(
        screen.contains(&format!("from run {} (e: evidence)", run.run_id))
            && screen.contains("4 cases · 1 unknown · 0 of 1 pairs flip"),
        "{screen}"
    );
    h.keys("e").await;
    let screen = h.screen();
    assert!(
        screen.contains(&format!("Evidence of {}", run.run_id))
            && screen.contains("sex = female")
            && screen.contains("Should we advance candidate c1?")
            && screen.contains("? c2"),
        "{screen}"
    );
    h.keys("j").await;
    assert!(h.screen().contains("It is hard to say"), "{}", h.screen());
    h.keys("]").await;
    let screen = h.screen();
    assert!(
        screen.contains("sex = male") && screen.contains("✗ c4"),
        "{screen}"
    );
    insta::assert_snapshot!("audit_evidence", screen);
    h.press(KeyCode::Esc).await;
    assert!(h.app.audits.evidence.is_none());
    assert!(h.screen().contains("e: evidence"));
}

/// The Local Law 144 case: a run over two attributes. Each table's
/// categories (an intersection's included) open with their own cases, as
/// `gavel audit cases --category` lists them.
#[tokio::test]
async fn the_evidence_of_a_two_attribute_run_shows_each_tables_cases() {
    use gavel::backend::CaseOutcomeKind::{Negative, Positive};
    let mut h = harness().await;
    let (agent, ml) = first_agent_and_ml_engineer(&h).await;
    let mut start = common::conformance::run_start(&agent.agent_id, 6);
    start.settings.attributes = vec!["sex".into(), "race_ethnicity".into()];
    let run = ml.start_audit_run(&start).await.expect("start");
    let case = |id: &str, sex: &str, race: Option<&str>, outcome| {
        let mut case = common::conformance::case(id, sex, id, outcome);
        case.pair_id = None;
        if let Some(race) = race {
            case.attributes
                .insert("race_ethnicity".into(), race.to_owned());
        }
        case
    };
    ml.record_case_outcomes(
        &run.run_id,
        &[
            case("c1", "female", Some("Asian"), Positive),
            case("c2", "female", Some("Asian"), Negative),
            case("c3", "female", Some("White"), Positive),
            case("c4", "male", Some("Asian"), Positive),
            case("c5", "male", Some("White"), Negative),
            // No race recorded: of the category `unknown` in that table.
            case("c6", "male", None, Positive),
        ],
    )
    .await
    .expect("outcomes");
    let audit = ml.finish_audit_run(&run.run_id).await.expect("finish");
    assert_eq!(
        audit.attributes.len(),
        3,
        "two attributes and their intersection"
    );

    show_audits_of(&mut h, &agent.agent_id).await;
    // The binding table shows first; step back to the first, by sex.
    while h.app.audits.table != 0 {
        h.keys("[").await;
    }
    h.keys("e").await;
    let screen = h.screen();
    assert!(
        screen.contains("sex = female") && screen.contains("3 cases"),
        "the first table, by sex: {screen}"
    );
    h.press(KeyCode::Esc).await;
    // The intersection's table, then its evidence, category by category.
    let intersection = audit
        .attributes
        .iter()
        .position(|table| table.is_intersectional())
        .expect("an intersection");
    for _ in 0..intersection {
        h.keys("]").await;
    }
    h.keys("e").await;
    let evidence = h.app.audits.evidence.as_ref().expect("evidence open");
    assert_eq!(evidence.table, "sex × race_ethnicity");
    let mut seen = 0;
    for _ in 0..evidence.groups.len() {
        let evidence = h.app.audits.evidence.as_ref().expect("evidence open");
        let group = evidence.groups[evidence.group].clone();
        let expected: Vec<&str> = match group.label.as_str() {
            "female · Asian" => vec!["c1", "c2"],
            "female · White" => vec!["c3"],
            "male · Asian" => vec!["c4"],
            "male · White" => vec!["c5"],
            other => panic!("a category the cases do not hold: {other}"),
        };
        let ids: Vec<String> = evidence.cases.iter().map(|c| c.case_id.clone()).collect();
        assert_eq!(ids, expected, "{}", group.label);
        assert!(
            h.screen()
                .contains(&format!("sex × race_ethnicity = {}", group.label)),
            "{}",
            h.screen()
        );
        seen += ids.len();
        h.keys("]").await;
    }
    assert_eq!(seen, 5, "every case with both attributes, once");
}

/// The Audits list moves a screen at a time, and loads the selected
/// agent's audits wherever it lands.
#[tokio::test]
async fn the_audits_list_pages_down_and_up() {
    let mut h = harness().await;
    h.keys("3").await;
    let agents = h.app.audits.agents.len();
    assert!(agents > 25, "the harness store has agents: {agents}");
    h.press(KeyCode::PageDown).await;
    assert_eq!(h.app.audits.selected, 20);
    let selected = h.app.audits.agents[20].agent_id.clone();
    assert_eq!(
        h.app.audits.audits_agent.as_deref(),
        Some(selected.as_str())
    );
    h.press(KeyCode::PageUp).await;
    assert_eq!(h.app.audits.selected, 0);
}

/// Redactions for the parts of the dashboard that depend on today's date.
fn dashboard_filters() -> Vec<(&'static str, &'static str)> {
    vec![
        (
            r"this week \d+ . \(last week \d+\)",
            "this week [N] (last week [N])",
        ),
        (
            r"median time blocked [^ ]+( days)?",
            "median time blocked [T]",
        ),
        (
            r"Per week from [^,]*, peak \d+",
            "Per week from [DATE], peak [N]",
        ),
        (r"Per week, peak \d+", "Per week, peak [N]"),
        (
            r"Per week(, [^·]+)? · as of \d\d:\d\d",
            "Per week · as of [TIME]",
        ),
        (
            r"│ (requested|approved|rejected|blocked) +[ ▁▂▃▄▅▆▇█]* [\d,]+\n",
            "│ $1 [trend]\n",
        ),
        (r"as of \d\d:\d\d:\d\d UTC", "as of [TIME]"),
        (r"│[ ▁▂▃▄▅▆▇█]+\n", "│[trend]\n"),
        // Audits expire against today's clock, the seeded ones included.
        (
            r"Bias audits to run \d+ +\d+ failing · \d+ expired · \d+ missing · \d+ due in 30 days",
            "Bias audits to run [N]  [N] failing · [N] expired · [N] missing · [N] due in 30 days",
        ),
    ]
}

#[tokio::test]
async fn the_blocked_dashboard_with_data() {
    let mut h = harness().await;
    h.keys("4").await;
    let dashboard = h.backend.dashboard().await.expect("dashboard");
    let screen = h.screen();
    assert!(
        screen.contains(&format!("Blocked now {}", dashboard.blocked_now)),
        "{screen}"
    );
    assert!(
        dashboard.audits.total() > 0
            && screen.contains(&format!(
                "Bias audits to run {}  {} failing",
                dashboard.audits.total(),
                dashboard.audits.failing
            )),
        "{screen}"
    );
    assert!(
        screen.contains("fix:") && screen.contains("still running")
            || screen.contains("nothing approved"),
        "{screen}"
    );
    // The weekly figures are relative to today; the rest is the seeded data.
    insta::with_settings!({ filters => dashboard_filters() }, {
        insta::assert_snapshot!("blocked_dashboard", screen);
    });
}

/// Issue 35 (9): leadership drills from a chart's bar into the blocked
/// deployments it counts, sorts and narrows them, and a blocked request
/// with no workflow drills to its agent without touching the queue.
#[tokio::test]
async fn the_blocked_tab_drills_down_sorts_and_keeps_the_queue_alone() {
    let mut h = Harness::new(80, 24, Theme::load("default", None).expect("theme")).await;
    h.keys("4").await;
    let dashboard = h.app.blocked.dashboard.clone().expect("figures");
    let teams: u64 = dashboard.blocked_by_team.iter().map(|c| c.count).sum();
    assert_eq!(teams, dashboard.blocked_now, "the team chart adds up");
    let screen = h.screen();
    assert!(
        screen.contains(&format!("By team {}", dashboard.blocked_now)),
        "{screen}"
    );
    assert!(screen.contains("as of "), "{screen}");
    insta::with_settings!({ filters => dashboard_filters() }, {
        insta::assert_snapshot!("blocked_80x24", screen);
    });

    // l, l: the team chart; j: its second bar; enter lists what it counts.
    h.keys("llj").await;
    let team = dashboard.blocked_by_team[1].name.clone();
    h.press(KeyCode::Enter).await;
    let listed = &h.app.blocked.items;
    assert_eq!(listed.len() as u64, dashboard.blocked_by_team[1].count);
    assert!(listed.iter().all(|item| item.team == team));
    assert!(
        h.screen().contains(&format!("team {team}")),
        "{}",
        h.screen()
    );

    // s: the longest blocked first, then by team, by policy.
    h.keys("s").await;
    let ages: Vec<_> = h.app.blocked.items.iter().map(|i| i.requested_at).collect();
    assert!(ages.windows(2).all(|w| w[0] <= w[1]), "oldest first");
    assert!(h.screen().contains("longest blocked first"));

    // c: every blocked deployment again; the policy chart drills too.
    h.keys("c").await;
    assert_eq!(h.app.blocked.items.len() as u64, dashboard.blocked_now);
    h.keys("l").await;
    h.press(KeyCode::Enter).await;
    let policy = dashboard.blocked_by_policy[0].name.clone();
    assert!(h.app.blocked.items.iter().all(|item| {
        item.triggered_policies
            .iter()
            .any(|p| p.blocking && p.policy_id == policy)
    }));

    // A blocked request opened no workflow: enter lists its agent's.
    h.keys("c").await;
    let (queue_mine, queue_search) = (h.app.queue.choice.mine, h.app.queue.choice.search.clone());
    let item = h.app.blocked.items[0].clone();
    assert!(item.workflow_ids.is_empty());
    h.press(KeyCode::Enter).await;
    assert_eq!(h.app.tab, gavel::tui::tab::Tab::Blocked, "still on Blocked");
    assert!(
        h.app
            .blocked
            .items
            .iter()
            .all(|i| i.agent_id == item.agent_id)
    );
    assert_eq!(
        (h.app.queue.choice.mine, h.app.queue.choice.search.clone()),
        (queue_mine, queue_search)
    );

    // /: an agent's blocked requests by name.
    h.keys("c/").await;
    let name: String = item.agent_name.chars().take(10).collect();
    h.keys(&name).await;
    h.press(KeyCode::Enter).await;
    assert!(!h.app.blocked.items.is_empty());
    assert!(
        h.app
            .blocked
            .items
            .iter()
            .all(|i| i.agent_name.contains(&name) || i.team.contains(&name) || i.agent_id == name)
    );
}

#[tokio::test]
async fn the_blocked_dashboard_empty() {
    let mut h = Harness::build(
        120,
        30,
        Theme::load("default", None).expect("theme"),
        false,
        false,
    )
    .await;
    h.keys("4").await;
    let screen = h.screen();
    assert!(screen.contains("Nothing is blocked"), "{screen}");
    insta::with_settings!({ filters => dashboard_filters() }, {
        insta::assert_snapshot!("blocked_dashboard_empty", screen);
    });
}

/// Issue 35 (12): a proposal shows the rules an admin approves — the text
/// against the version it was planned on, every condition and chain — and
/// every agent it touches, scrolling to the last.
#[tokio::test]
async fn a_proposal_shows_its_text_diff_and_every_agent_it_touches() {
    let mut h = harness().await;
    h.keys("5v").await;
    let version = h
        .app
        .policies
        .versions
        .selected_version()
        .cloned()
        .expect("a version");
    assert_eq!(version.state, gavel::backend::PolicySetState::Proposed);
    let detail = h
        .backend
        .policy_set(Some(version.version))
        .await
        .expect("detail");
    let plan: gavel::domain::policy::plan::Plan =
        serde_json::from_value(detail.plan.clone()).expect("a recorded plan");
    let (change, affected) = plan
        .impact
        .changes
        .iter()
        .next()
        .expect("the proposal changes something");
    assert_eq!(
        affected.listed.len() as u64,
        affected.count,
        "every agent is recorded"
    );
    let mut screens = vec![h.screen()];
    while screens
        .last()
        .is_some_and(|screen| screen.contains("more lines (J)"))
    {
        h.keys("J").await;
        screens.push(h.screen());
        assert!(screens.len() < 60, "the detail scrolls to its end");
    }
    let all = screens.join("\n");
    assert!(all.contains("The text against version"), "{all}");
    let base = h
        .backend
        .policy_set(detail.version.based_on)
        .await
        .expect("the version it was planned on");
    let added = gavel::domain::policy::plan::text_diff(&base.source, &detail.source)
        .into_iter()
        .find(|line| line.starts_with("+ condition"))
        .expect("the proposal adds a condition");
    assert!(
        all.contains(&added),
        "the condition it adds is shown: {all}"
    );
    assert!(
        all.contains(&format!("agents that {}", change.label())),
        "{all}"
    );
    for agent in &affected.listed {
        assert!(all.contains(agent.as_str()), "{agent} is listed");
    }
}

#[tokio::test]
async fn the_policies_tab_counts_the_agents_each_policy_triggers_on() {
    let mut h = harness().await;
    h.keys("5").await;
    let reach = h.backend.policy_reach().await.expect("reach");
    // The seeded version 2: the six built-in policies and eu_residency.
    assert_eq!(h.app.policies.policies.len(), 7);
    for count in &reach {
        assert_eq!(h.app.policies.reach.get(&count.name), Some(&count.count));
    }
    let screen = h.screen();
    insta::with_settings!({ filters => policy_set_filters() }, {
        insta::assert_snapshot!("policies", screen);
    });
}

#[tokio::test]
async fn read_only_disables_deciding_and_says_so() {
    let mut h = Harness::build(
        120,
        30,
        Theme::load("default", None).expect("theme"),
        true,
        true,
    )
    .await;
    h.keys("a").await;
    assert!(h.app.overlay.is_none(), "no decide dialog");
    let screen = h.screen();
    assert!(
        screen.contains("READ-ONLY") && screen.contains("read-only: deciding is disabled"),
        "{screen}"
    );
    h.keys("2").await;
    h.press(KeyCode::Enter).await;
    assert!(
        h.app
            .reviews
            .form
            .as_ref()
            .is_some_and(|form| !form.editable)
    );
}

#[tokio::test]
async fn the_step_view_links_to_the_agents_audits() {
    let mut h = harness().await;
    h.press(KeyCode::Enter).await;
    let agent = h
        .app
        .detail
        .as_ref()
        .and_then(|d| d.detail.as_ref())
        .map(|d| d.workflow.agent_id.clone())
        .expect("detail");
    h.keys("b").await;
    assert_eq!(h.app.tab, Tab::Audits);
    assert_eq!(
        h.app.audits.agents.first().map(|a| a.agent_id.clone()),
        Some(agent.clone())
    );
    assert_eq!(h.app.audits.audits_agent.as_deref(), Some(agent.as_str()));
}

#[tokio::test]
async fn bad_values_are_flagged_while_typing_not_only_on_submit() {
    let mut h = harness().await;
    h.open_fresh_review().await;
    for _ in 0..4 {
        h.press(KeyCode::Tab).await;
    }
    let too_long = "x".repeat(10_001);
    let commands = h.app.on_paste(&too_long);
    h.run(commands).await;
    let form = h.app.reviews.form.as_ref().expect("form");
    let problems = form.problems();
    assert_eq!(
        problems.len(),
        1,
        "only the bad value, not the unanswered questions: {problems:?}"
    );
    assert_eq!(problems[0].question_id, "risks_and_mitigations");
    assert!(h.screen().contains("the limit is 10000"));
}

/// Policy set dates are the wall clock's (the seed records them as it
/// runs), and hashes differ with them.
fn policy_set_filters() -> Vec<(&'static str, &'static str)> {
    vec![
        // Also a date the edge of the screen cuts ("2026-11-").
        (r"\d{4}-\d{2}(-\d{0,2})?( \d{2}:\d{2})?", "[date]"),
        (r"sha256 [0-9a-f]+", "sha256 [hash]"),
    ]
}

/// A console signed in as someone else on the same seeded store.
async fn signed_in_as(h: &mut Harness, email: &str) {
    h.backend = gavel::backend::local::LocalBackend::new(
        std::sync::Arc::clone(&h.store),
        Some(email.to_owned()),
    );
    h.restart().await;
}

#[tokio::test]
async fn a_policy_admin_approves_a_waiting_policy_set_from_the_policies_tab() {
    let mut h = harness().await;
    h.keys("5").await;
    let screen = h.screen();
    assert!(
        screen.contains("Policy set version 2 is active")
            && screen.contains("1 proposal waits for your decision"),
        "{screen}"
    );
    h.keys("a").await;
    assert!(
        h.app.overlay.is_none(),
        "nothing to decide in the policies view"
    );
    assert!(h.screen().contains("press v"), "{}", h.screen());

    h.keys("v").await;
    let screen = h.screen();
    let selected = h
        .app
        .policies
        .versions
        .selected_version()
        .expect("selected");
    assert_eq!(selected.version, 3, "the waiting proposal is selected");
    for expected in [
        "waits for you",
        "Waits for your decision",
        "+ customer_confidential",
        "newly need approval",
    ] {
        assert!(screen.contains(expected), "{expected} missing:\n{screen}");
    }
    insta::with_settings!({ filters => policy_set_filters() }, {
        insta::assert_snapshot!("policy_versions", screen);
    });

    // A rejection needs its reason, as for a step.
    h.keys("r").await;
    ctrl(&mut h, 's').await;
    assert!(h.screen().contains("a rejection needs a comment"));
    h.press(KeyCode::Esc).await;

    h.keys("a").await;
    let screen = h.screen();
    assert!(
        screen.contains("Approve policy set version 3")
            && screen.contains("replacing version 2")
            && screen.contains("Plan: of"),
        "{screen}"
    );
    insta::with_settings!({ filters => policy_set_filters() }, {
        insta::assert_snapshot!("approve_policy_set_dialog", screen);
    });
    h.keys("Reviewed with the data stewards").await;
    ctrl(&mut h, 's').await;
    assert!(h.app.overlay.is_none(), "the dialog closes on success");
    let active = h.backend.policy_set(None).await.expect("active");
    assert_eq!(active.version.version, 3);
    assert_eq!(
        active.version.decided_by.as_deref(),
        Some(gavel::seed::DEMO_USER)
    );
    assert_eq!(
        active.version.comment.as_deref(),
        Some("Reviewed with the data stewards")
    );
    let screen = h.screen();
    assert!(
        screen.contains("Approved policy set version 3")
            && screen.contains("Policy set version 3 is active")
            && !screen.contains("waits for your decision"),
        "{screen}"
    );
    // The policies view reads the new active version.
    h.keys("v").await;
    assert!(
        h.app
            .policies
            .policies
            .iter()
            .any(|policy| policy.policy_id == "customer_confidential"),
        "the active policies reloaded"
    );
}

#[tokio::test]
async fn the_proposer_and_people_who_are_not_policy_admins_cannot_decide_it() {
    let mut h = harness().await;
    let proposer = gavel::seed::POLICY_ADMINS[0].0;
    signed_in_as(&mut h, proposer).await;
    h.keys("5v").await;
    assert!(!h.screen().contains("waits for your decision"));
    h.keys("a").await;
    assert!(h.app.overlay.is_none());
    assert!(h.screen().contains("four eyes"), "{}", h.screen());

    let lead = h
        .backend
        .users(Some(Role::TechnicalLead))
        .await
        .expect("users")
        .into_iter()
        .find(|user| !user.roles.contains(&Role::PolicyAdmin))
        .expect("a technical lead");
    signed_in_as(&mut h, &lead.email).await;
    h.keys("5v").await;
    h.keys("r").await;
    assert!(h.app.overlay.is_none());
    assert!(
        h.screen().contains("you are not a policy admin"),
        "{}",
        h.screen()
    );
    let versions = h.backend.policy_sets().await.expect("versions");
    assert_eq!(
        versions[0].state,
        gavel::backend::PolicySetState::Proposed,
        "still waiting"
    );
}

#[tokio::test]
async fn a_proposal_decided_by_someone_else_first_is_refused_in_the_dialog() {
    let mut h = harness().await;
    h.keys("5v").await;
    h.keys("r").await;
    h.keys("Not this quarter").await;
    // The other policy admin rejects it while the dialog is open.
    let other = gavel::backend::local::LocalBackend::new(
        std::sync::Arc::clone(&h.store),
        Some(gavel::seed::POLICY_ADMINS[1].0.to_owned()),
    );
    other
        .decide_policy_set(3, false, Some("duplicate of another change"))
        .await
        .expect("reject");
    ctrl(&mut h, 's').await;
    let screen = h.screen();
    assert!(
        matches!(&h.app.overlay, Some(gavel::tui::app::Overlay::Decide(dialog)) if dialog.error.is_some()),
        "the dialog stays open with the refusal: {screen}"
    );
    assert!(screen.contains("not decided"), "{screen}");
    h.press(KeyCode::Esc).await;
    let screen = h.screen();
    assert!(
        screen.contains("rejected by tomas.berg@northwind.example")
            && screen.contains("duplicate of another change"),
        "the versions show what happened: {screen}"
    );
}

/// An HR agent of the seeded organisation whose latest audit has a table
/// per attribute and one for their intersection.
fn agent_with_tables(h: &Harness) -> String {
    h.store
        .read(|conn| {
            Ok(conn.query_row(
                "SELECT l.agent_id FROM latest_audits l JOIN agents g ON g.agent_id = l.agent_id AND g.version = l.agent_version
                 WHERE json_array_length(l.facts, '$.attributes') = 3 ORDER BY l.agent_id LIMIT 1",
                gavel::db::params![],
                |row| row.get(0),
            )?)
        })
        .expect("an HR agent audited per attribute")
}

#[tokio::test]
async fn the_audits_tab_puts_attention_first_and_shows_each_table_at_80x24() {
    use gavel::domain::bias::standing::Attention;
    let mut h = Harness::new(80, 24, Theme::load("default", None).expect("theme")).await;
    h.keys("3").await;
    let listed: Vec<Attention> = h.app.audits.agents.iter().map(|a| a.attention).collect();
    assert!(
        listed.len() > 100,
        "every agent is listed: {}",
        listed.len()
    );
    assert!(
        listed.windows(2).all(|pair| pair[0] <= pair[1]),
        "most urgent first"
    );
    assert!(listed[0] < Attention::Passing, "{:?}", listed[0]);
    let screen = h.screen();
    let first = &h.app.audits.agents[0];
    assert!(
        screen.contains(&format!("▌{:<8} ", first.attention.label())),
        "{screen}"
    );
    // f: only what needs attention.
    h.keys("f").await;
    let attention = &h.app.audits.agents;
    assert!(!attention.is_empty() && attention.len() < listed.len());
    assert!(attention.iter().all(|a| a.attention < Attention::Passing));
    assert!(
        h.screen().contains("Agents: needing attention"),
        "{}",
        h.screen()
    );
    h.keys("f").await;
    assert!(
        h.app
            .audits
            .agents
            .iter()
            .all(|a| a.attention == Attention::Failing)
    );
    for _ in 0..5 {
        h.keys("f").await;
    }
    assert_eq!(h.app.audits.agents.len(), listed.len(), "back to all");

    // One chart per table, the binding one (lowest ratio) first; ] and [
    // step through the others.
    let agent_id = agent_with_tables(&h);
    show_audits_of(&mut h, &agent_id).await;
    let audit = h.app.audits.audits[0].clone();
    assert_eq!(audit.attributes.len(), 3);
    let binding = (0..3)
        .min_by(|a, b| {
            audit.attributes[*a]
                .lowest_ratio
                .total_cmp(&audit.attributes[*b].lowest_ratio)
        })
        .expect("three tables");
    let screen = h.screen();
    assert!(screen.contains("tables ([ ]): sex"), "{screen}");
    assert!(
        screen.contains(&format!(" {}: ", audit.attributes[binding].name())),
        "the binding table shows first: {screen}"
    );
    let intersection = audit
        .attributes
        .iter()
        .position(|table| table.is_intersectional())
        .expect("an intersection");
    for _ in 0..(intersection + 3 - binding) % 3 {
        h.keys("]").await;
    }
    let mut screens = vec![h.screen()];
    assert!(
        screens[0].contains(" sex × race_ethnicity: "),
        "{}",
        screens[0]
    );
    // At 80x24 the labels stand whole above their bars, and the pane
    // scrolls (J) to the last category.
    while screens
        .last()
        .is_some_and(|screen| screen.contains("more lines (J)"))
    {
        h.keys("J").await;
        screens.push(h.screen());
        assert!(screens.len() < 40, "the pane scrolls to its end");
    }
    let table = &audit.attributes[intersection];
    for category in &table.categories {
        let label = category.label();
        let rate = format!("{:.1}%", category.rate.expect("rate") * 100.0);
        let row = screens.iter().find_map(|screen| {
            let lines: Vec<&str> = screen.lines().collect();
            lines.windows(2).find_map(|pair| {
                (pair[0].contains(&format!("│ {label}"))
                    && pair[1].contains(&rate)
                    && pair[1].contains(&category.total.to_string()))
                .then(|| pair[1].to_owned())
            })
        });
        let line = row.unwrap_or_else(|| panic!("{label} stands whole above its numbers"));
        if category.fails(audit.stats.threshold) {
            assert!(line.contains('✗'), "a failing category is marked: {line}");
        }
        if category.excluded.is_some() {
            assert!(line.contains("excl."), "{line}");
        }
        assert!(
            line.contains("%-") || line.contains('-'),
            "the interval in numbers: {line}"
        );
    }
    // Every warning, whole, at the end of the pane.
    let last = screens.last().expect("a screen");
    let joined: String = screens
        .iter()
        .flat_map(|screen| screen.lines())
        .filter_map(|line| line.split_once('│').map(|(_, right)| right.trim()))
        .collect::<Vec<_>>()
        .join(" ");
    for warning in &audit.stats.warnings {
        let start: String = warning.chars().take(30).collect();
        assert!(joined.contains(&start), "{warning} is shown:\n{last}");
    }
    h.keys("[").await;
    assert!(h.screen().contains(" race_ethnicity: "));
}

/// Issue 35 (5, 8): in the review form `?` is text, F1 opens this form's
/// help (its keys first, then what a question does with keys) and F2 the
/// palette; every overlay shown over the form takes the keys typed into it,
/// and the answers and the focused question behind stay as they were.
#[tokio::test]
async fn help_and_the_palette_open_from_the_form_and_no_overlay_types_into_it() {
    let mut h = Harness::new(80, 24, Theme::load("default", None).expect("theme")).await;
    h.open_fresh_review().await;
    fill_valid(&mut h).await;
    // Back to the long answer: a question mark is text there.
    h.key(KeyCode::BackTab, KeyModifiers::SHIFT).await;
    h.keys(" Why?").await;
    let form = h.app.reviews.form.as_ref().expect("form");
    let before = (form.answers(), form.focus);
    assert!(
        before.0["risks_and_mitigations"]
            .as_str()
            .is_some_and(|text| text.ends_with("Why?")),
        "{:?}",
        before.0
    );

    h.press(KeyCode::F(1)).await;
    let screen = h.screen();
    assert!(
        screen.contains("Keys: form") && screen.contains("On this screen"),
        "{screen}"
    );
    h.keys("jk xyz").await;
    h.press(KeyCode::Backspace).await;
    h.press(KeyCode::Backspace).await;
    h.press(KeyCode::Backspace).await;
    h.press(KeyCode::Backspace).await;
    h.press(KeyCode::Backspace).await;
    h.press(KeyCode::Backspace).await;
    h.press(KeyCode::PageDown).await;
    let screen = h.screen();
    assert!(
        screen.contains("In a question") && screen.contains("move through a question's options"),
        "the help scrolls to the field keys at 80x24:\n{screen}"
    );
    h.press(KeyCode::Esc).await;
    assert!(h.app.overlay.is_none());

    h.press(KeyCode::F(2)).await;
    assert!(h.screen().contains("Run an action"), "{}", h.screen());
    h.keys("qqq j").await;
    h.press(KeyCode::Esc).await;

    ctrl(&mut h, 's').await;
    assert!(h.app.reviews.form.as_ref().is_some_and(|f| f.summary));
    h.keys("jjk abc").await;
    h.press(KeyCode::F(1)).await;
    assert!(h.screen().contains("Keys: summary"), "{}", h.screen());
    h.keys("zz").await;
    h.press(KeyCode::Esc).await;
    h.press(KeyCode::Esc).await;

    let form = h.app.reviews.form.as_ref().expect("form");
    assert!(!form.summary);
    assert_eq!(
        (form.answers(), form.focus),
        before,
        "nothing reached the form"
    );
}

/// Issue 35 (8): a choice's options are a list: down and `j` move through
/// them, and past the last one to the next question.
#[tokio::test]
async fn a_choices_options_move_with_down_and_j() {
    let mut h = harness().await;
    h.open_fresh_review().await;
    let options = h
        .app
        .reviews
        .form
        .as_ref()
        .expect("form")
        .template
        .questions[0]
        .options
        .len();
    assert!(options >= 2);
    h.press(KeyCode::Down).await;
    h.keys("j").await;
    h.press(KeyCode::Char(' ')).await;
    let form = h.app.reviews.form.as_ref().expect("form");
    assert_eq!(form.focus, 0, "still the first question");
    let chosen = form.answers()["use_case_appropriateness"].clone();
    assert_eq!(
        chosen,
        serde_json::json!(form.template.questions[0].options[2.min(options - 1)])
    );
    for _ in 0..options {
        h.keys("j").await;
    }
    assert_eq!(h.app.reviews.form.as_ref().expect("form").focus, 1);
    h.keys("k").await;
    assert_eq!(
        h.app.reviews.form.as_ref().expect("form").focus,
        1,
        "a yes/no question has no list: k is not a move there"
    );
}

/// Issue 43: the Blocked tab draws the board report's weekly figures, a
/// line each over the whole weeks, with the last whole week's value and
/// when they were read; at 120x40 and at 80x24.
#[tokio::test]
async fn the_blocked_tab_trends_the_reports_weekly_figures() {
    for (width, height) in [(120, 40), (80, 24)] {
        let mut h = Harness::new(width, height, Theme::load("default", None).expect("theme")).await;
        h.store
            .set_clock(gavel::clock::ManualClock::at(anchor() + Duration::days(3)));
        h.keys("4").await;
        let dashboard = h.app.blocked.dashboard.clone().expect("figures");
        assert_eq!(dashboard.weekly.len(), 13, "the trend's weeks");
        let whole = &dashboard.weekly[..12];
        let last = whole.last().expect("a whole week");
        assert!(
            whole.iter().map(|week| week.requests).sum::<u64>() > 0,
            "the seed requested in the weeks before its anchor"
        );
        let screen = h.screen();
        assert!(screen.contains("as of "), "{screen}");
        for (label, value) in [
            ("requested", last.requests),
            ("approved", last.approved),
            ("rejected", last.rejected),
            ("blocked", last.blocked),
        ] {
            let line = screen
                .lines()
                .find(|line| line.contains(&format!("│ {label} ")))
                .unwrap_or_else(|| panic!("a {label} trend at {width}x{height}: {screen}"));
            assert!(
                line.trim_end().ends_with(&format!(" {value}")),
                "{label} shows its last whole week, {value}: {line}"
            );
        }
    }
}
