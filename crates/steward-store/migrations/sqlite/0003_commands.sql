-- Commands: one request (legacy device or group command, or Commands V2) fans out to one
-- status row per device. The status rows are the queue: per-device FIFO by id (UUIDv7, so
-- ids sort by creation), delivered while not terminal, timed out at their deadline.

CREATE TABLE command_requests (
    id              BLOB PRIMARY KEY NOT NULL,
    enterprise_id   BLOB NOT NULL REFERENCES enterprises (id) ON DELETE CASCADE,
    origin          TEXT NOT NULL,
    command_type    TEXT NOT NULL,
    device_type     TEXT NOT NULL,
    command         TEXT NOT NULL,
    command_args    TEXT NOT NULL,
    schedule        TEXT NOT NULL,
    schedule_args   TEXT,
    device_ids      TEXT NOT NULL,
    group_ids       TEXT NOT NULL,
    legacy_group_id BLOB,
    issued_by_id    INTEGER,
    issued_by_name  TEXT,
    timeout_secs    INTEGER NOT NULL,
    created_on      TEXT NOT NULL,
    updated_on      TEXT NOT NULL
);
CREATE INDEX command_requests_enterprise ON command_requests (enterprise_id, id);

CREATE TABLE command_statuses (
    id              BLOB PRIMARY KEY NOT NULL,
    request_id      BLOB NOT NULL REFERENCES command_requests (id) ON DELETE CASCADE,
    enterprise_id   BLOB NOT NULL REFERENCES enterprises (id) ON DELETE CASCADE,
    device_id       BLOB NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    state           TEXT NOT NULL,
    reason          TEXT,
    details         TEXT,
    time_zone       TEXT,
    not_before      TEXT,
    deadline        TEXT,
    attempts        INTEGER NOT NULL DEFAULT 0,
    sent_on         TEXT,
    created_on      TEXT NOT NULL,
    updated_on      TEXT NOT NULL
);
CREATE UNIQUE INDEX command_statuses_request_device ON command_statuses (request_id, device_id);
CREATE INDEX command_statuses_request_state ON command_statuses (request_id, state);
CREATE INDEX command_statuses_device ON command_statuses (device_id, id);
CREATE INDEX command_statuses_device_state ON command_statuses (device_id, state, id);
CREATE INDEX command_statuses_state_deadline ON command_statuses (state, deadline);
CREATE INDEX command_statuses_state_not_before ON command_statuses (state, not_before);
