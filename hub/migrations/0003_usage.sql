-- custos-hub schema, version 3: each device's quotas (docs/hub.md) are counted from
-- what it pushed; these indexes make that count read only the device's own rows.
CREATE INDEX objects_pushed_by ON objects (pushed_by);
CREATE INDEX blobs_pushed_by ON blobs (pushed_by);
