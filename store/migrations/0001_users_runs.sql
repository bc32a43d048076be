-- Users keyed by their directory anchor (objectGUID), and the record of
-- every sync run.
CREATE TABLE users (
    anchor               TEXT PRIMARY KEY,
    dn                   TEXT NOT NULL,
    sam_account_name     TEXT NOT NULL,
    given_name           TEXT NOT NULL DEFAULT '',
    surname              TEXT NOT NULL DEFAULT '',
    display_name         TEXT NOT NULL DEFAULT '',
    mail                 TEXT NOT NULL DEFAULT '',
    department           TEXT NOT NULL DEFAULT '',
    extension            TEXT NOT NULL DEFAULT '',
    phone                TEXT NOT NULL DEFAULT '',
    mobile               TEXT NOT NULL DEFAULT '',
    fax_numbers          TEXT NOT NULL DEFAULT '[]', -- JSON array
    enabled              INTEGER NOT NULL,
    state                TEXT NOT NULL CHECK (state IN ('active', 'deactivated')),
    deactivation_reason  TEXT NOT NULL DEFAULT '',
    first_seen           TEXT NOT NULL,
    updated_at           TEXT NOT NULL,
    deactivated_at       TEXT
);
CREATE INDEX users_sam_account_name ON users (sam_account_name);
CREATE INDEX users_state ON users (state);

CREATE TABLE sync_runs (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    mode         TEXT NOT NULL,
    started_at   TEXT NOT NULL,
    duration_ms  INTEGER NOT NULL,
    read         INTEGER NOT NULL DEFAULT 0,
    created      INTEGER NOT NULL DEFAULT 0,
    updated      INTEGER NOT NULL DEFAULT 0,
    deactivated  INTEGER NOT NULL DEFAULT 0,
    reactivated  INTEGER NOT NULL DEFAULT 0,
    unchanged    INTEGER NOT NULL DEFAULT 0,
    result       TEXT NOT NULL,
    error        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sync_runs_result ON sync_runs (result, id);
