-- The embedded store's migration 20 (the same text): totals kept so that
-- the dashboard reads a row per day or team, not per agent or per pair.
--
-- Standings counted per
-- kind (base), day of first expiry and day a failing verdict ends (-1: it
-- does not fail), kept with each standing's write (writes::standings), so
-- the dashboard's audit counts read a row per day, not a row per agent.
-- Days are whole UTC days since 1970 (milliseconds / 86400000).

CREATE TABLE standing_days (
    base        TEXT NOT NULL,
    expiry_day  BIGINT NOT NULL,
    failing_day BIGINT NOT NULL,
    n           BIGINT NOT NULL,
    PRIMARY KEY (base, expiry_day, failing_day)
);

CREATE INDEX agent_standings_by_failing ON agent_standings (failing_until);

INSERT INTO standing_days (base, expiry_day, failing_day, n)
SELECT base, expires_at / 86400000, COALESCE(failing_until / 86400000, -1), COUNT(*)
FROM agent_standings
GROUP BY base, expires_at / 86400000, COALESCE(failing_until / 86400000, -1);

-- Blocked deployments per team and per day of request: what blocked_days
-- holds per (day, team), summed once here and kept with it
-- (writes::figures), for the dashboard's totals and its median.

CREATE TABLE blocked_teams (
    team TEXT PRIMARY KEY,
    n    BIGINT NOT NULL
);

CREATE TABLE blocked_day_totals (
    day BIGINT PRIMARY KEY,
    n   BIGINT NOT NULL
);

INSERT INTO blocked_teams (team, n) SELECT team, SUM(n) FROM blocked_days GROUP BY team;

INSERT INTO blocked_day_totals (day, n) SELECT day, SUM(n) FROM blocked_days GROUP BY day;
