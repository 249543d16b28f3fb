-- The embedded store's migration 23 (the same text): time-bound exceptions
-- to one policy for one agent version. The whole record is kept as JSON
-- (the trail's events rebuild it); the columns beside it are what lists
-- and evaluation look up by. Times are milliseconds since 1970, UTC.

CREATE TABLE policy_exceptions (
    exception_id  TEXT PRIMARY KEY,
    agent_id      TEXT NOT NULL,
    agent_version TEXT NOT NULL,
    policy_id     TEXT NOT NULL,
    status        TEXT NOT NULL,
    ends_at       BIGINT NOT NULL,
    requested_by  TEXT NOT NULL,
    -- The role the next step waits for, while pending.
    next_role     TEXT,
    record        TEXT NOT NULL
);

CREATE INDEX policy_exceptions_by_version
    ON policy_exceptions (agent_id, agent_version, status);
CREATE INDEX policy_exceptions_by_status
    ON policy_exceptions (status, ends_at);

-- The newest id in one probe (PostgreSQL has no row ids to count by).
CREATE INDEX policy_exceptions_id_order
    ON policy_exceptions (length(exception_id), exception_id);
