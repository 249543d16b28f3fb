-- The embedded store's migration 27 (the same text): when an incident's
-- next deadline alert (a reminder a day before its report is due, then
-- the overdue alert) falls, so the scheduler finds the due ones by range.

ALTER TABLE incidents ADD COLUMN next_alert_at BIGINT;

CREATE INDEX incidents_next_alert ON incidents (next_alert_at);
