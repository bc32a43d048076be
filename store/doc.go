// Package store is umsync's SQLite store: users keyed by anchor with their
// merge base, license state and voicemail PIN count, the change-tracking
// watermark, conflicts, the outbox of directory writes, released extension
// numbers, per-user problems and settings overrides, the mail
// outbox (idempotency keys, retries) and the hashes of mailed secrets, the
// audit trail of admin actions, the record of every sync run, imports, online
// backups, and the schema migrations that built them. A cycle's users,
// outbox rows (directory writes and mails), conflicts, watermark and run
// record are written in one transaction (ApplyCycle); a full cycle streams
// its users (CycleWrite.Planned) and the store writes them a thousand at a
// time inside that transaction, so it never holds them all.
//
// The directory writes and conflicts are ums.FieldWrite and
// ums.FieldConflict, the types sync/plan makes: a cycle hands them over per
// user (UserOutbox) as the plan made them, and the rows read back
// (DirectoryWrite, Conflict) embed them. The statuses of a directory write
// (WritePending …) are defined here only; the engine reports them.
// outbox.go holds the directory writes, conflicts.go the conflicts,
// audit.go the audit trail, edits.go an admin's edit of a user
// (UpdateUser). A user's settings profile and license type are read from
// its settings, not kept in columns of their own; the SQL that filters by
// them takes its text from ums (ums.ProfileMarker and the like), which
// owns the settings encoding. The store decides no order of its own: the
// users waiting for a seat come by anchor, the cap orders them.
//
// The database runs in WAL mode with a busy timeout. Writes go through one
// connection that takes the write lock at BEGIN (_txlock=immediate), so a CLI
// process and the daemon never fail with "database is locked" mid-transaction;
// reads use a separate pool. The file is created 0600 in a 0700 folder.
// Open pings, because a binary built without CGO opens fine and fails later.
//
// Sharing the store. One process syncs it: `serve` (or a one-shot `sync`)
// holds the writer lock, a flock on the file beside the database
// (LockWriter), which the kernel releases when the process dies. Admin
// commands and imports write beside it. Every user row carries a version
// from one store-wide sequence, bumped by triggers on every insert and
// update whatever code path writes the row; ApplyCycle writes a planned user
// only if the row is still at the version the cycle read, and otherwise
// skips everything planned for that user and puts it on the replan list for
// the next cycle (DESIGN invariant 9). Triggers rather than a "version =
// version + 1" in each statement, so no writer can forget; one sequence
// rather than a per-row counter, so a row deleted and created again (an
// import) never repeats a version a cycle may hold. The watermark is moved
// the same way: only over the one the cycle started from, so an import
// that dropped it (asking for a full cycle) is not undone.
//
// It knows nothing about LDAP or mail.
package store
