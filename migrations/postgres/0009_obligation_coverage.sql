-- The embedded store's migration 22 (the same text). For each agent and
-- each framework of the active set with a duty that applies to the
-- agent's current version: from when one of its duties is in effect and
-- unmet with the records as they are (9223372036854775807: never).
-- Time only adds unmet duties, so the clock is applied when it is read:
-- the agents a framework leaves unmet at T are those with
-- unmet_from <= T. Each write that changes what a posture reads refreshes
-- its agent; approving a set fills it again, a slice of agents per
-- transaction (`filled` names the version it is filled for and, while
-- filling, the last agent done). Times are milliseconds since 1970, UTC.

CREATE TABLE obligation_coverage (
    agent_id     TEXT NOT NULL,
    framework_id TEXT NOT NULL,
    unmet_from   BIGINT NOT NULL,
    PRIMARY KEY (agent_id, framework_id)
);

CREATE INDEX obligation_coverage_by_framework
    ON obligation_coverage (framework_id, unmet_from);

-- How many agents fall unmet on each day (days since 1970, UTC; the
-- largest BIGINT: never), per framework: the dashboard sums the days
-- before today and reads today's few rows above, never every agent.
CREATE TABLE obligation_coverage_days (
    framework_id TEXT NOT NULL,
    unmet_day    BIGINT NOT NULL,
    n            BIGINT NOT NULL,
    PRIMARY KEY (framework_id, unmet_day)
);

CREATE TABLE obligation_coverage_filled (
    policy_set_version BIGINT NOT NULL,
    -- NULL: every agent is judged; else the last agent judged so far.
    filled_through     TEXT
);
