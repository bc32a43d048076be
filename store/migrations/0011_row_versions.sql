-- Row versions (DESIGN invariant 9, no lost update). Every user row carries
-- a version drawn from one store-wide sequence; triggers bump it on every
-- insert and update, whatever code path writes the row, so no writer can
-- forget. A cycle writes a user only if the row is still at the version it
-- planned from. A cycle's bulk upsert takes a block of versions from the
-- sequence and sets them itself (the triggers' second write of every row
-- made a 50,000-user apply about 2.5 times slower); the triggers fire for
-- every other write (their WHEN clauses). The sequence is store-wide, not per row, so a version
-- never repeats even when a row is deleted and created again, and
-- "changed after version N" is one indexed query.
CREATE TABLE change_seq (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    value INTEGER NOT NULL
);
ALTER TABLE users ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
UPDATE users SET version = rowid;
INSERT INTO change_seq (id, value) VALUES (1, (SELECT COALESCE(MAX(version), 0) FROM users));
CREATE INDEX users_version ON users (version);

CREATE TRIGGER users_version_insert AFTER INSERT ON users WHEN NEW.version = 0 BEGIN
    UPDATE change_seq SET value = value + 1 WHERE id = 1;
    UPDATE users SET version = (SELECT value FROM change_seq WHERE id = 1) WHERE anchor = NEW.anchor;
END;
-- Every column of the user's data, not the count of wrong PINs: that is
-- bookkeeping of the UMS's logins, and bumping the version for it would
-- show PIN attempts in the API's changes feed and make a running cycle
-- plan a user again for nothing. The WHEN keeps the trigger's own update
-- from firing it again should recursive triggers ever be switched on.
CREATE TRIGGER users_version_update AFTER UPDATE OF
    anchor, dn, sam_account_name, given_name, surname, display_name, mail, department, extension, phone,
    mobile, fax_numbers, enabled, state, deactivation_reason, first_seen, updated_at, deactivated_at,
    settings, base, license, license_since, phantom, overrides, profile, alias_numbers
    ON users WHEN NEW.version = OLD.version BEGIN
    UPDATE change_seq SET value = value + 1 WHERE id = 1;
    UPDATE users SET version = (SELECT value FROM change_seq WHERE id = 1) WHERE anchor = NEW.anchor;
END;

-- Users a cycle did not write because they changed while it ran (an admin
-- edit, an import): the next cycle reads them from the directory again and
-- plans them from their fresh row.
CREATE TABLE replan (
    anchor TEXT PRIMARY KEY,
    since  TEXT NOT NULL
);
