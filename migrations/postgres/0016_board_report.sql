-- The embedded store's migration 30 (the same text): the board report.
--
-- What it reads per week (the Monday 00:00 UTC it starts, in milliseconds) and
-- team that the other kept figures do not hold: steps' reminders,
-- due-time alerts and escalations, by when they were sent, and bias
-- audits, by when they were tested (all, and the failing ones). Kept with
-- each write (writes::figures), filled here from the record: the trail's
-- alert events and the audits, each with its agent's team.

CREATE TABLE report_weeks (
    week   BIGINT NOT NULL,
    team   TEXT NOT NULL,
    figure TEXT NOT NULL,
    n      BIGINT NOT NULL,
    PRIMARY KEY (week, team, figure)
);

INSERT INTO report_weeks (week, team, figure, n)
SELECT (t.at / 86400000 - (t.at / 86400000 + 3) % 7) * 86400000, w.team,
       CASE t.action WHEN 'step_reminded' THEN 'reminder'
                     WHEN 'step_overdue' THEN 'overdue'
                     ELSE 'escalated' END,
       COUNT(*)
FROM trail t JOIN workflows w ON w.workflow_id = t.entity_id
WHERE t.entity_type = 'workflow'
  AND t.action IN ('step_reminded', 'step_overdue', 'step_escalated')
GROUP BY 1, 2, 3;

INSERT INTO report_weeks (week, team, figure, n)
SELECT (a.tested_at / 86400000 - (a.tested_at / 86400000 + 3) % 7) * 86400000, g.team,
       'audit', COUNT(*)
FROM audits a JOIN agents g ON g.agent_id = a.agent_id
GROUP BY 1, 2;

INSERT INTO report_weeks (week, team, figure, n)
SELECT (a.tested_at / 86400000 - (a.tested_at / 86400000 + 3) % 7) * 86400000, g.team,
       'audit_failing', COUNT(*)
FROM audits a JOIN agents g ON g.agent_id = a.agent_id
WHERE a.passes = 0
GROUP BY 1, 2;

-- Reports the notifier sends on a schedule (gavel report schedule): how
-- often, to which users (a JSON array of emails), for which team, in which
-- format; when it is next due, and when it was stopped.

CREATE TABLE report_schedules (
    schedule_id TEXT PRIMARY KEY,
    every       TEXT NOT NULL,
    recipients  TEXT NOT NULL,
    team        TEXT,
    format      TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    next_at     BIGINT NOT NULL,
    stopped_at  BIGINT
);

CREATE INDEX report_schedules_due ON report_schedules (next_at) WHERE stopped_at IS NULL;
