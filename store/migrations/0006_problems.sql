-- What is wrong with a user's fields (a rule violation, a value umsync
-- cannot read, no free extension, the same number on two users). Recorded,
-- shown by `umsync problems` and `users show`, never a reason to stop.
CREATE TABLE problems (
    anchor      TEXT NOT NULL,
    field       TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('user', 'duplicate')),
    text        TEXT NOT NULL,
    detected_at TEXT NOT NULL
);
CREATE INDEX problems_anchor ON problems (anchor);
CREATE INDEX users_extension ON users (extension) WHERE extension != '';
CREATE INDEX users_mobile ON users (mobile) WHERE mobile != '';
