// Package store is umsync's SQLite store: users keyed by anchor with their
// merge base, license state and voicemail PIN count, the change-tracking
// watermark, conflicts, the outbox of directory writes, released extension
// numbers, per-user problems, settings overrides and profiles, the mail
// outbox (idempotency keys, retries) and the hashes of mailed secrets, the
// audit trail of admin actions, the record of every sync run, imports, online
// backups, and the schema migrations that built them. A cycle's users,
// outbox rows (directory writes and mails), conflicts, watermark and run
// record are written in one transaction.
//
// The database runs in WAL mode with a busy timeout. Writes go through one
// connection that takes the write lock at BEGIN (_txlock=immediate), so a CLI
// process and the daemon never fail with "database is locked" mid-transaction;
// reads use a separate pool. The file is created 0600 in a 0700 folder.
// Open pings, because a binary built without CGO opens fine and fails later.
//
// It knows nothing about LDAP or mail.
package store
