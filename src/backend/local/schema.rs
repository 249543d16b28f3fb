//! Versioned migrations of the embedded store. Each entry runs once, in
//! order, inside a transaction; `PRAGMA user_version` records how far a file
//! has come. Never edit a released migration: append a new one.

use rusqlite::{Connection, Transaction, params};

use crate::domain::ReviewTemplate;
use crate::domain::policy::set::default_policies;

use super::kept_schema::{
    create_agent_standings, create_blocked_policy_counts, create_kept_figures, create_kept_totals,
    order_agent_standings,
};
use super::shared_schema::{
    add_incident_alerts, create_directory, create_incidents, create_obligation_coverage,
    create_obligations, create_policy_exceptions, create_report_weeks, create_version_checks,
    index_agents_by_standing,
};

type Migration = fn(&Transaction<'_>) -> rusqlite::Result<()>;

const MIGRATIONS: &[Migration] = &[
    create_governance_model,
    create_sync_tables,
    create_cache_meta,
    add_teams_tools_and_deciders,
    make_the_trail_append_only,
    create_the_merkle_log,
    create_checkpoints,
    add_agent_labels,
    create_policy_sets,
    create_audit_runs,
    add_audit_facts,
    add_identities,
    create_notification_outbox,
    add_slas_and_delegations,
    fix_delegated_roles_and_mark_reviewers,
    create_agent_standings,
    create_blocked_policy_counts,
    order_agent_standings,
    create_kept_figures,
    create_kept_totals,
    create_obligations,
    create_obligation_coverage,
    create_policy_exceptions,
    index_agents_by_standing,
    create_incidents,
    create_version_checks,
    add_incident_alerts,
    create_directory,
    create_report_weeks,
];

/// 15: a delegation covers the roles it was made with, not whatever roles
/// its two people gain later. Each delegation made without a role is
/// given the reviewer roles both people hold now (the nearest record of
/// what they held when it was made); one whose people are gone covers
/// nothing. And a review's author counts as its ethics step's decider
/// from assignment: the deciders column marks them `r:` for the queue.
fn fix_delegated_roles_and_mark_reviewers(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(
        "ALTER TABLE delegations ADD COLUMN roles TEXT NOT NULL DEFAULT '';
         UPDATE delegations SET roles = role WHERE role IS NOT NULL;
         UPDATE workflows SET deciders = CASE WHEN deciders = '' THEN '|' ELSE deciders END
             || 'r:' || lower((SELECT reviewer FROM reviews WHERE reviews.workflow_id = workflows.workflow_id)) || '|'
           WHERE workflow_id IN (SELECT workflow_id FROM reviews);",
    )?;
    let open: Vec<(String, String, String)> = tx
        .prepare(
            "SELECT d.delegation_id, a.roles, b.roles FROM delegations d
               JOIN users a ON a.email = d.delegator JOIN users b ON b.email = d.delegate
             WHERE d.role IS NULL",
        )?
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (delegation_id, delegator, delegate) in open {
        let theirs: Vec<&str> = delegate.split(',').collect();
        let shared: Vec<&str> = delegator
            .split(',')
            .filter(|role| !role.is_empty() && *role != "policy_admin" && theirs.contains(role))
            .collect();
        tx.execute(
            "UPDATE delegations SET roles = ?2 WHERE delegation_id = ?1",
            params![delegation_id, shared.join(",")],
        )?;
    }
    Ok(())
}

/// 14: step SLAs and delegation. A workflow row carries its current
/// step's due time, latest alert and quorum progress (for the queue and
/// the dashboard) and when its next alert comes due (the scheduler reads
/// only rows whose time has come). A delegation lets its delegate decide
/// for the delegator, and receive their notifications, between two times.
fn add_slas_and_delegations(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(
        r#"
        ALTER TABLE workflows ADD COLUMN due_at INTEGER;
        ALTER TABLE workflows ADD COLUMN alert TEXT;
        ALTER TABLE workflows ADD COLUMN next_alert_at INTEGER;
        ALTER TABLE workflows ADD COLUMN current_quorum INTEGER NOT NULL DEFAULT 1;
        ALTER TABLE workflows ADD COLUMN current_approvals INTEGER NOT NULL DEFAULT 0;
        CREATE INDEX workflows_next_alert ON workflows(next_alert_at) WHERE next_alert_at IS NOT NULL;
        CREATE INDEX workflows_due ON workflows(due_at) WHERE due_at IS NOT NULL;
        CREATE TABLE delegations (
            delegation_id TEXT PRIMARY KEY,
            delegator     TEXT NOT NULL COLLATE NOCASE,
            delegate      TEXT NOT NULL COLLATE NOCASE,
            role          TEXT,
            starts_at     INTEGER NOT NULL,
            ends_at       INTEGER NOT NULL,
            created_at    INTEGER NOT NULL,
            ended_at      INTEGER
        );
        CREATE INDEX delegations_by_delegator ON delegations(delegator, ends_at);
        CREATE INDEX delegations_by_delegate ON delegations(delegate, ends_at);
        "#,
    )
}

/// 13: notifications, written with the change that causes them: each
/// event once (`notification_events`), its deliveries by email and webhook
/// once fanned out (`deliveries`, each claimed by one worker at a time for
/// a lease, retried, then dead-lettered), and each person's inbox with its
/// read state (outside the trail: reading is not a governance decision).
fn create_notification_outbox(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(
        r#"
        CREATE TABLE notification_events (
            event_id   INTEGER PRIMARY KEY,
            kind       TEXT NOT NULL,
            subject    TEXT NOT NULL,
            data       TEXT NOT NULL,
            tell       TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            fanned_out INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX notification_events_waiting ON notification_events(event_id) WHERE fanned_out = 0;
        CREATE TABLE deliveries (
            delivery_id     INTEGER PRIMARY KEY,
            event_id        INTEGER NOT NULL REFERENCES notification_events(event_id),
            channel         TEXT NOT NULL,
            target          TEXT NOT NULL,
            state           TEXT NOT NULL,
            attempts        INTEGER NOT NULL DEFAULT 0,
            next_attempt_at INTEGER NOT NULL,
            claimed_until   INTEGER,
            last_error      TEXT,
            sent_at         INTEGER,
            UNIQUE (event_id, channel, target)
        );
        CREATE INDEX deliveries_due ON deliveries(state, next_attempt_at);
        CREATE TABLE inbox (
            user_email TEXT NOT NULL COLLATE NOCASE,
            event_id   INTEGER NOT NULL,
            read_at    INTEGER,
            PRIMARY KEY (user_email, event_id)
        ) WITHOUT ROWID;
        "#,
    )
}

/// 12: people who sign in with an identity provider. `issuer` + `subject`
/// name the person (one row each); `asserted_email` and `signed_in_at` are
/// what the provider said at their latest sign-in. Service accounts act
/// with Gavel tokens only.
fn add_identities(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(
        r#"
        ALTER TABLE users ADD COLUMN service INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE users ADD COLUMN issuer TEXT;
        ALTER TABLE users ADD COLUMN subject TEXT;
        ALTER TABLE users ADD COLUMN asserted_email TEXT;
        ALTER TABLE users ADD COLUMN signed_in_at INTEGER;
        CREATE UNIQUE INDEX users_identity ON users(issuer, subject) WHERE subject IS NOT NULL;
        "#,
    )
}

/// 11: the newest audit of each agent version, as judging reads it (its
/// date and each table's lowest ratio), in small clustered rows: the
/// standings of every agent are one scan of this table, never of whole
/// audits. The facts of audits recorded before come from their bodies.
fn add_audit_facts(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(
        r#"
        CREATE TABLE latest_audits (
            agent_id      TEXT NOT NULL,
            agent_version TEXT NOT NULL,
            tested_at     INTEGER NOT NULL,
            audit_id      TEXT NOT NULL,
            facts         TEXT NOT NULL,
            PRIMARY KEY (agent_id, agent_version)
        ) WITHOUT ROWID;
        INSERT INTO latest_audits (agent_id, agent_version, tested_at, audit_id, facts)
        SELECT agent_id, agent_version, tested_at, audit_id,
               json_object(
                   'audit_id', audit_id,
                   'agent_version', agent_version,
                   'tested_at', json_extract(body, '$.tested_at'),
                   'attribute', json_extract(body, '$.attribute'),
                   'disparate_impact_ratio', json_extract(body, '$.disparate_impact_ratio'),
                   'lowest_group', json_extract(body, '$.lowest_group'),
                   'attributes', (
                       SELECT json_group_array(json_object(
                           'attributes', json(json_extract(t.value, '$.attributes')),
                           'lowest_ratio', json_extract(t.value, '$.lowest_ratio'),
                           'lowest', json(json_extract(t.value, '$.lowest'))))
                       FROM json_each(body, '$.attributes') t))
        FROM (SELECT agent_id, agent_version, tested_at, audit_id, body,
                     ROW_NUMBER() OVER (PARTITION BY agent_id, agent_version
                                        ORDER BY tested_at DESC, audit_id DESC) AS newest
              FROM audits)
        WHERE newest = 1;
        "#,
    )
}

/// 10: audit runs against the agent itself, with each case's evidence.
/// A case's outcome is written once (its key is the run and the case id)
/// and never changed or deleted; a finished run stays as it finished.
fn create_audit_runs(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(
        r#"
        CREATE TABLE audit_runs (
            run_id            TEXT PRIMARY KEY,
            agent_id          TEXT NOT NULL,
            agent_version     TEXT NOT NULL,
            attribute         TEXT NOT NULL,
            settings          TEXT NOT NULL,
            cases_sha256      TEXT NOT NULL,
            classifier_sha256 TEXT NOT NULL,
            case_count        INTEGER NOT NULL,
            started_by        TEXT NOT NULL,
            started_at        INTEGER NOT NULL,
            finished_at       INTEGER,
            audit_id          TEXT,
            evidence_sha256   TEXT,
            -- cases with an outcome: kept with each batch, so a batch costs
            -- the same on the first case and the millionth
            done              INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX audit_runs_by_agent ON audit_runs(agent_id, started_at);
        CREATE TABLE audit_run_cases (
            run_id          TEXT NOT NULL,
            case_id         TEXT NOT NULL,
            group_value     TEXT NOT NULL,
            attributes      TEXT NOT NULL,
            pair_id         TEXT,
            input           TEXT NOT NULL,
            response        TEXT NOT NULL,
            response_sha256 TEXT NOT NULL,
            response_bytes  INTEGER NOT NULL,
            outcome         TEXT NOT NULL CHECK (outcome IN ('positive', 'negative', 'unknown')),
            score           REAL,
            reason          TEXT NOT NULL,
            latency_ms      INTEGER NOT NULL,
            recorded_at     INTEGER NOT NULL,
            PRIMARY KEY (run_id, case_id)
        ) WITHOUT ROWID;
        CREATE INDEX audit_run_cases_by_group ON audit_run_cases(run_id, group_value, outcome, case_id);
        CREATE INDEX audit_run_cases_by_pair ON audit_run_cases(run_id, pair_id) WHERE pair_id IS NOT NULL;
        CREATE TRIGGER audit_run_cases_are_kept
            BEFORE DELETE ON audit_run_cases
            BEGIN SELECT RAISE(ABORT, 'case evidence is never deleted'); END;
        CREATE TRIGGER audit_run_cases_are_immutable
            BEFORE UPDATE ON audit_run_cases
            BEGIN SELECT RAISE(ABORT, 'case evidence is never changed'); END;
        CREATE TRIGGER audit_runs_are_kept
            BEFORE DELETE ON audit_runs
            BEGIN SELECT RAISE(ABORT, 'audit runs are never deleted'); END;
        CREATE TRIGGER audit_runs_finish_once
            BEFORE UPDATE ON audit_runs
            WHEN OLD.finished_at IS NOT NULL
              OR NEW.run_id IS NOT OLD.run_id OR NEW.settings IS NOT OLD.settings
              OR NEW.cases_sha256 IS NOT OLD.cases_sha256 OR NEW.started_by IS NOT OLD.started_by
              OR NEW.case_count IS NOT OLD.case_count OR NEW.agent_id IS NOT OLD.agent_id
              OR NEW.agent_version IS NOT OLD.agent_version
            BEGIN SELECT RAISE(ABORT, 'an audit run is finished once and its settings never change'); END;
        "#,
    )
}

/// 9: policy sets as immutable, reviewed versions. Version 1 is the set the
/// store's policies already were, recorded as proposed and approved by
/// `system`; exactly one version is active; triggers refuse any edit of a
/// version's content and any deletion, and allow only the state moves of
/// the lifecycle. Workflows remember the version they were opened under.
fn create_policy_sets(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(
        r#"
        CREATE TABLE policy_sets (
            version      INTEGER PRIMARY KEY,
            source       TEXT NOT NULL,
            source_hash  TEXT NOT NULL,
            description  TEXT NOT NULL,
            based_on     INTEGER,
            plan         TEXT NOT NULL,
            proposed_by  TEXT NOT NULL,
            proposed_at  INTEGER NOT NULL,
            state        TEXT NOT NULL CHECK (state IN ('proposed', 'active', 'superseded', 'rejected')),
            decided_by   TEXT,
            decided_at   INTEGER,
            comment      TEXT
        );
        CREATE UNIQUE INDEX policy_sets_one_active ON policy_sets(state) WHERE state = 'active';
        CREATE TRIGGER policy_sets_content_is_immutable
            BEFORE UPDATE OF version, source, source_hash, description, based_on, plan, proposed_by, proposed_at
            ON policy_sets
            BEGIN SELECT RAISE(ABORT, 'a policy set version is immutable once proposed'); END;
        CREATE TRIGGER policy_sets_are_kept
            BEFORE DELETE ON policy_sets
            BEGIN SELECT RAISE(ABORT, 'policy set versions are never deleted'); END;
        CREATE TRIGGER policy_sets_move_by_the_lifecycle
            BEFORE UPDATE OF state ON policy_sets
            WHEN NOT ((OLD.state = 'proposed' AND NEW.state IN ('active', 'rejected'))
                   OR (OLD.state = 'active' AND NEW.state = 'superseded'))
            BEGIN SELECT RAISE(ABORT, 'a policy set moves only from proposed to active or rejected, and from active to superseded'); END;
        CREATE TRIGGER policy_sets_are_decided_once
            BEFORE UPDATE OF decided_by, decided_at, comment ON policy_sets
            WHEN OLD.decided_by IS NOT NULL
            BEGIN SELECT RAISE(ABORT, 'a policy set version is decided once'); END;
        ALTER TABLE workflows ADD COLUMN policy_set_version INTEGER;
        "#,
    )?;
    let stored = {
        let mut statement = tx.prepare("SELECT body FROM policies ORDER BY position, policy_id")?;
        let bodies = statement
            .query_map([], |row| row.get::<_, String>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        bodies
            .iter()
            .map(|body| serde_json::from_str::<crate::domain::Policy>(body))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|err| rusqlite::Error::ToSqlConversionFailure(Box::new(err)))?
    };
    let source = crate::domain::policy::set::source_for_policies(stored)
        .map_err(|err| rusqlite::Error::ToSqlConversionFailure(err.into()))?;
    let now = chrono::Utc::now().timestamp_millis();
    tx.execute(
        "INSERT INTO policy_sets (version, source, source_hash, description, based_on, plan, proposed_by, proposed_at, state, decided_by, decided_at, comment)
         VALUES (1, ?1, ?2, ?3, NULL, '{}', 'system', ?4, 'active', 'system', ?4, 'the policies this store started with')",
        params![
            source.text,
            source.sha256,
            source.description,
            now
        ],
    )?;
    Ok(())
}

/// 8: agents' labels (a JSON object of strings; '' for none).
fn add_agent_labels(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch("ALTER TABLE agents ADD COLUMN labels TEXT NOT NULL DEFAULT '';")
}

/// 7: the signed checkpoints of the Merkle log, newest last.
fn create_checkpoints(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(
        "CREATE TABLE checkpoints (size INTEGER PRIMARY KEY, note TEXT NOT NULL, signed_at INTEGER NOT NULL);",
    )
}

/// 6: the trail's events as the leaves of a Merkle log: the interior
/// hashes, filled in for the events already there (once; about two hashes
/// per event).
fn create_the_merkle_log(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch("CREATE TABLE log_hashes (idx INTEGER PRIMARY KEY, hash BLOB NOT NULL);")?;
    super::log::backfill(&crate::db::Connection::sqlite(tx))
        .map_err(|err| rusqlite::Error::ToSqlConversionFailure(Box::new(err)))
}

/// 5: the trail refuses `UPDATE` and `DELETE` (defence in depth: whoever
/// owns the file can drop a trigger; replay and the signed log are what
/// detect a rewrite).
fn make_the_trail_append_only(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(
        "CREATE TRIGGER trail_no_update BEFORE UPDATE ON trail
         BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only: events cannot be changed'); END;
         CREATE TRIGGER trail_no_delete BEFORE DELETE ON trail
         BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only: events cannot be deleted'); END;",
    )
}

/// 4: what the gates need to decide for themselves instead of trusting the
/// caller: users' teams and removal, who decided each workflow (the queue
/// leaves out what its reader cannot decide), approved tools, and the
/// built-in `classification_change` policy.
fn add_teams_tools_and_deciders(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(
        r#"
        ALTER TABLE users ADD COLUMN teams TEXT NOT NULL DEFAULT '[]';
        ALTER TABLE users ADD COLUMN removed_at INTEGER;
        ALTER TABLE workflows ADD COLUMN deciders TEXT NOT NULL DEFAULT '';
        UPDATE workflows SET deciders = '|' || (
            SELECT group_concat(lower(json_extract(step.value, '$.approver_email')), '|')
            FROM json_each(workflows.steps) AS step
            WHERE json_extract(step.value, '$.approver_email') IS NOT NULL
        ) || '|'
        WHERE steps LIKE '%"approver_email":"%';
        -- The queue leaves out the reader's own requests and the workflows
        -- they decided a step of; with both columns in the role indexes the
        -- page and its count are read from the index alone.
        DROP INDEX workflows_role_age;
        CREATE INDEX workflows_role_age
            ON workflows(status, current_role, waiting_since, workflow_id, requested_by, deciders);
        DROP INDEX workflows_role_risk;
        CREATE INDEX workflows_role_risk
            ON workflows(status, current_role, urgency, waiting_since, workflow_id, requested_by, deciders);
        CREATE TABLE tools (
            name        TEXT PRIMARY KEY COLLATE NOCASE,
            status      TEXT NOT NULL,
            decided_by  TEXT NOT NULL,
            decided_at  INTEGER NOT NULL,
            comment     TEXT NOT NULL
        );
        "#,
    )?;
    let position: i64 = tx.query_row(
        "SELECT COALESCE(MAX(position), -1) + 1 FROM policies",
        [],
        |row| row.get(0),
    )?;
    let policy = crate::domain::policy::set::classification_change_policy();
    let body = serde_json::to_string(&policy)
        .map_err(|err| rusqlite::Error::ToSqlConversionFailure(Box::new(err)))?;
    tx.execute(
        "INSERT OR IGNORE INTO policies (policy_id, position, body) VALUES (?1, ?2, ?3)",
        params![policy.policy_id, position, body],
    )?;
    Ok(())
}

/// 3: who and which server an offline cache belongs to (key/value, so the
/// cache can learn more without another migration).
fn create_cache_meta(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch("CREATE TABLE cache_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);")
}

/// 2: what an offline cache of a server keeps besides the mirrored rows
/// (unused, and empty, in a server's own store).
fn create_sync_tables(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(
        r#"
        CREATE TABLE sync_state (
            id             INTEGER PRIMARY KEY CHECK (id = 1),
            cursor         INTEGER NOT NULL,
            last_synced_at INTEGER,
            offline_since  INTEGER
        );
        CREATE TABLE outbox (
            id              INTEGER PRIMARY KEY,
            entity          TEXT NOT NULL,
            kind            TEXT NOT NULL,
            payload         TEXT NOT NULL,
            idempotency_key TEXT NOT NULL UNIQUE,
            base_version    INTEGER,
            state           TEXT NOT NULL,
            attempts        INTEGER NOT NULL,
            next_attempt_at INTEGER NOT NULL,
            server_answer   TEXT,
            created_at      INTEGER NOT NULL
        );
        CREATE INDEX outbox_entity ON outbox(entity, id);
        "#,
    )
}

/// Gives a new PostgreSQL store what a new embedded store starts with
/// (the default policies, the review template, policy set version 1), read
/// from a fresh embedded store so the two cannot drift apart. A store that
/// has its first policy set already is left alone.
pub fn write_initial_record(
    tx: &crate::db::Connection,
) -> Result<(), crate::backend::BackendError> {
    use crate::db::params as db_params;
    let started: i64 = tx.query_row("SELECT COUNT(*) FROM policy_sets", db_params![], |row| {
        row.get(0)
    })?;
    if started > 0 {
        return Ok(());
    }
    let mut fresh = Connection::open_in_memory()?;
    migrate(&mut fresh).map_err(|err| crate::backend::BackendError::Storage(err.to_string()))?;
    let mut policies = fresh.prepare("SELECT policy_id, position, body FROM policies")?;
    let mut rows = policies.query([])?;
    while let Some(row) = rows.next()? {
        tx.execute(
            "INSERT INTO policies (policy_id, position, body) VALUES (?1, ?2, ?3)",
            db_params![
                row.get::<_, String>(0)?,
                row.get::<_, i64>(1)?,
                row.get::<_, String>(2)?
            ],
        )?;
    }
    let mut templates = fresh.prepare("SELECT template_id, body FROM review_templates")?;
    let mut rows = templates.query([])?;
    while let Some(row) = rows.next()? {
        tx.execute(
            "INSERT INTO review_templates (template_id, body) VALUES (?1, ?2)",
            db_params![row.get::<_, String>(0)?, row.get::<_, String>(1)?],
        )?;
    }
    let (text, sha256, description, plan, comment): (String, String, String, String, String) =
        fresh.query_row(
            "SELECT source, source_hash, description, plan, comment FROM policy_sets WHERE version = 1",
            [],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?)),
        )?;
    let now = chrono::Utc::now().timestamp_millis();
    tx.execute(
        "INSERT INTO policy_sets (version, source, source_hash, description, based_on, plan, proposed_by, proposed_at, state, decided_by, decided_at, comment)
         VALUES (1, ?1, ?2, ?3, NULL, ?4, 'system', ?5, 'active', 'system', ?5, ?6)",
        db_params![text, sha256, description, plan, now, comment],
    )?;
    Ok(())
}

/// 1: the governance model, with the default policies and review template.
fn create_governance_model(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(GOVERNANCE_MODEL)?;
    for (position, policy) in default_policies().iter().enumerate() {
        let body = serde_json::to_string(policy)
            .map_err(|err| rusqlite::Error::ToSqlConversionFailure(Box::new(err)))?;
        tx.execute(
            "INSERT INTO policies (policy_id, position, body) VALUES (?1, ?2, ?3)",
            params![policy.policy_id, position as i64, body],
        )?;
    }
    let template = ReviewTemplate::default_template();
    let body = serde_json::to_string(&template)
        .map_err(|err| rusqlite::Error::ToSqlConversionFailure(Box::new(err)))?;
    tx.execute(
        "INSERT INTO review_templates (template_id, body) VALUES (?1, ?2)",
        params![template.template_id, body],
    )?;
    Ok(())
}

const GOVERNANCE_MODEL: &str = r#"
    CREATE TABLE users (
        email       TEXT PRIMARY KEY COLLATE NOCASE,
        name        TEXT NOT NULL,
        roles       TEXT NOT NULL,
        token_hash  TEXT,
        created_at  INTEGER NOT NULL
    );
    CREATE UNIQUE INDEX users_token ON users(token_hash) WHERE token_hash IS NOT NULL;

    CREATE TABLE agents (
        agent_id            TEXT PRIMARY KEY,
        name                TEXT NOT NULL,
        team                TEXT NOT NULL,
        owner               TEXT NOT NULL,
        category            TEXT NOT NULL,
        data_classification TEXT NOT NULL,
        has_external_tools  INTEGER NOT NULL,
        tools_approved      INTEGER NOT NULL,
        risk_tier           TEXT NOT NULL,
        version             TEXT NOT NULL,
        updated_at          INTEGER NOT NULL
    );
    CREATE INDEX agents_name ON agents(name COLLATE NOCASE, agent_id);

    CREATE TABLE policies (
        policy_id   TEXT PRIMARY KEY,
        position    INTEGER NOT NULL,
        body        TEXT NOT NULL
    );

    CREATE TABLE deployments (
        deployment_id   TEXT PRIMARY KEY,
        agent_id        TEXT NOT NULL,
        agent_name      TEXT NOT NULL,
        team            TEXT NOT NULL,
        agent_version   TEXT NOT NULL,
        requested_by    TEXT NOT NULL,
        requested_at    INTEGER NOT NULL,
        outcome         TEXT NOT NULL,
        status          TEXT NOT NULL,
        running_version TEXT,
        body            TEXT NOT NULL
    );
    CREATE INDEX deployments_status ON deployments(status, requested_at, deployment_id);
    CREATE INDEX deployments_outcome ON deployments(outcome, requested_at);
    CREATE INDEX deployments_time ON deployments(requested_at, deployment_id);
    CREATE INDEX deployments_agent ON deployments(agent_id, requested_at);

    CREATE TABLE deployment_policies (
        deployment_id   TEXT NOT NULL,
        policy_id       TEXT NOT NULL,
        blocking        INTEGER NOT NULL,
        PRIMARY KEY (deployment_id, policy_id)
    ) WITHOUT ROWID;
    CREATE INDEX deployment_policies_policy ON deployment_policies(policy_id, blocking);

    CREATE TABLE workflows (
        workflow_id         TEXT PRIMARY KEY,
        deployment_id       TEXT NOT NULL,
        agent_id            TEXT NOT NULL,
        agent_name          TEXT NOT NULL,
        team                TEXT NOT NULL,
        triggered_by_policy TEXT NOT NULL,
        requested_by        TEXT NOT NULL,
        urgency             INTEGER NOT NULL,
        status              TEXT NOT NULL,
        current_step        INTEGER,
        current_role        TEXT,
        step_count          INTEGER NOT NULL,
        waiting_since       INTEGER NOT NULL,
        created_at          INTEGER NOT NULL,
        version             INTEGER NOT NULL,
        steps               TEXT NOT NULL
    );
    -- The queue: per role, by age and by risk.
    CREATE INDEX workflows_role_age ON workflows(status, current_role, waiting_since, workflow_id);
    CREATE INDEX workflows_role_risk ON workflows(status, current_role, urgency, waiting_since, workflow_id);
    -- Every workflow of a status, by age and by risk.
    CREATE INDEX workflows_status_age ON workflows(status, waiting_since, workflow_id);
    CREATE INDEX workflows_status_risk ON workflows(status, urgency, waiting_since, workflow_id);
    -- Team filter.
    CREATE INDEX workflows_team ON workflows(team, status, waiting_since, workflow_id);
    CREATE INDEX workflows_deployment ON workflows(deployment_id);
    CREATE INDEX workflows_agent ON workflows(agent_id, created_at);

    CREATE TABLE review_templates (
        template_id TEXT PRIMARY KEY,
        body        TEXT NOT NULL
    );

    CREATE TABLE reviews (
        review_id    TEXT PRIMARY KEY,
        workflow_id  TEXT NOT NULL UNIQUE,
        agent_id     TEXT NOT NULL,
        reviewer     TEXT NOT NULL COLLATE NOCASE,
        template_id  TEXT NOT NULL,
        status       TEXT NOT NULL,
        answers      TEXT NOT NULL,
        form_state   TEXT,
        assigned_at  INTEGER NOT NULL,
        updated_at   INTEGER NOT NULL,
        submitted_at INTEGER,
        version      INTEGER NOT NULL
    );
    CREATE INDEX reviews_reviewer ON reviews(reviewer, assigned_at);

    CREATE TABLE audits (
        audit_id      TEXT PRIMARY KEY,
        agent_id      TEXT NOT NULL,
        agent_version TEXT NOT NULL,
        tested_at     INTEGER NOT NULL,
        passes        INTEGER NOT NULL,
        body          TEXT NOT NULL
    );
    CREATE INDEX audits_agent ON audits(agent_id, tested_at, audit_id);
    CREATE INDEX audits_agent_version ON audits(agent_id, agent_version, tested_at);

    CREATE TABLE trail (
        seq            INTEGER PRIMARY KEY,
        at             INTEGER NOT NULL,
        actor          TEXT NOT NULL,
        entity_type    TEXT NOT NULL,
        entity_id      TEXT NOT NULL,
        action         TEXT NOT NULL,
        before_version INTEGER,
        after_version  INTEGER,
        details        TEXT NOT NULL,
        hash           TEXT NOT NULL
    );
    CREATE INDEX trail_entity ON trail(entity_type, entity_id, seq);

    CREATE TABLE idempotency (
        key          TEXT PRIMARY KEY,
        actor        TEXT NOT NULL,
        request_hash TEXT NOT NULL,
        response     TEXT NOT NULL,
        created_at   INTEGER NOT NULL
    );
    CREATE INDEX idempotency_age ON idempotency(created_at);
"#;

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

#[derive(Debug, thiserror::Error)]
pub enum MigrationError {
    #[error(
        "the store was written by a newer Gavel (schema {found}, this build knows {SCHEMA_VERSION}); upgrade Gavel"
    )]
    TooNew { found: i64 },
    #[error("migration {version} failed: {source}")]
    Failed {
        version: i64,
        source: rusqlite::Error,
    },
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
}

/// Tables showing the database is another application's: any table in a
/// database Gavel never migrated, or a "Gavel" version without Gavel's
/// own tables. `LocalStore::open` asks before it changes anything (the
/// journal mode included), so `migrate` only ever meets Gavel's files.
fn foreign_tables(conn: &Connection) -> rusqlite::Result<Option<String>> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")?
        .query_map([], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let gavel_made = ["users", "workflows", "trail"]
        .iter()
        .all(|table| tables.iter().any(|name| name == table));
    let foreign = if version == 0 {
        !tables.is_empty()
    } else {
        !gavel_made
    };
    Ok(foreign.then(|| {
        let mut shown: Vec<String> = tables.iter().take(5).cloned().collect();
        if tables.len() > 5 {
            shown.push(format!("and {} more", tables.len() - 5));
        }
        if shown.is_empty() {
            shown.push("none of Gavel's".into());
        }
        shown.join(", ")
    }))
}

/// Why `conn`, of the file at `path`, is not a Gavel store, if it holds
/// another application's tables.
pub fn foreign_store(
    conn: &Connection,
    path: &std::path::Path,
) -> rusqlite::Result<Option<String>> {
    Ok(foreign_tables(conn)?.map(|tables| {
        format!(
            "{} is not a Gavel store: it holds tables Gavel did not make ({tables})",
            path.display()
        )
    }))
}

/// Brings a store up to `SCHEMA_VERSION`.
pub fn migrate(conn: &mut Connection) -> Result<(), MigrationError> {
    let found: i64 = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    if found > SCHEMA_VERSION {
        return Err(MigrationError::TooNew { found });
    }
    for (index, migration) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let version = index as i64 + 1;
        let tx = conn.transaction()?;
        migration(&tx)
            .and_then(|()| tx.pragma_update(None, "user_version", version))
            .map_err(|source| MigrationError::Failed { version, source })?;
        tx.commit()?;
    }
    Ok(())
}
