-- The embedded store's migration 24 (the same text): since when each
-- agent's record stands as allowed or approved (NULL: its version was never
-- allowed or approved, as a new agent's first request), indexed by risk
-- tier, so the approvals due for recertification are counted by range.

ALTER TABLE agents ADD COLUMN standing_since BIGINT;

UPDATE agents SET standing_since = updated_at
WHERE EXISTS (SELECT 1 FROM deployments d
    WHERE d.agent_id = agents.agent_id AND d.agent_version = agents.version
      AND d.status IN ('allowed', 'approved'));

CREATE INDEX agents_standing ON agents (risk_tier, standing_since);
