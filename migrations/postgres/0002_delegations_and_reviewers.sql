-- The embedded store's migration 15. A delegation covers the roles it was
-- made with, not whatever roles its two people gain later: each
-- delegation made without a role is given the reviewer roles both people
-- hold now; one whose people are gone covers nothing. A review's author
-- counts as its ethics step's decider from assignment: the deciders
-- column marks them `r:` for the queue.

ALTER TABLE delegations ADD COLUMN roles TEXT NOT NULL DEFAULT '';

UPDATE delegations SET roles = role WHERE role IS NOT NULL;

UPDATE delegations d
SET roles = COALESCE((
    SELECT string_agg(held.role, ',' ORDER BY held.position)
    FROM unnest(string_to_array(a.roles, ',')) WITH ORDINALITY AS held(role, position)
    WHERE held.role <> '' AND held.role <> 'policy_admin'
      AND held.role = ANY (string_to_array(b.roles, ','))
), '')
FROM users a, users b
WHERE d.role IS NULL AND a.email = d.delegator AND b.email = d.delegate;

UPDATE workflows w
SET deciders = CASE WHEN w.deciders = '' THEN '|' ELSE w.deciders END || 'r:' || lower(r.reviewer) || '|'
FROM reviews r
WHERE r.workflow_id = w.workflow_id;
