-- Applications and their uploaded versions (APK or .deb files in blob storage), content files,
-- and server-wide secrets (the key that signs download URLs, shared by every node).

CREATE TABLE applications (
    id               UUID PRIMARY KEY NOT NULL,
    enterprise_id    UUID NOT NULL REFERENCES enterprises (id) ON DELETE CASCADE,
    package_name     TEXT NOT NULL,
    application_name TEXT NOT NULL,
    kind             TEXT NOT NULL,
    is_hidden        BOOLEAN NOT NULL DEFAULT FALSE,
    is_active        BOOLEAN NOT NULL DEFAULT TRUE,
    created_on       TIMESTAMPTZ NOT NULL,
    updated_on       TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX applications_package ON applications (enterprise_id, package_name);

CREATE TABLE app_versions (
    id               UUID PRIMARY KEY NOT NULL,
    enterprise_id    UUID NOT NULL REFERENCES enterprises (id) ON DELETE CASCADE,
    application_id   UUID NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    -- What makes a version unique within its application: the APK's versionCode, or a .deb's
    -- version and architecture.
    version_key      TEXT NOT NULL,
    version_code     TEXT,
    version_name     TEXT,
    hash_string      TEXT NOT NULL,
    size_bytes       BIGINT NOT NULL,
    min_sdk_version  INTEGER,
    target_sdk_version INTEGER,
    permissions      TEXT NOT NULL,
    label            TEXT,
    architecture     TEXT,
    file_name        TEXT NOT NULL,
    blob_key         TEXT NOT NULL,
    icon_key         TEXT,
    release_name     TEXT,
    release_comments TEXT,
    release_track    TEXT,
    approval_status  TEXT NOT NULL DEFAULT 'APPROVED',
    is_enabled       BOOLEAN NOT NULL DEFAULT TRUE,
    is_default       BOOLEAN NOT NULL DEFAULT FALSE,
    created_on       TIMESTAMPTZ NOT NULL,
    updated_on       TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX app_versions_key ON app_versions (application_id, version_key);

CREATE TABLE content (
    id             BIGSERIAL PRIMARY KEY,
    enterprise_id  UUID NOT NULL REFERENCES enterprises (id) ON DELETE CASCADE,
    name           TEXT NOT NULL,
    file_key       TEXT NOT NULL,
    kind           TEXT,
    hash           TEXT NOT NULL,
    size_bytes     BIGINT NOT NULL,
    tags           TEXT NOT NULL,
    description    TEXT,
    blob_key       TEXT NOT NULL,
    owner_id       BIGINT,
    owner_name     TEXT NOT NULL,
    created        TIMESTAMPTZ NOT NULL,
    modified       TIMESTAMPTZ NOT NULL
);
CREATE INDEX content_enterprise ON content (enterprise_id, id);

CREATE TABLE server_secrets (
    name  TEXT PRIMARY KEY NOT NULL,
    value BYTEA NOT NULL
);
