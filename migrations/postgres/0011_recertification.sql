-- The embedded store's migration 24 (the same text): agents' records by
-- risk tier and since when they stand, so the approvals due for
-- recertification are found by range, not by reading every agent.

CREATE INDEX agents_standing ON agents (risk_tier, updated_at);
