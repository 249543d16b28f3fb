"""Fills a store's outbox with N workflow.opened events, each telling one approver."""
import json, sqlite3, sys, time
db, n = sys.argv[1], int(sys.argv[2])
c = sqlite3.connect(db)
data = json.dumps({"workflow_id": "wf-bench", "deployment_id": "dep-bench", "agent_id": "agt-bench", "agent_name": "Bench",
  "team": "People", "requested_by": "dana@example.com", "triggered_by_policy": "risk_tier_medium", "status": "in_progress",
  "actor": "dana@example.com", "current_step": {"step_id": 1, "of": 1, "role": "technical_lead"}, "decided_step": None,
  "waiting_since": "2026-12-01T05:00:00Z"})
now = int(time.time() * 1000)
c.executemany("INSERT INTO notification_events (kind, subject, data, tell, created_at) VALUES ('workflow.opened', 'wf-bench', ?, '[\"lee@example.com\"]', ?)",
  [(data, now)] * n)
c.commit()
print("queued", n)
