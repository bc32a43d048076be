-- The UMS API (issue 17).
--
-- Tombstones: a purged (deleted) user leaves its anchor here with a version
-- from the same store-wide sequence as the rows, so the ?since= feed of
-- the API reports it in order with the changes around it. A user created
-- again under the anchor drops its tombstone (its row is newer).
CREATE TABLE user_tombstones (
    anchor  TEXT PRIMARY KEY,
    version INTEGER NOT NULL
);
CREATE INDEX user_tombstones_version ON user_tombstones (version);

CREATE TRIGGER users_tombstone AFTER DELETE ON users BEGIN
    UPDATE change_seq SET value = value + 1 WHERE id = 1;
    INSERT OR REPLACE INTO user_tombstones (anchor, version)
        VALUES (OLD.anchor, (SELECT value FROM change_seq WHERE id = 1));
END;
CREATE TRIGGER users_tombstone_revived AFTER INSERT ON users BEGIN
    DELETE FROM user_tombstones WHERE anchor = NEW.anchor;
END;

-- Wrong web login passwords in a row per user (api.max_password_failures).
-- A new password stored (mailed after `users reset-password`, or set by
-- the user) starts the count again: the triggers on secrets do that,
-- whatever code path stores it.
CREATE TABLE password_failures (
    anchor   TEXT PRIMARY KEY REFERENCES users (anchor) ON DELETE CASCADE, -- a purged user's count goes with it
    failures INTEGER NOT NULL
);
CREATE TRIGGER secrets_password_insert AFTER INSERT ON secrets WHEN NEW.kind = 'password' BEGIN
    DELETE FROM password_failures WHERE anchor = NEW.anchor;
END;
CREATE TRIGGER secrets_password_update AFTER UPDATE ON secrets WHEN NEW.kind = 'password' BEGIN
    DELETE FROM password_failures WHERE anchor = NEW.anchor;
END;

-- Every API call, with the token's name as actor.
CREATE TABLE api_calls (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    at     TEXT NOT NULL,
    actor  TEXT NOT NULL,
    method TEXT NOT NULL,
    route  TEXT NOT NULL,
    target TEXT NOT NULL,   -- the user's anchor, if the call was about one
    code   INTEGER NOT NULL
);
CREATE INDEX api_calls_at ON api_calls (at); -- pruned by age (api.audit_retention)
