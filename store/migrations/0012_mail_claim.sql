-- A mail is claimed before it is built (DESIGN invariant 10): a worker
-- sets state 'sending', its name (claimed_by) and a lease (lease_until)
-- in one transaction, so no other worker sends it; a worker that died
-- leaves a lease that runs out, and the mail can be claimed again. The
-- hash of a mailed secret is stored only while the claim is still the
-- sender's. SQLite cannot change a CHECK, so the table is rebuilt.
CREATE TABLE mail_outbox_new (
    id              INTEGER PRIMARY KEY,
    key             TEXT NOT NULL UNIQUE,
    kind            TEXT NOT NULL CHECK (kind IN ('info', 'password', 'pin', 'alert')),
    anchor          TEXT NOT NULL DEFAULT '',
    cause           TEXT NOT NULL DEFAULT '',
    body            TEXT NOT NULL DEFAULT '',
    state           TEXT NOT NULL CHECK (state IN ('queued', 'sending', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    rejections      INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_error      TEXT NOT NULL DEFAULT '',
    queued_at       TEXT NOT NULL,
    sent_at         TEXT,
    claimed_by      TEXT NOT NULL DEFAULT '',  -- the worker sending it ('' unless sending)
    lease_until     TEXT                       -- its claim ends then (NULL unless sending)
);
INSERT INTO mail_outbox_new (id, key, kind, anchor, cause, body, state, attempts, rejections, next_attempt_at,
    last_error, queued_at, sent_at)
SELECT id, key, kind, anchor, cause, body, state, attempts, rejections, next_attempt_at,
    last_error, queued_at, sent_at FROM mail_outbox;
DROP TABLE mail_outbox;
ALTER TABLE mail_outbox_new RENAME TO mail_outbox;
CREATE INDEX mail_outbox_due ON mail_outbox (state, next_attempt_at);
CREATE INDEX mail_outbox_anchor ON mail_outbox (anchor);
CREATE INDEX mail_outbox_lease ON mail_outbox (lease_until) WHERE state = 'sending';
