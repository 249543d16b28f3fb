-- The embedded store's migration 25 (the same text): incidents with agent
-- versions. The whole record is kept as JSON (the trail's events rebuild
-- it); the columns beside it are what lists, checks and counts look up
-- by. Times are milliseconds since 1970, UTC.

CREATE TABLE incidents (
    incident_id   TEXT PRIMARY KEY,
    agent_id      TEXT NOT NULL,
    agent_version TEXT NOT NULL,
    severity      TEXT NOT NULL,
    -- open, triaged or closed.
    status        TEXT NOT NULL,
    -- 1 while the incident holds its agent version suspended.
    suspended     BIGINT NOT NULL,
    -- When the report it owes is due, while it owes one not yet confirmed.
    report_due    BIGINT,
    reported_by   TEXT NOT NULL,
    -- The role a pending lifting of its suspension waits for.
    next_role     TEXT,
    record        TEXT NOT NULL
);

CREATE INDEX incidents_by_version ON incidents (agent_id, agent_version, suspended);
CREATE INDEX incidents_by_status ON incidents (status, report_due);
CREATE INDEX incidents_suspending ON incidents (suspended, next_role);

-- The newest id in one probe (PostgreSQL has no row ids to count by).
CREATE INDEX incidents_id_order ON incidents (length(incident_id), incident_id);
