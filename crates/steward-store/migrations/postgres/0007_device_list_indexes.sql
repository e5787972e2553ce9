-- The device list reads one page in id order within an enterprise and counts the matches:
-- each exact filter gets an index that ends in id, so a page is read in order without
-- sorting the enterprise and the count walks an index instead of the rows. Text filters
-- compare lower-cased, so their indexes are on lower(column).
CREATE INDEX devices_enterprise_id ON devices (enterprise_id, id);
CREATE INDEX devices_enterprise_group_id ON devices (enterprise_id, group_id, id);
CREATE INDEX devices_enterprise_status_id ON devices (enterprise_id, status, id);
CREATE INDEX devices_enterprise_brand_id ON devices (enterprise_id, lower(brand), id);
-- The exact matches of the name filter, which come first.
CREATE INDEX devices_enterprise_lower_name ON devices (enterprise_id, lower(device_name), id);
CREATE INDEX devices_enterprise_lower_alias ON devices (enterprise_id, lower(alias_name), id);
-- The name filter matches any part of the name or alias: trigram indexes answer that without
-- reading every device, where the pg_trgm extension can be had (it ships with PostgreSQL's
-- contrib modules; creating it needs the CREATE privilege on the database). Without it the
-- filter still works, by reading the enterprise's devices.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm') THEN
        CREATE EXTENSION IF NOT EXISTS pg_trgm;
        CREATE INDEX devices_lower_name_trgm ON devices USING gin (lower(device_name) gin_trgm_ops);
        CREATE INDEX devices_lower_alias_trgm ON devices USING gin (lower(alias_name) gin_trgm_ops);
    END IF;
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'pg_trgm not created (%): the name filter reads every device', SQLERRM;
END
$$;
