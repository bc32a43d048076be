-- The mail outbox: a mail is queued in the transaction of the change that
-- causes it, under an idempotency key (kind, user, causing event), and a
-- worker in `serve` sends it. The row holds no secret: a password or PIN
-- mail makes its secret when it is sent (DESIGN invariant 6).
CREATE TABLE mail_outbox (
    id              INTEGER PRIMARY KEY,
    key             TEXT NOT NULL UNIQUE,
    kind            TEXT NOT NULL CHECK (kind IN ('info', 'password', 'pin', 'alert')),
    anchor          TEXT NOT NULL DEFAULT '',   -- the user; '' for an admin alert
    cause           TEXT NOT NULL DEFAULT '',   -- alert: what happened (license, safety, writes)
    body            TEXT NOT NULL DEFAULT '',   -- alert: the text
    state           TEXT NOT NULL CHECK (state IN ('queued', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,  -- sends tried
    rejections      INTEGER NOT NULL DEFAULT 0,  -- permanent (5xx) answers among them
    next_attempt_at TEXT NOT NULL,
    last_error      TEXT NOT NULL DEFAULT '',
    queued_at       TEXT NOT NULL,
    sent_at         TEXT
);
CREATE INDEX mail_outbox_due ON mail_outbox (state, next_attempt_at);
CREATE INDEX mail_outbox_anchor ON mail_outbox (anchor);

-- The hashes of the secrets umsync mailed (web login password, voicemail
-- PIN), written when the SMTP server accepted the mail.
CREATE TABLE secrets (
    anchor TEXT NOT NULL,
    kind   TEXT NOT NULL CHECK (kind IN ('password', 'pin')),
    hash   TEXT NOT NULL,
    set_at TEXT NOT NULL,
    PRIMARY KEY (anchor, kind)
);
