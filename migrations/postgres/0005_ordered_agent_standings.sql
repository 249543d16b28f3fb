-- The embedded store's migration 18. Standings are read a page at a time,
-- most urgent first: each kind of attention is one range of an index in
-- display order (first expiry, lowercased name, id), so no expiry is stored
-- as NULL (9223372036854775807: none) and the name's sort key is kept. The
-- keys compare byte by byte ("C"), as SQLite compares them, so a page's
-- cursor means the same on both engines. Refilled when a store opens.

DROP TABLE agent_standings;

CREATE TABLE agent_standings (
    agent_id      TEXT COLLATE "C" PRIMARY KEY,
    team          TEXT NOT NULL,
    name_key      TEXT COLLATE "C" NOT NULL,
    base          TEXT NOT NULL,
    expires_at    BIGINT NOT NULL,
    failing_until BIGINT
);

CREATE INDEX agent_standings_by_base
    ON agent_standings (base, expires_at, name_key, agent_id, team, failing_until);
CREATE INDEX agent_standings_by_expiry
    ON agent_standings (expires_at, name_key, agent_id, team, failing_until);
