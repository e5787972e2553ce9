-- Custom actions (/v2/custom-actions/): named scripts with options that operators run on
-- Linux devices.

CREATE TABLE custom_actions (
    id                          UUID PRIMARY KEY NOT NULL,
    enterprise_id               UUID NOT NULL REFERENCES enterprises (id) ON DELETE CASCADE,
    name                        TEXT NOT NULL,
    action_type                 TEXT NOT NULL,
    state                       TEXT NOT NULL,
    position_in_blueprints      TEXT NOT NULL,
    position_in_device_settings TEXT NOT NULL,
    properties                  TEXT NOT NULL,
    options                     TEXT NOT NULL,
    created_by                  BIGINT,
    updated_by                  BIGINT,
    created_at                  TIMESTAMPTZ NOT NULL,
    updated_at                  TIMESTAMPTZ NOT NULL
);
CREATE INDEX custom_actions_enterprise ON custom_actions (enterprise_id, name);
