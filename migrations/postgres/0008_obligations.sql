-- The embedded store's migration 21 (the same text): what classifies each
-- agent version (its intake answers) and what people confirmed is in place
-- outside Gavel, for the obligations a policy set adopts.
-- Times are milliseconds since 1970, UTC.

CREATE TABLE intakes (
    agent_id      TEXT NOT NULL,
    agent_version TEXT NOT NULL,
    template_id   TEXT NOT NULL,
    status        TEXT NOT NULL,
    answers       TEXT NOT NULL,
    filled_by     TEXT NOT NULL,
    updated_at    BIGINT NOT NULL,
    submitted_at  BIGINT,
    version       BIGINT NOT NULL,
    -- A resubmission that would lower what the agent is held to waits
    -- here for the classification_change chain's decision.
    pending_answers TEXT,
    pending_by      TEXT,
    pending_at      BIGINT,
    pending_stops   TEXT,
    PRIMARY KEY (agent_id, agent_version)
);

CREATE TABLE obligation_confirmations (
    confirmation_id TEXT PRIMARY KEY,
    obligation_id   TEXT NOT NULL,
    agent_id        TEXT NOT NULL,
    link            TEXT,
    file_sha256     TEXT,
    comment         TEXT NOT NULL,
    valid_until     BIGINT NOT NULL,
    role            TEXT NOT NULL,
    confirmed_by    TEXT NOT NULL,
    confirmed_at    BIGINT NOT NULL
);

CREATE INDEX obligation_confirmations_by_agent
    ON obligation_confirmations (agent_id, obligation_id, confirmed_at);

-- The newest id in one probe (PostgreSQL has no row ids to count by).
CREATE INDEX obligation_confirmations_id_order
    ON obligation_confirmations (length(confirmation_id), confirmation_id);
