package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/umsync/umsync/ums"
)

// Statuses of a directory write.
const (
	WritePending    = "pending"
	WriteDone       = "done"
	WriteRejected   = "rejected"   // the directory changed since the write was planned
	WriteFailed     = "failed"     // permanently: no rights, a constraint
	WriteSuperseded = "superseded" // a newer write of the same field was queued
)

// DirectoryWrite is a queued write of one field of one user in the
// directory (the write itself, ums.FieldWrite, as the plan or an admin
// made it) and where it stands.
type DirectoryWrite struct {
	ID     int64
	Anchor string
	// SAMAccountName and DisplayName name the user (read with the write;
	// empty if it was purged meanwhile), for admins.
	SAMAccountName, DisplayName string
	ums.FieldWrite
	Status        string
	Attempts      int
	NextAttemptAt time.Time
	LastError     string
}

// queueWrite supersedes the pending writes of the same field of the user
// with anchor and queues w.
func queueWrite(ctx context.Context, tx *sql.Tx, anchor string, w ums.FieldWrite, now time.Time) error {
	ts := formatTime(now)
	if _, err := tx.ExecContext(ctx, `UPDATE directory_writes SET status = ?, updated_at = ?
		WHERE anchor = ? AND field = ? AND status = ?`, WriteSuperseded, ts, anchor, string(w.Field), WritePending); err != nil {
		return fmt.Errorf("store: supersede writes: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO directory_writes
		(anchor, field, old_value, new_value, status, next_attempt_at, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, anchor, string(w.Field), w.Old, w.New, WritePending, ts, ts, ts); err != nil {
		return fmt.Errorf("store: queue write: %w", err)
	}
	return nil
}

// UserOutbox is what a cycle writes for one user besides its row: the
// plan's directory writes to queue, its conflicts to record (or update, if
// open), the fields whose open conflict ended because both sides agree
// again, and the extension numbers the user gave back (they rest in
// quarantine).
type UserOutbox struct {
	Anchor    string
	Writes    []ums.FieldWrite
	Conflicts []ums.FieldConflict
	Settled   []ums.Field
	Released  []string
}

// writeOutbox writes o inside a cycle's transaction.
func writeOutbox(ctx context.Context, tx *sql.Tx, o UserOutbox, now time.Time) error {
	for _, w := range o.Writes {
		if err := queueWrite(ctx, tx, o.Anchor, w, now); err != nil {
			return err
		}
	}
	for _, c := range o.Conflicts {
		if err := recordConflict(ctx, tx, o.Anchor, c, now); err != nil {
			return err
		}
	}
	for _, f := range o.Settled {
		if err := settle(ctx, tx, o.Anchor, f, now); err != nil {
			return err
		}
	}
	for _, n := range o.Released {
		if _, err := tx.ExecContext(ctx, `INSERT INTO extension_releases (number, released_at) VALUES (?, ?)
			ON CONFLICT (number) DO UPDATE SET released_at = excluded.released_at`, n, formatTime(now)); err != nil {
			return fmt.Errorf("store: release extension %s: %w", n, err)
		}
	}
	return nil
}

// PendingWrites returns up to limit writes due at now, oldest first.
func (s *Store) PendingWrites(ctx context.Context, now time.Time, limit int) ([]DirectoryWrite, error) {
	return s.queryWrites(ctx, `WHERE w.status = ? AND w.next_attempt_at <= ? ORDER BY w.id LIMIT ?`,
		WritePending, formatTime(now), limit)
}

// Writes returns the writes of one status (all when status is ""), newest first.
func (s *Store) Writes(ctx context.Context, status string, limit int) ([]DirectoryWrite, error) {
	return s.queryWrites(ctx, `WHERE ? = '' OR w.status = ? ORDER BY w.id DESC LIMIT ?`, status, status, limit)
}

func (s *Store) queryWrites(ctx context.Context, where string, args ...any) ([]DirectoryWrite, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT w.id, w.anchor, COALESCE(u.sam_account_name, ''),
		COALESCE(u.display_name, ''), COALESCE(u.given_name, ''), COALESCE(u.surname, ''),
		w.field, w.old_value, w.new_value, w.status, w.attempts, w.next_attempt_at, w.last_error
		FROM directory_writes w LEFT JOIN users u ON u.anchor = w.anchor `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("store: writes: %w", err)
	}
	defer rows.Close()
	var out []DirectoryWrite
	for rows.Next() {
		var w DirectoryWrite
		var field, next string
		var display, given, surname string
		if err := rows.Scan(&w.ID, &w.Anchor, &w.SAMAccountName, &display, &given, &surname, &field, &w.Old, &w.New, &w.Status,
			&w.Attempts, &next, &w.LastError); err != nil {
			return nil, fmt.Errorf("store: writes: %w", err)
		}
		w.Field, w.DisplayName = ums.Field(field), ums.DisplayName(display, given, surname)
		if w.NextAttemptAt, err = parseTime(next); err != nil {
			return nil, fmt.Errorf("store: write %d: %w", w.ID, err)
		}
		out = append(out, w)
	}
	return out, rows.Err()
}

// CountWrites counts the writes by status.
func (s *Store) CountWrites(ctx context.Context) (map[string]int, error) {
	out := map[string]int{}
	rows, err := s.read.QueryContext(ctx, `SELECT status, COUNT(*) FROM directory_writes GROUP BY status`)
	if err != nil {
		return nil, fmt.Errorf("store: count writes: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return nil, err
		}
		out[st] = n
	}
	return out, rows.Err()
}

// FinishWrite records the outcome of a write. A done write moves the user's
// base of that field to the written value, in the same transaction.
func (s *Store) FinishWrite(ctx context.Context, w DirectoryWrite, status, reason string, now time.Time) error {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `UPDATE directory_writes SET status = ?, last_error = ?, attempts = attempts + 1,
		updated_at = ? WHERE id = ?`, status, reason, formatTime(now), w.ID); err != nil {
		return fmt.Errorf("store: finish write %d: %w", w.ID, err)
	}
	if status == WriteDone {
		if err := setBase(ctx, tx, w.Anchor, w.Field, w.New); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// RetryWrite counts a failed attempt and schedules the next one.
func (s *Store) RetryWrite(ctx context.Context, w DirectoryWrite, reason string, next, now time.Time) error {
	_, err := s.write.ExecContext(ctx, `UPDATE directory_writes SET attempts = attempts + 1, last_error = ?,
		next_attempt_at = ?, updated_at = ? WHERE id = ? AND status = ?`, reason, formatTime(next), formatTime(now), w.ID, WritePending)
	if err != nil {
		return fmt.Errorf("store: retry write %d: %w", w.ID, err)
	}
	return nil
}

func setBase(ctx context.Context, tx *sql.Tx, anchor string, f ums.Field, v string) error {
	u, err := readUserTx(ctx, tx, anchor)
	if errors.Is(err, ErrNotFound) {
		return nil // purged meanwhile
	}
	if err != nil {
		return err
	}
	u.SetBase(f, v)
	if _, err := tx.ExecContext(ctx, `UPDATE users SET base = ? WHERE anchor = ?`, encodeBase(u.Base), anchor); err != nil {
		return fmt.Errorf("store: write base of %s: %w", anchor, err)
	}
	return nil
}
