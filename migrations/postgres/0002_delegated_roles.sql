-- A delegation covers the roles it was made with, not whatever roles its
-- two people gain later (the embedded store's migration 15). Each
-- delegation made without a role is given the reviewer roles both people
-- hold now; one whose people are gone covers nothing.

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
