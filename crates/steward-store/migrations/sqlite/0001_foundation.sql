-- Enterprises (tenants), API keys, device groups and the devices they hold.
-- UUIDs are 16-byte BLOBs (sqlx's encoding); instants are RFC 3339 text in UTC.

CREATE TABLE enterprises (
    id                 BLOB PRIMARY KEY NOT NULL,
    name               TEXT NOT NULL,
    short_code         TEXT NOT NULL UNIQUE,
    registered_name    TEXT,
    registered_address TEXT,
    location           TEXT,
    zipcode            TEXT,
    contact_person     TEXT,
    contact_number     TEXT,
    contact_email      TEXT,
    created_on         TEXT NOT NULL,
    updated_on         TEXT NOT NULL
);

CREATE TABLE api_keys (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid          BLOB NOT NULL UNIQUE,
    enterprise_id BLOB NOT NULL REFERENCES enterprises (id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    key_hash      TEXT NOT NULL UNIQUE,
    prefix        TEXT NOT NULL,
    scope         TEXT NOT NULL,
    created_on    TEXT NOT NULL,
    updated_on    TEXT NOT NULL,
    expires_on    TEXT,
    revoked_on    TEXT,
    last_used_on  TEXT
);
CREATE INDEX api_keys_enterprise ON api_keys (enterprise_id);

CREATE TABLE device_groups (
    id            BLOB PRIMARY KEY NOT NULL,
    enterprise_id BLOB NOT NULL REFERENCES enterprises (id) ON DELETE CASCADE,
    parent_id     BLOB REFERENCES device_groups (id) ON DELETE RESTRICT,
    name          TEXT NOT NULL,
    created_on    TEXT NOT NULL,
    updated_on    TEXT NOT NULL
);
CREATE INDEX device_groups_enterprise_name ON device_groups (enterprise_id, name);
CREATE INDEX device_groups_parent ON device_groups (parent_id);

CREATE TABLE devices (
    id            BLOB PRIMARY KEY NOT NULL,
    enterprise_id BLOB NOT NULL REFERENCES enterprises (id) ON DELETE CASCADE,
    group_id      BLOB REFERENCES device_groups (id) ON DELETE SET NULL,
    device_name   TEXT NOT NULL,
    alias_name    TEXT,
    created_on    TEXT NOT NULL,
    updated_on    TEXT NOT NULL
);
CREATE INDEX devices_enterprise ON devices (enterprise_id, created_on);
CREATE INDEX devices_group ON devices (group_id);
