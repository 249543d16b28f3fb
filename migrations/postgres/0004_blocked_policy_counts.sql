-- The embedded store's migration 17. How many blocked deployments each
-- policy blocks, kept with each status change (writes::blocked), so the
-- dashboard reads a few rows instead of joining every blocked deployment.

CREATE TABLE blocked_policy_counts (
    policy_id TEXT PRIMARY KEY,
    n         BIGINT NOT NULL
);

INSERT INTO blocked_policy_counts (policy_id, n)
SELECT p.policy_id, COUNT(*) FROM deployments d
  JOIN deployment_policies p ON p.deployment_id = d.deployment_id AND p.blocking = 1
WHERE d.status = 'blocked' GROUP BY p.policy_id;
