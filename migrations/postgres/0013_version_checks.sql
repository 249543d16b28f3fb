-- When a deployment check last found each agent version in use, written
-- in batches at most once a minute (never the trail): an approved version
-- unused longer than the set's dormant_after is recertified before its
-- next use. The embedded store's migration 26 creates the same table;
-- both count what stands at the upgrade as in use from then, since Gavel
-- had not been watching before. Times are milliseconds since 1970, UTC.

CREATE TABLE version_checks (
    agent_id        TEXT NOT NULL,
    agent_version   TEXT NOT NULL,
    last_checked_at BIGINT NOT NULL,
    PRIMARY KEY (agent_id, agent_version)
);

INSERT INTO version_checks (agent_id, agent_version, last_checked_at)
SELECT agent_id, version, CAST(EXTRACT(EPOCH FROM now()) * 1000 AS BIGINT)
FROM agents WHERE standing_since IS NOT NULL;
