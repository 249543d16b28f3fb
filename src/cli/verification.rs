//! What `gavel audit verify` prints: the chain, then replay, then the
//! kept figures.

use std::fmt::Write;

use super::output::safe;

/// What `gavel audit verify` found: the chain, then replay.
pub fn verification(report: &crate::backend::VerifyReport) -> String {
    let mut out = String::new();
    if let Some(broken) = &report.broken {
        let _ = writeln!(out, "audit trail BROKEN: {}", safe(&broken.to_string()));
        let _ = writeln!(out, "{} events before it verified.", report.events);
        return out;
    }
    let _ = writeln!(
        out,
        "hash chain intact: {} events, head {}",
        report.events,
        safe(&report.head)
    );
    if let Some(root) = &report.log_root {
        let _ = writeln!(
            out,
            "Merkle log: {} leaves, root {} (the stored interior hashes agree with the events)",
            report.events,
            safe(root)
        );
    }
    let Some(replay) = &report.replay else {
        return out;
    };
    match &replay.mismatch {
        Some(mismatch) => {
            let _ = writeln!(
                out,
                "audit trail BROKEN: {} {} differs from its events: {}",
                safe(&mismatch.entity_type),
                safe(&mismatch.entity_id),
                safe(&mismatch.reason)
            );
            let _ = writeln!(
                out,
                "(replayed before it: {} workflows, {} deployments, {} audits, {} reviews, {} policy set versions, {} intakes, {} confirmations, {} exceptions, {} incidents)",
                replay.workflows,
                replay.deployments,
                replay.audits,
                replay.reviews,
                replay.policy_sets,
                replay.intakes,
                replay.confirmations,
                replay.exceptions,
                replay.incidents
            );
        }
        None => {
            let _ = writeln!(
                out,
                "audit trail intact: {} workflows, {} deployments, {} bias audits, {} reviews, {} policy set versions, {} intakes, {} confirmations, {} exceptions and {} incidents replay to their stored state (status, steps and deciders; each request's requester, agent as filed, policies and set version; each audit's recorder, figures and source; the submitted answers' hash; the policy text's hash; each intake's answers and who gave them; each confirmation whole; each exception's and incident's steps by the rules that took them)",
                replay.workflows,
                replay.deployments,
                replay.audits,
                replay.reviews,
                replay.policy_sets,
                replay.intakes,
                replay.confirmations,
                replay.exceptions,
                replay.incidents
            );
            if replay.workflows_without_steps > 0 {
                let _ = writeln!(
                    out,
                    "  {} workflows were opened before events named their chain: their status and version are checked, not their steps",
                    replay.workflows_without_steps
                );
            }
        }
    }
    if report.figures_differ.is_empty() {
        let _ = writeln!(
            out,
            "kept figures hold: every agent's audit standing and the blocked counts per policy match a recount"
        );
    } else {
        let _ = writeln!(
            out,
            "kept figures DIFFER from a recount ({}):",
            report.figures_differ.len()
        );
        for differ in report.figures_differ.iter().take(20) {
            let _ = writeln!(out, "  {}", safe(differ));
        }
    }
    out
}
