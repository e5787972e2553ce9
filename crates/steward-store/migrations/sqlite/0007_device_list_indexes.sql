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
