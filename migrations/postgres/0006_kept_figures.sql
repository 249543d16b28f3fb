-- The embedded store's migration 19. Leadership's figures kept as counts
-- (src/backend/local/writes/figures.rs): workflow outcomes per week, team
-- and status; decided steps' waits per week, team, role and histogram
-- bucket, and over every team; requests per week, team and outcome; blocked deployments per day
-- of request and team. Filled when a store opens with records but none.

CREATE TABLE workflow_outcomes (
    week   BIGINT NOT NULL,
    team   TEXT NOT NULL,
    status TEXT NOT NULL,
    n      BIGINT NOT NULL,
    PRIMARY KEY (week, team, status)
);
CREATE TABLE decision_times (
    week   BIGINT NOT NULL,
    team   TEXT NOT NULL,
    role   TEXT NOT NULL,
    bucket BIGINT NOT NULL,
    n      BIGINT NOT NULL,
    PRIMARY KEY (week, team, role, bucket)
);
CREATE TABLE role_decision_times (
    week   BIGINT NOT NULL,
    role   TEXT NOT NULL,
    bucket BIGINT NOT NULL,
    n      BIGINT NOT NULL,
    PRIMARY KEY (week, role, bucket)
);
CREATE TABLE request_weeks (
    week    BIGINT NOT NULL,
    team    TEXT NOT NULL,
    outcome TEXT NOT NULL,
    n       BIGINT NOT NULL,
    PRIMARY KEY (week, team, outcome)
);
CREATE TABLE blocked_days (
    day  BIGINT NOT NULL,
    team TEXT NOT NULL,
    n    BIGINT NOT NULL,
    PRIMARY KEY (day, team)
);
