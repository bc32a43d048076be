-- Two-way sync: the UMS settings, the merge base of each user, the
-- conflicts an admin must resolve, the outbox of directory writes and the
-- audit trail of admin edits.
ALTER TABLE users ADD COLUMN settings TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN base TEXT NOT NULL DEFAULT '{}'; -- JSON: field -> last agreed value

-- The plan of a staging cycle (sync.mode: staging), as dry-run prints it.
ALTER TABLE sync_runs ADD COLUMN plan TEXT NOT NULL DEFAULT '';

CREATE TABLE conflicts (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    anchor          TEXT NOT NULL,
    field           TEXT NOT NULL,
    directory_value TEXT NOT NULL,
    store_value     TEXT NOT NULL,
    base_value      TEXT,            -- NULL: no base yet
    detected_at     TEXT NOT NULL,
    resolved_at     TEXT,
    resolution      TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX conflicts_open ON conflicts (anchor, field) WHERE resolved_at IS NULL;

CREATE TABLE directory_writes (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    anchor          TEXT NOT NULL,
    field           TEXT NOT NULL,
    old_value       TEXT NOT NULL,   -- the directory value the write was planned against
    new_value       TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'done', 'rejected', 'failed', 'superseded')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_error      TEXT NOT NULL DEFAULT '',
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX directory_writes_pending ON directory_writes (status, next_attempt_at);

CREATE TABLE audit (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    at      TEXT NOT NULL,
    actor   TEXT NOT NULL,   -- the OS user, or "sync"
    anchor  TEXT NOT NULL,
    action  TEXT NOT NULL,   -- set | resolve
    field   TEXT NOT NULL,
    old     TEXT NOT NULL,
    new     TEXT NOT NULL
);
CREATE INDEX audit_anchor ON audit (anchor, id);
