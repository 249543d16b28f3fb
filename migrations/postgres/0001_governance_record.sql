-- Gavel's governance record on PostgreSQL: the same tables, columns and
-- rules as the embedded store's schema after its 14 migrations
-- (src/backend/local/schema.rs), in PostgreSQL's spelling:
--   INTEGER -> BIGINT, REAL -> DOUBLE PRECISION, BLOB -> BYTEA;
--   SQLite's NOCASE collation -> the ICU collation "nocase" below, so
--     equality, uniqueness and ORDER BY ... COLLATE nocase read the same;
--   row ids assigned by the store -> identity columns;
--   triggers that refuse -> one function raising the trigger's message;
--   current_role is a keyword in PostgreSQL: quoted, here and in queries
--     (SQLite reads "current_role" as the same column).
-- tests/postgres_schema.rs checks every table and column here against a
-- fresh SQLite store. Never edit a released migration: append one.

CREATE COLLATION IF NOT EXISTS nocase (provider = icu, locale = 'und-u-ks-level2', deterministic = false);

CREATE FUNCTION gavel_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '%', TG_ARGV[0] USING ERRCODE = 'integrity_constraint_violation';
END;
$$;

CREATE TABLE users (
    email          TEXT COLLATE nocase PRIMARY KEY,
    name           TEXT NOT NULL,
    roles          TEXT NOT NULL,
    token_hash     TEXT,
    created_at     BIGINT NOT NULL,
    teams          TEXT NOT NULL DEFAULT '[]',
    removed_at     BIGINT,
    service        BIGINT NOT NULL DEFAULT 0,
    issuer         TEXT,
    subject        TEXT,
    asserted_email TEXT,
    signed_in_at   BIGINT
);
CREATE UNIQUE INDEX users_token ON users(token_hash) WHERE token_hash IS NOT NULL;
CREATE UNIQUE INDEX users_identity ON users(issuer, subject) WHERE subject IS NOT NULL;

CREATE TABLE agents (
    agent_id            TEXT PRIMARY KEY,
    name                TEXT NOT NULL,
    team                TEXT NOT NULL,
    owner               TEXT NOT NULL,
    category            TEXT NOT NULL,
    data_classification TEXT NOT NULL,
    has_external_tools  BIGINT NOT NULL,
    tools_approved      BIGINT NOT NULL,
    risk_tier           TEXT NOT NULL,
    version             TEXT NOT NULL,
    updated_at          BIGINT NOT NULL,
    labels              TEXT NOT NULL DEFAULT ''
);
CREATE INDEX agents_name ON agents((name COLLATE nocase), agent_id);

CREATE TABLE policies (
    policy_id TEXT PRIMARY KEY,
    position  BIGINT NOT NULL,
    body      TEXT NOT NULL
);

CREATE TABLE deployments (
    deployment_id   TEXT PRIMARY KEY,
    agent_id        TEXT NOT NULL,
    agent_name      TEXT NOT NULL,
    team            TEXT NOT NULL,
    agent_version   TEXT NOT NULL,
    requested_by    TEXT NOT NULL,
    requested_at    BIGINT NOT NULL,
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
    deployment_id TEXT NOT NULL,
    policy_id     TEXT NOT NULL,
    blocking      BIGINT NOT NULL,
    PRIMARY KEY (deployment_id, policy_id)
);
CREATE INDEX deployment_policies_policy ON deployment_policies(policy_id, blocking);

CREATE TABLE workflows (
    workflow_id         TEXT PRIMARY KEY,
    deployment_id       TEXT NOT NULL,
    agent_id            TEXT NOT NULL,
    agent_name          TEXT NOT NULL,
    team                TEXT NOT NULL,
    triggered_by_policy TEXT NOT NULL,
    requested_by        TEXT NOT NULL,
    urgency             BIGINT NOT NULL,
    status              TEXT NOT NULL,
    current_step        BIGINT,
    "current_role"      TEXT,
    step_count          BIGINT NOT NULL,
    waiting_since       BIGINT NOT NULL,
    created_at          BIGINT NOT NULL,
    version             BIGINT NOT NULL,
    steps               TEXT NOT NULL,
    deciders            TEXT NOT NULL DEFAULT '',
    policy_set_version  BIGINT,
    due_at              BIGINT,
    alert               TEXT,
    next_alert_at       BIGINT,
    current_quorum      BIGINT NOT NULL DEFAULT 1,
    current_approvals   BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX workflows_status_age ON workflows(status, waiting_since, workflow_id);
CREATE INDEX workflows_status_risk ON workflows(status, urgency, waiting_since, workflow_id);
CREATE INDEX workflows_team ON workflows(team, status, waiting_since, workflow_id);
CREATE INDEX workflows_deployment ON workflows(deployment_id);
CREATE INDEX workflows_agent ON workflows(agent_id, created_at);
CREATE INDEX workflows_role_age
    ON workflows(status, "current_role", waiting_since, workflow_id, requested_by, deciders);
CREATE INDEX workflows_role_risk
    ON workflows(status, "current_role", urgency, waiting_since, workflow_id, requested_by, deciders);
CREATE INDEX workflows_next_alert ON workflows(next_alert_at) WHERE next_alert_at IS NOT NULL;
CREATE INDEX workflows_due ON workflows(due_at) WHERE due_at IS NOT NULL;

CREATE TABLE review_templates (
    template_id TEXT PRIMARY KEY,
    body        TEXT NOT NULL
);

CREATE TABLE reviews (
    review_id    TEXT PRIMARY KEY,
    workflow_id  TEXT NOT NULL UNIQUE,
    agent_id     TEXT NOT NULL,
    reviewer     TEXT COLLATE nocase NOT NULL,
    template_id  TEXT NOT NULL,
    status       TEXT NOT NULL,
    answers      TEXT NOT NULL,
    form_state   TEXT,
    assigned_at  BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    submitted_at BIGINT,
    version      BIGINT NOT NULL
);
CREATE INDEX reviews_reviewer ON reviews(reviewer, assigned_at);

CREATE TABLE audits (
    audit_id      TEXT PRIMARY KEY,
    agent_id      TEXT NOT NULL,
    agent_version TEXT NOT NULL,
    tested_at     BIGINT NOT NULL,
    passes        BIGINT NOT NULL,
    body          TEXT NOT NULL
);
CREATE INDEX audits_agent ON audits(agent_id, tested_at, audit_id);
CREATE INDEX audits_agent_version ON audits(agent_id, agent_version, tested_at);

CREATE TABLE latest_audits (
    agent_id      TEXT NOT NULL,
    agent_version TEXT NOT NULL,
    tested_at     BIGINT NOT NULL,
    audit_id      TEXT NOT NULL,
    facts         TEXT NOT NULL,
    PRIMARY KEY (agent_id, agent_version)
);

-- The trail: sequence numbers are the store's (the hash chain covers
-- them), assigned under the writer lock, so their order is commit order.
CREATE TABLE trail (
    seq            BIGINT PRIMARY KEY,
    at             BIGINT NOT NULL,
    actor          TEXT NOT NULL,
    entity_type    TEXT NOT NULL,
    entity_id      TEXT NOT NULL,
    action         TEXT NOT NULL,
    before_version BIGINT,
    after_version  BIGINT,
    details        TEXT NOT NULL,
    hash           TEXT NOT NULL
);
CREATE INDEX trail_entity ON trail(entity_type, entity_id, seq);
CREATE TRIGGER trail_no_update BEFORE UPDATE ON trail FOR EACH ROW
    EXECUTE FUNCTION gavel_refuse('the audit trail is append-only: events cannot be changed');
CREATE TRIGGER trail_no_delete BEFORE DELETE ON trail FOR EACH ROW
    EXECUTE FUNCTION gavel_refuse('the audit trail is append-only: events cannot be deleted');
CREATE TRIGGER trail_no_truncate BEFORE TRUNCATE ON trail FOR EACH STATEMENT
    EXECUTE FUNCTION gavel_refuse('the audit trail is append-only: events cannot be deleted');

CREATE TABLE log_hashes (
    idx  BIGINT PRIMARY KEY,
    hash BYTEA NOT NULL
);

CREATE TABLE checkpoints (
    size      BIGINT PRIMARY KEY,
    note      TEXT NOT NULL,
    signed_at BIGINT NOT NULL
);

CREATE TABLE idempotency (
    key          TEXT PRIMARY KEY,
    actor        TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    response     TEXT NOT NULL,
    created_at   BIGINT NOT NULL
);
CREATE INDEX idempotency_age ON idempotency(created_at);

-- An offline cache's own tables: a server's store never fills them, and
-- keeps them so both schemas are one.
CREATE TABLE sync_state (
    id             BIGINT PRIMARY KEY CHECK (id = 1),
    cursor         BIGINT NOT NULL,
    last_synced_at BIGINT,
    offline_since  BIGINT
);

CREATE TABLE outbox (
    id              BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    entity          TEXT NOT NULL,
    kind            TEXT NOT NULL,
    payload         TEXT NOT NULL,
    idempotency_key TEXT NOT NULL UNIQUE,
    base_version    BIGINT,
    state           TEXT NOT NULL,
    attempts        BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    server_answer   TEXT,
    created_at      BIGINT NOT NULL
);
CREATE INDEX outbox_entity ON outbox(entity, id);

CREATE TABLE cache_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE tools (
    name       TEXT COLLATE nocase PRIMARY KEY,
    status     TEXT NOT NULL,
    decided_by TEXT NOT NULL,
    decided_at BIGINT NOT NULL,
    comment    TEXT NOT NULL
);

CREATE TABLE policy_sets (
    version     BIGINT PRIMARY KEY,
    source      TEXT NOT NULL,
    source_hash TEXT NOT NULL,
    description TEXT NOT NULL,
    based_on    BIGINT,
    plan        TEXT NOT NULL,
    proposed_by TEXT NOT NULL,
    proposed_at BIGINT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('proposed', 'active', 'superseded', 'rejected')),
    decided_by  TEXT,
    decided_at  BIGINT,
    comment     TEXT
);
CREATE UNIQUE INDEX policy_sets_one_active ON policy_sets(state) WHERE state = 'active';
CREATE TRIGGER policy_sets_content_is_immutable
    BEFORE UPDATE OF version, source, source_hash, description, based_on, plan, proposed_by, proposed_at
    ON policy_sets FOR EACH ROW
    WHEN (OLD.version IS DISTINCT FROM NEW.version OR OLD.source IS DISTINCT FROM NEW.source
          OR OLD.source_hash IS DISTINCT FROM NEW.source_hash
          OR OLD.description IS DISTINCT FROM NEW.description
          OR OLD.based_on IS DISTINCT FROM NEW.based_on OR OLD.plan IS DISTINCT FROM NEW.plan
          OR OLD.proposed_by IS DISTINCT FROM NEW.proposed_by
          OR OLD.proposed_at IS DISTINCT FROM NEW.proposed_at)
    EXECUTE FUNCTION gavel_refuse('a policy set version is immutable once proposed');
CREATE TRIGGER policy_sets_are_kept BEFORE DELETE ON policy_sets FOR EACH ROW
    EXECUTE FUNCTION gavel_refuse('policy set versions are never deleted');
CREATE TRIGGER policy_sets_move_by_the_lifecycle
    BEFORE UPDATE OF state ON policy_sets FOR EACH ROW
    WHEN (OLD.state IS DISTINCT FROM NEW.state
          AND NOT ((OLD.state = 'proposed' AND NEW.state IN ('active', 'rejected'))
                   OR (OLD.state = 'active' AND NEW.state = 'superseded')))
    EXECUTE FUNCTION gavel_refuse('a policy set moves only from proposed to active or rejected, and from active to superseded');
CREATE TRIGGER policy_sets_are_decided_once
    BEFORE UPDATE OF decided_by, decided_at, comment ON policy_sets FOR EACH ROW
    WHEN (OLD.decided_by IS NOT NULL
          AND (OLD.decided_by IS DISTINCT FROM NEW.decided_by
               OR OLD.decided_at IS DISTINCT FROM NEW.decided_at
               OR OLD.comment IS DISTINCT FROM NEW.comment))
    EXECUTE FUNCTION gavel_refuse('a policy set version is decided once');

CREATE TABLE audit_runs (
    run_id            TEXT PRIMARY KEY,
    agent_id          TEXT NOT NULL,
    agent_version     TEXT NOT NULL,
    attribute         TEXT NOT NULL,
    settings          TEXT NOT NULL,
    cases_sha256      TEXT NOT NULL,
    classifier_sha256 TEXT NOT NULL,
    case_count        BIGINT NOT NULL,
    started_by        TEXT NOT NULL,
    started_at        BIGINT NOT NULL,
    finished_at       BIGINT,
    audit_id          TEXT,
    evidence_sha256   TEXT,
    done              BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX audit_runs_by_agent ON audit_runs(agent_id, started_at);
CREATE TRIGGER audit_runs_are_kept BEFORE DELETE ON audit_runs FOR EACH ROW
    EXECUTE FUNCTION gavel_refuse('audit runs are never deleted');
CREATE TRIGGER audit_runs_finish_once BEFORE UPDATE ON audit_runs FOR EACH ROW
    WHEN (OLD.finished_at IS NOT NULL
          OR NEW.run_id IS DISTINCT FROM OLD.run_id OR NEW.settings IS DISTINCT FROM OLD.settings
          OR NEW.cases_sha256 IS DISTINCT FROM OLD.cases_sha256
          OR NEW.started_by IS DISTINCT FROM OLD.started_by
          OR NEW.case_count IS DISTINCT FROM OLD.case_count
          OR NEW.agent_id IS DISTINCT FROM OLD.agent_id
          OR NEW.agent_version IS DISTINCT FROM OLD.agent_version)
    EXECUTE FUNCTION gavel_refuse('an audit run is finished once and its settings never change');

CREATE TABLE audit_run_cases (
    run_id          TEXT NOT NULL,
    case_id         TEXT NOT NULL,
    group_value     TEXT NOT NULL,
    attributes      TEXT NOT NULL,
    pair_id         TEXT,
    input           TEXT NOT NULL,
    response        TEXT NOT NULL,
    response_sha256 TEXT NOT NULL,
    response_bytes  BIGINT NOT NULL,
    outcome         TEXT NOT NULL CHECK (outcome IN ('positive', 'negative', 'unknown')),
    score           DOUBLE PRECISION,
    reason          TEXT NOT NULL,
    latency_ms      BIGINT NOT NULL,
    recorded_at     BIGINT NOT NULL,
    PRIMARY KEY (run_id, case_id)
);
CREATE INDEX audit_run_cases_by_group ON audit_run_cases(run_id, group_value, outcome, case_id);
CREATE INDEX audit_run_cases_by_pair ON audit_run_cases(run_id, pair_id) WHERE pair_id IS NOT NULL;
CREATE TRIGGER audit_run_cases_are_kept BEFORE DELETE ON audit_run_cases FOR EACH ROW
    EXECUTE FUNCTION gavel_refuse('case evidence is never deleted');
CREATE TRIGGER audit_run_cases_are_immutable BEFORE UPDATE ON audit_run_cases FOR EACH ROW
    EXECUTE FUNCTION gavel_refuse('case evidence is never changed');

CREATE TABLE notification_events (
    event_id   BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    kind       TEXT NOT NULL,
    subject    TEXT NOT NULL,
    data       TEXT NOT NULL,
    tell       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    fanned_out BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX notification_events_waiting ON notification_events(event_id) WHERE fanned_out = 0;

CREATE TABLE deliveries (
    delivery_id     BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    event_id        BIGINT NOT NULL REFERENCES notification_events(event_id),
    channel         TEXT NOT NULL,
    target          TEXT NOT NULL,
    state           TEXT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    claimed_until   BIGINT,
    last_error      TEXT,
    sent_at         BIGINT,
    UNIQUE (event_id, channel, target)
);
CREATE INDEX deliveries_due ON deliveries(state, next_attempt_at);

CREATE TABLE inbox (
    user_email TEXT COLLATE nocase NOT NULL,
    event_id   BIGINT NOT NULL,
    read_at    BIGINT,
    PRIMARY KEY (user_email, event_id)
);

CREATE TABLE delegations (
    delegation_id TEXT PRIMARY KEY,
    delegator     TEXT COLLATE nocase NOT NULL,
    delegate      TEXT COLLATE nocase NOT NULL,
    role          TEXT,
    starts_at     BIGINT NOT NULL,
    ends_at       BIGINT NOT NULL,
    created_at    BIGINT NOT NULL,
    ended_at      BIGINT
);
CREATE INDEX delegations_by_delegator ON delegations(delegator, ends_at);
CREATE INDEX delegations_by_delegate ON delegations(delegate, ends_at);

-- Ids the store assigns (`wf-0000001`) follow insertion order; SQLite
-- reads the next from its row ids, PostgreSQL from the newest id, found
-- in one probe of these (a longer id is a later one).
CREATE INDEX deployments_id_order ON deployments((length(deployment_id)), deployment_id);
CREATE INDEX workflows_id_order ON workflows((length(workflow_id)), workflow_id);
CREATE INDEX reviews_id_order ON reviews((length(review_id)), review_id);
CREATE INDEX audits_id_order ON audits((length(audit_id)), audit_id);
CREATE INDEX audit_runs_id_order ON audit_runs((length(run_id)), run_id);
CREATE INDEX delegations_id_order ON delegations((length(delegation_id)), delegation_id);
