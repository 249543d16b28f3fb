-- The embedded store's migration 29 (the same text): the organisation's
-- directory as SCIM provisions it. Each user and group keeps the
-- attributes Gavel reads (`resource`, JSON), keyed by the id Gavel gave it;
-- a user provisions the Gavel user `email` once the directory sends an
-- email. Memberships are kept as rows too, so a person's groups (their
-- roles and teams) are one indexed read. The directory's bearer token is
-- kept as its hash. A review whose reviewer the directory removed is
-- flagged for a compliance officer to reassign.

CREATE TABLE directory_users (
    scim_id       TEXT PRIMARY KEY,
    user_name_key TEXT NOT NULL UNIQUE,
    external_id   TEXT,
    email         TEXT,
    active        INTEGER NOT NULL,
    resource      TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    version       BIGINT NOT NULL
);
CREATE INDEX directory_users_external ON directory_users (external_id);
CREATE INDEX directory_users_email ON directory_users (email);

CREATE TABLE directory_groups (
    scim_id          TEXT PRIMARY KEY,
    display_name_key TEXT NOT NULL,
    external_id      TEXT,
    resource         TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    version          BIGINT NOT NULL
);
CREATE INDEX directory_groups_name ON directory_groups (display_name_key);
CREATE INDEX directory_groups_external ON directory_groups (external_id);

CREATE TABLE directory_members (
    group_id  TEXT NOT NULL,
    member_id TEXT NOT NULL,
    PRIMARY KEY (group_id, member_id)
);
CREATE INDEX directory_members_member ON directory_members (member_id);

CREATE TABLE directory_credentials (
    name       TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

ALTER TABLE reviews ADD COLUMN reassign_since BIGINT;
