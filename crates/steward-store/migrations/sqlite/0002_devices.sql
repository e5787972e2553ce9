-- Devices as agents report them, enrolment tokens, status events, apps, installs, event feed.

ALTER TABLE devices ADD COLUMN status INTEGER NOT NULL DEFAULT 60;
ALTER TABLE devices ADD COLUMN serial TEXT;
ALTER TABLE devices ADD COLUMN imei TEXT;
ALTER TABLE devices ADD COLUMN brand TEXT;
ALTER TABLE devices ADD COLUMN model TEXT;
ALTER TABLE devices ADD COLUMN platform TEXT NOT NULL DEFAULT 'LINUX';
ALTER TABLE devices ADD COLUMN os_version TEXT;
ALTER TABLE devices ADD COLUMN agent_version TEXT;
ALTER TABLE devices ADD COLUMN api_level INTEGER;
ALTER TABLE devices ADD COLUMN is_gms BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE devices ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';
ALTER TABLE devices ADD COLUMN hardware_info TEXT NOT NULL DEFAULT '{}';
ALTER TABLE devices ADD COLUMN software_info TEXT NOT NULL DEFAULT '{}';
ALTER TABLE devices ADD COLUMN network_info TEXT NOT NULL DEFAULT '{}';
ALTER TABLE devices ADD COLUMN memory_info TEXT NOT NULL DEFAULT '{}';
ALTER TABLE devices ADD COLUMN displays TEXT NOT NULL DEFAULT '[]';
ALTER TABLE devices ADD COLUMN telemetry TEXT;
ALTER TABLE devices ADD COLUMN battery_level REAL;
ALTER TABLE devices ADD COLUMN last_seen TEXT;
ALTER TABLE devices ADD COLUMN provisioned_on TEXT;
ALTER TABLE devices ADD COLUMN token_hash TEXT;
ALTER TABLE devices ADD COLUMN enrollment_token_id BLOB;

CREATE UNIQUE INDEX devices_token_hash ON devices (token_hash);
CREATE INDEX devices_enterprise_name ON devices (enterprise_id, device_name);
CREATE INDEX devices_enterprise_serial ON devices (enterprise_id, serial);
CREATE INDEX devices_enterprise_imei ON devices (enterprise_id, imei);
CREATE INDEX devices_status_last_seen ON devices (status, last_seen);

CREATE TABLE enrollment_tokens (
    id            BLOB PRIMARY KEY NOT NULL,
    enterprise_id BLOB NOT NULL REFERENCES enterprises (id) ON DELETE CASCADE,
    group_id      BLOB REFERENCES device_groups (id) ON DELETE SET NULL,
    name          TEXT NOT NULL,
    token_hash    TEXT NOT NULL UNIQUE,
    prefix        TEXT NOT NULL,
    max_uses      INTEGER,
    uses          INTEGER NOT NULL DEFAULT 0,
    expires_on    TEXT,
    revoked_on    TEXT,
    created_on    TEXT NOT NULL,
    updated_on    TEXT NOT NULL
);
CREATE INDEX enrollment_tokens_enterprise ON enrollment_tokens (enterprise_id);

CREATE TABLE device_status (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    enterprise_id BLOB NOT NULL REFERENCES enterprises (id) ON DELETE CASCADE,
    device_id     BLOB NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    data          TEXT NOT NULL,
    created_on    TEXT NOT NULL
);
CREATE INDEX device_status_device ON device_status (device_id, id);

CREATE TABLE device_apps (
    id            BLOB PRIMARY KEY NOT NULL,
    enterprise_id BLOB NOT NULL REFERENCES enterprises (id) ON DELETE CASCADE,
    device_id     BLOB NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    package_name  TEXT NOT NULL,
    app_name      TEXT NOT NULL,
    version_name  TEXT,
    version_code  TEXT,
    created_on    TEXT NOT NULL,
    updated_on    TEXT NOT NULL
);
CREATE UNIQUE INDEX device_apps_device_package ON device_apps (device_id, package_name);

CREATE TABLE app_installs (
    id               BLOB PRIMARY KEY NOT NULL,
    enterprise_id    BLOB NOT NULL REFERENCES enterprises (id) ON DELETE CASCADE,
    device_id        BLOB NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    application_name TEXT NOT NULL,
    package_name     TEXT NOT NULL,
    version_name     TEXT,
    version_code     TEXT,
    app_version_id   BLOB,
    install_state    TEXT NOT NULL,
    reason_details   TEXT,
    created_on       TEXT NOT NULL,
    updated_on       TEXT NOT NULL
);
CREATE INDEX app_installs_device ON app_installs (device_id, created_on);

CREATE TABLE device_events (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    enterprise_id BLOB NOT NULL REFERENCES enterprises (id) ON DELETE CASCADE,
    device_id     BLOB NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    kind          TEXT NOT NULL,
    data          TEXT NOT NULL,
    created_on    TEXT NOT NULL
);
CREATE INDEX device_events_device ON device_events (device_id, id);
