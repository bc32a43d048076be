-- The change-tracking watermark (one row): which DC, which database of it
-- (invocationId), which scope, the highest USN the store has applied and,
-- with DirSync, the cookie. Written in the same transaction as the changes
-- it covers.
CREATE TABLE watermark (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    dc_service_name TEXT NOT NULL,
    invocation_id   TEXT NOT NULL,
    scope           TEXT NOT NULL,
    usn             INTEGER NOT NULL,
    cookie          BLOB,
    updated_at      TEXT NOT NULL
);

ALTER TABLE sync_runs ADD COLUMN purged INTEGER NOT NULL DEFAULT 0;
CREATE INDEX users_deactivated_at ON users (deactivated_at) WHERE deactivated_at IS NOT NULL;
