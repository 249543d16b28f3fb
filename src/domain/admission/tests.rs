use super::*;

const DIGEST: &str = "sha256:abababababababababababababababababababababababababababababababab";

fn review(kind: &str, object: Value) -> Vec<u8> {
    serde_json::json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": "705ab4f5-6393-11e8-b7cc-42010a800002",
            "kind": { "group": "apps", "version": "v1", "kind": kind },
            "operation": "CREATE",
            "namespace": "agents",
            "name": "router",
            "object": object,
            "dryRun": false
        }
    })
    .to_string()
    .into_bytes()
}

fn pod_spec(images: &[&str]) -> Value {
    serde_json::json!({
        "containers": images.iter().map(|image| serde_json::json!({ "name": "c", "image": image })).collect::<Vec<_>>(),
        "initContainers": [{ "name": "init", "image": format!("registry.example.com/init@{DIGEST}") }]
    })
}

#[test]
fn a_deployment_names_its_agent_on_itself_or_its_template_and_every_image_counts() {
    let deployment = serde_json::json!({
        "metadata": { "name": "router", "annotations": { "gavel/agent": "agt-router" } },
        "spec": { "template": {
            "metadata": { "annotations": { "gavel/version": "3.1.0" } },
            "spec": pod_spec(&["registry.example.com/router:3.1"])
        } }
    });
    let parsed = parse(&review("Deployment", deployment)).expect("a review");
    assert_eq!(parsed.kind, "Deployment");
    assert!(!parsed.dry_run);
    let workload = parsed.workload.expect("a workload");
    assert_eq!(workload.agent.as_deref(), Some("agt-router"));
    assert_eq!(workload.version.as_deref(), Some("3.1.0"));
    assert_eq!(workload.images.len(), 2, "{workload:?}");

    let cron = serde_json::json!({
        "metadata": { "annotations": { "gavel/agent": "a", "gavel/version": "1" } },
        "spec": { "jobTemplate": { "spec": { "template": { "spec": pod_spec(&["x@sha256:00"]) } } } }
    });
    let cron = parse(&review("CronJob", cron))
        .expect("review")
        .workload
        .expect("workload");
    assert!(cron.images.contains(&"x@sha256:00".to_owned()));

    // Not a kind that runs Pods, or a DELETE: not Gavel's to judge.
    let config = parse(&review("ConfigMap", serde_json::json!({}))).expect("review");
    assert!(config.workload.is_none());
}

#[test]
fn what_is_not_a_v1_review_is_refused_with_the_reason() {
    assert!(parse(b"not json").unwrap_err().contains("JSON"));
    let mut old: Value = serde_json::from_slice(&review("Pod", serde_json::json!({}))).unwrap();
    old["apiVersion"] = "admission.k8s.io/v1beta1".into();
    assert!(
        parse(old.to_string().as_bytes())
            .unwrap_err()
            .contains("v1")
    );
    let mut no_uid = old.clone();
    no_uid["apiVersion"] = "admission.k8s.io/v1".into();
    no_uid["request"]["uid"] = "".into();
    assert!(
        parse(no_uid.to_string().as_bytes())
            .unwrap_err()
            .contains("uid")
    );
}

fn workload(images: &[&str]) -> Workload {
    Workload {
        agent: Some("agt-router".into()),
        version: Some("3.1.0".into()),
        images: images.iter().map(|image| (*image).to_owned()).collect(),
    }
}

fn stands() -> Standing {
    Standing::Stands {
        artifacts: vec![Artifact {
            name: "registry.example.com/router".into(),
            digest: DIGEST.into(),
        }],
    }
}

#[test]
fn images_must_be_the_manifests_by_digest_and_each_mode_answers_its_way() {
    let good = workload(&[&format!("registry.example.com/router@{DIGEST}")]);
    let verdict = judge(Mode::Enforce, Unannotated::Allow, &good, |_, _| stands());
    assert!(
        verdict.allowed && verdict.problems.is_empty(),
        "{verdict:?}"
    );

    let tagged = workload(&["registry.example.com/router:3.1"]);
    let denied = judge(Mode::Enforce, Unannotated::Allow, &tagged, |_, _| stands());
    assert!(!denied.allowed);
    assert!(
        denied
            .message
            .as_deref()
            .unwrap_or_default()
            .contains("by tag"),
        "{denied:?}"
    );
    let other = workload(&[&format!(
        "registry.example.com/router@sha256:{}",
        "cd".repeat(32)
    )]);
    let denied = judge(Mode::Enforce, Unannotated::Allow, &other, |_, _| stands());
    assert!(
        denied
            .message
            .unwrap_or_default()
            .contains("not one of the artifacts")
    );

    let warned = judge(Mode::Warn, Unannotated::Allow, &tagged, |_, _| stands());
    assert!(warned.allowed && warned.message.is_none());
    assert!(warned.warnings[0].starts_with("Gavel: image"), "{warned:?}");
    let audited = judge(Mode::Audit, Unannotated::Allow, &tagged, |_, _| stands());
    assert!(audited.allowed && audited.warnings.is_empty() && !audited.problems.is_empty());

    // A manifest that named no artifacts holds images to nothing.
    let any = judge(Mode::Enforce, Unannotated::Allow, &tagged, |_, _| {
        Standing::Stands {
            artifacts: Vec::new(),
        }
    });
    assert!(any.allowed);
}

#[test]
fn a_version_that_does_not_stand_and_a_nameless_workload_are_judged_by_the_rules() {
    let suspended = judge(
        Mode::Enforce,
        Unannotated::Allow,
        &workload(&[]),
        |agent, version| {
            assert_eq!((agent, version), ("agt-router", "3.1.0"));
            Standing::DoesNot {
                reasons: vec!["agt-router 3.1.0 is suspended under incident inc-0001".into()],
            }
        },
    );
    assert!(!suspended.allowed);
    assert!(suspended.message.unwrap_or_default().contains("inc-0001"));

    let nameless = Workload::default();
    let asked = std::cell::Cell::new(false);
    let allowed = judge(Mode::Enforce, Unannotated::Allow, &nameless, |_, _| {
        asked.set(true);
        stands()
    });
    assert!(allowed.allowed && !asked.get());
    let denied = judge(Mode::Enforce, Unannotated::Deny, &nameless, |_, _| stands());
    assert!(denied.message.unwrap_or_default().contains("gavel/agent"));
    let half = Workload {
        agent: Some("agt-router".into()),
        ..Workload::default()
    };
    assert!(!judge(Mode::Enforce, Unannotated::Allow, &half, |_, _| stands()).allowed);
}

#[test]
fn the_answer_echoes_the_uid_and_carries_a_403_status_only_when_denied() {
    let denied = judge(
        Mode::Enforce,
        Unannotated::Deny,
        &Workload::default(),
        |_, _| stands(),
    );
    let answer = answer("uid-1", &denied);
    assert_eq!(answer["response"]["uid"], "uid-1");
    assert_eq!(answer["response"]["allowed"], false);
    assert_eq!(answer["response"]["status"]["code"], 403);
    let warned = judge(
        Mode::Warn,
        Unannotated::Deny,
        &Workload::default(),
        |_, _| stands(),
    );
    let answer = super::answer("uid-2", &warned);
    assert_eq!(answer["response"]["allowed"], true);
    assert!(answer["response"]["status"].get("code").is_none());
    assert!(answer["response"]["warnings"].is_array());
}
