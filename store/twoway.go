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

// DirectoryWrite is one queued change of one field of one user in the
// directory: from Old (the directory value it was planned against, the
// precondition) to New.
type DirectoryWrite struct {
	ID     int64
	Anchor string
	// SAMAccountName and DisplayName name the user (read with the write;
	// empty if it was purged meanwhile), for admins.
	SAMAccountName, DisplayName string
	Field                       ums.Field
	Old, New                    string
	Status                      string
	Attempts                    int
	NextAttemptAt               time.Time
	LastError                   string
}

// Conflict is a field changed differently on both sides under the manual
// policy: neither side is changed until an admin resolves it.
type Conflict struct {
	ID             int64
	Anchor         string
	SAMAccountName string
	Field          ums.Field
	DirectoryValue string
	StoreValue     string
	BaseValue      string
	HasBase        bool
	DetectedAt     time.Time
}

// Settled is a field whose open conflict (if any) ended because both sides
// agree again.
type Settled struct {
	Anchor string
	Field  ums.Field
}

// queueWrite supersedes the pending writes of the same field and queues w.
func queueWrite(ctx context.Context, tx *sql.Tx, w DirectoryWrite, now time.Time) error {
	ts := formatTime(now)
	if _, err := tx.ExecContext(ctx, `UPDATE directory_writes SET status = ?, updated_at = ?
		WHERE anchor = ? AND field = ? AND status = ?`, WriteSuperseded, ts, w.Anchor, string(w.Field), WritePending); err != nil {
		return fmt.Errorf("store: supersede writes: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO directory_writes
		(anchor, field, old_value, new_value, status, next_attempt_at, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, w.Anchor, string(w.Field), w.Old, w.New, WritePending, ts, ts, ts); err != nil {
		return fmt.Errorf("store: queue write: %w", err)
	}
	return nil
}

func recordConflict(ctx context.Context, tx *sql.Tx, c Conflict, now time.Time) error {
	var base any
	if c.HasBase {
		base = c.BaseValue
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO conflicts (anchor, field, directory_value, store_value, base_value, detected_at)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (anchor, field) WHERE resolved_at IS NULL DO UPDATE SET
			directory_value = excluded.directory_value, store_value = excluded.store_value, base_value = excluded.base_value`,
		c.Anchor, string(c.Field), c.DirectoryValue, c.StoreValue, base, formatTime(now))
	if err != nil {
		return fmt.Errorf("store: record conflict: %w", err)
	}
	return nil
}

func settle(ctx context.Context, tx *sql.Tx, s Settled, now time.Time) error {
	_, err := tx.ExecContext(ctx, `UPDATE conflicts SET resolved_at = ?, resolution = 'both sides agree'
		WHERE anchor = ? AND field = ? AND resolved_at IS NULL`, formatTime(now), s.Anchor, string(s.Field))
	if err != nil {
		return fmt.Errorf("store: settle conflict: %w", err)
	}
	return nil
}

func audit(ctx context.Context, tx *sql.Tx, now time.Time, actor, anchor, action string, f ums.Field, old, new string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO audit (at, actor, anchor, action, field, old, new) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		formatTime(now), actor, anchor, action, string(f), old, new)
	if err != nil {
		return fmt.Errorf("store: audit: %w", err)
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

// readUserTx reads one user inside tx.
func readUserTx(ctx context.Context, tx *sql.Tx, anchor string) (ums.User, error) {
	u, err := scanUser(tx.QueryRowContext(ctx, `SELECT `+selectColumns+` FROM users WHERE anchor = ?`, anchor))
	if errors.Is(err, sql.ErrNoRows) {
		return u, fmt.Errorf("user %s: %w", anchor, ErrNotFound)
	}
	if err != nil {
		return u, fmt.Errorf("store: read user %s: %w", anchor, err)
	}
	return u, nil
}

// writeUserTx writes u back inside tx, stamped now.
func writeUserTx(ctx context.Context, tx *sql.Tx, u *ums.User, now time.Time) error {
	u.UpdatedAt = now
	args, err := userArgs(nil, u)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, upsertUsersSQL(1), args...); err != nil {
		return fmt.Errorf("store: write user %s: %w", u.Anchor, err)
	}
	return nil
}

// editTx applies edits to u as actor (the audit trail names the action)
// and queues their directory writes; the caller writes u.
func editTx(ctx context.Context, tx *sql.Tx, u *ums.User, actor, action string, edits []Edit, now time.Time) error {
	for _, e := range edits {
		old := u.Get(e.Field)
		if err := u.Edit(e.Field, e.New); err != nil {
			return err
		}
		if err := audit(ctx, tx, now, actor, u.Anchor, action, e.Field, old, e.New); err != nil {
			return err
		}
		if e.Write {
			w := DirectoryWrite{Anchor: u.Anchor, Field: e.Field, Old: e.WriteOld, New: e.New}
			if err := queueWrite(ctx, tx, w, now); err != nil {
				return err
			}
		}
	}
	return nil
}

// OpenConflicts lists the unresolved conflicts, oldest first.
func (s *Store) OpenConflicts(ctx context.Context) ([]Conflict, error) {
	return queryConflicts(ctx, s.read, `WHERE c.resolved_at IS NULL ORDER BY c.id`)
}

// OpenConflict returns one unresolved conflict.
func (s *Store) OpenConflict(ctx context.Context, id int64) (Conflict, error) {
	cs, err := queryConflicts(ctx, s.read, `WHERE c.resolved_at IS NULL AND c.id = ?`, id)
	if err != nil {
		return Conflict{}, err
	}
	if len(cs) == 0 {
		return Conflict{}, fmt.Errorf("open conflict %d: %w", id, ErrNotFound)
	}
	return cs[0], nil
}

// queryer runs a query on the read pool or in a transaction.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func queryConflicts(ctx context.Context, db queryer, where string, args ...any) ([]Conflict, error) {
	rows, err := db.QueryContext(ctx, `SELECT c.id, c.anchor, COALESCE(u.sam_account_name, ''), c.field,
		c.directory_value, c.store_value, c.base_value, c.detected_at
		FROM conflicts c LEFT JOIN users u ON u.anchor = c.anchor `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("store: conflicts: %w", err)
	}
	defer rows.Close()
	var out []Conflict
	for rows.Next() {
		var c Conflict
		var field, detected string
		var base sql.NullString
		if err := rows.Scan(&c.ID, &c.Anchor, &c.SAMAccountName, &field, &c.DirectoryValue, &c.StoreValue, &base, &detected); err != nil {
			return nil, fmt.Errorf("store: conflicts: %w", err)
		}
		c.Field, c.BaseValue, c.HasBase = ums.Field(field), base.String, base.Valid
		c.DetectedAt, _ = parseTime(detected)
		out = append(out, c)
	}
	return out, rows.Err()
}

// CountOpenConflicts counts the unresolved conflicts.
func (s *Store) CountOpenConflicts(ctx context.Context) (int, error) {
	var n int
	err := s.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM conflicts WHERE resolved_at IS NULL`).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: count conflicts: %w", err)
	}
	return n, nil
}

// Edit is an admin's change of one field of one user. With Write, the new
// value is also queued for the directory, planned against WriteOld.
type Edit struct {
	Field    ums.Field
	New      string
	Write    bool
	WriteOld string
}

// EditUser applies edits to the user with anchor, audits each as actor and
// queues the directory writes, in one transaction.
func (s *Store) EditUser(ctx context.Context, anchor, actor string, edits []Edit, now time.Time) error {
	_, err := s.UpdateUser(ctx, anchor, actor, "set", func(*ums.User) ([]Edit, error) { return edits, nil }, now)
	return err
}

// UpdateUser reads the user with anchor and calls change with it inside
// one transaction: change may set the user's overrides and returns the
// field edits to apply (each audited as actor under action, its directory
// write queued). A change of the overrides is audited too. It returns the
// user as written.
func (s *Store) UpdateUser(ctx context.Context, anchor, actor, action string,
	change func(u *ums.User) ([]Edit, error), now time.Time) (ums.User, error) {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return ums.User{}, fmt.Errorf("store: begin: %w", err)
	}
	defer tx.Rollback()
	u, err := readUserTx(ctx, tx, anchor)
	if err != nil {
		return ums.User{}, err
	}
	overrides := u.Overrides
	edits, err := change(&u)
	if err != nil {
		return ums.User{}, err
	}
	if u.Overrides != overrides {
		if err := audit(ctx, tx, now, actor, u.Anchor, action, "overrides", overrides, u.Overrides); err != nil {
			return ums.User{}, err
		}
	}
	if err := editTx(ctx, tx, &u, actor, action, edits, now); err != nil {
		return ums.User{}, err
	}
	if err := writeUserTx(ctx, tx, &u, now); err != nil {
		return ums.User{}, err
	}
	return u, tx.Commit()
}

// ErrAlreadyResolved: the conflict was resolved before (by another admin,
// or by the same command run twice); nothing was changed.
var ErrAlreadyResolved = errors.New("already resolved")

// ResolveConflict ends an open conflict as an admin chose: "directory"
// takes the directory's value into the store (and as the base); "store"
// queues the store's value for the directory. Audited as actor. The
// conflict is read inside the write transaction, so of two resolves of one
// conflict exactly one acts; the other gets ErrAlreadyResolved.
func (s *Store) ResolveConflict(ctx context.Context, id int64, take, actor string, now time.Time) (Conflict, error) {
	if take != "directory" && take != "store" {
		return Conflict{}, fmt.Errorf("take must be directory or store, got %q", take)
	}
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return Conflict{}, fmt.Errorf("store: begin: %w", err)
	}
	defer tx.Rollback()
	var resolved bool
	var resolution string
	err = tx.QueryRowContext(ctx, `SELECT resolved_at IS NOT NULL, resolution FROM conflicts WHERE id = ?`, id).
		Scan(&resolved, &resolution)
	if errors.Is(err, sql.ErrNoRows) {
		return Conflict{}, fmt.Errorf("conflict %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return Conflict{}, fmt.Errorf("store: conflict %d: %w", id, err)
	}
	if s.afterConflictRead != nil {
		s.afterConflictRead()
	}
	if resolved {
		return Conflict{}, fmt.Errorf("conflict %d: %w (%s)", id, ErrAlreadyResolved, resolution)
	}
	cs, err := queryConflicts(ctx, tx, `WHERE c.id = ?`, id)
	if err != nil {
		return Conflict{}, err
	}
	c := cs[0]
	switch take {
	case "directory":
		u, err := readUserTx(ctx, tx, c.Anchor)
		if err != nil {
			return Conflict{}, err
		}
		if err := u.Set(c.Field, c.DirectoryValue); err != nil {
			return Conflict{}, err
		}
		u.SetBase(c.Field, c.DirectoryValue)
		if err := writeUserTx(ctx, tx, &u, now); err != nil {
			return Conflict{}, err
		}
	case "store":
		if err := queueWrite(ctx, tx, DirectoryWrite{Anchor: c.Anchor, Field: c.Field, Old: c.DirectoryValue, New: c.StoreValue}, now); err != nil {
			return Conflict{}, err
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE conflicts SET resolved_at = ?, resolution = ? WHERE id = ?`,
		formatTime(now), "took "+take+" ("+actor+")", id); err != nil {
		return Conflict{}, fmt.Errorf("store: resolve conflict %d: %w", id, err)
	}
	won := c.DirectoryValue
	if take == "store" {
		won = c.StoreValue
	}
	if err := audit(ctx, tx, now, actor, c.Anchor, "resolve", c.Field, c.StoreValue, won); err != nil {
		return Conflict{}, err
	}
	return c, tx.Commit()
}

// AuditEntry is one audited change.
type AuditEntry struct {
	At            time.Time
	Actor, Action string
	Field         string
	Old, New      string
}

// Audit returns the last limit audited changes of one user, newest first.
func (s *Store) Audit(ctx context.Context, anchor string, limit int) ([]AuditEntry, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT at, actor, action, field, old, new FROM audit
		WHERE anchor = ? ORDER BY id DESC LIMIT ?`, anchor, limit)
	if err != nil {
		return nil, fmt.Errorf("store: audit: %w", err)
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		var e AuditEntry
		var at string
		if err := rows.Scan(&at, &e.Actor, &e.Action, &e.Field, &e.Old, &e.New); err != nil {
			return nil, fmt.Errorf("store: audit: %w", err)
		}
		e.At, _ = parseTime(at)
		out = append(out, e)
	}
	return out, rows.Err()
}
