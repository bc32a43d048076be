-- A user's secret hashes and problems go with the user: foreign keys to
-- users(anchor) with ON DELETE CASCADE, so a purge or an `import --replace`
-- deletes them in its own transaction (the store opens with
-- _foreign_keys=on). SQLite adds a foreign key only by rebuilding the
-- table. Rows of users already gone (left behind before this migration)
-- are not copied.
--
-- Beware: with these keys, DROP TABLE users (a rebuild of users in a later
-- migration) deletes every secret and problem. Such a migration must
-- rebuild secrets and problems too, or copy them aside first.
CREATE TABLE secrets_new (
    anchor TEXT NOT NULL REFERENCES users (anchor) ON DELETE CASCADE,
    kind   TEXT NOT NULL CHECK (kind IN ('password', 'pin')),
    hash   TEXT NOT NULL,
    set_at TEXT NOT NULL,
    PRIMARY KEY (anchor, kind)
);
INSERT INTO secrets_new (anchor, kind, hash, set_at)
    SELECT anchor, kind, hash, set_at FROM secrets WHERE anchor IN (SELECT anchor FROM users);
DROP TABLE secrets;
ALTER TABLE secrets_new RENAME TO secrets;

CREATE TABLE problems_new (
    anchor      TEXT NOT NULL REFERENCES users (anchor) ON DELETE CASCADE,
    field       TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('user', 'duplicate')),
    text        TEXT NOT NULL,
    detected_at TEXT NOT NULL
);
INSERT INTO problems_new (anchor, field, kind, text, detected_at)
    SELECT anchor, field, kind, text, detected_at FROM problems WHERE anchor IN (SELECT anchor FROM users);
DROP TABLE problems;
ALTER TABLE problems_new RENAME TO problems;
CREATE INDEX problems_anchor ON problems (anchor);
