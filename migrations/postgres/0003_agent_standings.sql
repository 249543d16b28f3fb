-- The embedded store's migration 16. Every agent's audit standing with the
-- clock taken out (domain::bias::standing::TimelessStanding): `base` while
-- no audit has expired, the first expiry, and until when a failing verdict
-- outlasts the expiries (9223372036854775807: one never expires). Filled
-- when a store opens with agents but no standings; kept by each write that
-- changes an agent, its audits or the active policy set.

CREATE TABLE agent_standings (
    agent_id      TEXT PRIMARY KEY,
    team          TEXT NOT NULL,
    base          TEXT NOT NULL,
    expires_at    BIGINT,
    failing_until BIGINT
);

CREATE INDEX agent_standings_by_base ON agent_standings (base, expires_at);
CREATE INDEX agent_standings_by_expiry ON agent_standings (expires_at, failing_until);
