package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/umsync/umsync/ums"
)

// Conflict is a recorded conflict of one user (the conflict itself,
// ums.FieldConflict, as the plan found it), waiting for an admin.
type Conflict struct {
	ID             int64
	Anchor         string
	SAMAccountName string
	ums.FieldConflict
	DetectedAt time.Time
}

// recordConflict records c of the user with anchor, or updates the values
// of its open conflict of that field.
func recordConflict(ctx context.Context, tx *sql.Tx, anchor string, c ums.FieldConflict, now time.Time) error {
	var base any
	if c.HasBase {
		base = c.Base
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO conflicts (anchor, field, directory_value, store_value, base_value, detected_at)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (anchor, field) WHERE resolved_at IS NULL DO UPDATE SET
			directory_value = excluded.directory_value, store_value = excluded.store_value, base_value = excluded.base_value`,
		anchor, string(c.Field), c.Directory, c.Store, base, formatTime(now))
	if err != nil {
		return fmt.Errorf("store: record conflict: %w", err)
	}
	return nil
}

// settle ends the open conflict (if any) of field f of the user with
// anchor: both sides agree again.
func settle(ctx context.Context, tx *sql.Tx, anchor string, f ums.Field, now time.Time) error {
	_, err := tx.ExecContext(ctx, `UPDATE conflicts SET resolved_at = ?, resolution = 'both sides agree'
		WHERE anchor = ? AND field = ? AND resolved_at IS NULL`, formatTime(now), anchor, string(f))
	if err != nil {
		return fmt.Errorf("store: settle conflict: %w", err)
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
		if err := rows.Scan(&c.ID, &c.Anchor, &c.SAMAccountName, &field, &c.Directory, &c.Store, &base, &detected); err != nil {
			return nil, fmt.Errorf("store: conflicts: %w", err)
		}
		c.Field, c.Base, c.HasBase = ums.Field(field), base.String, base.Valid
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
		if err := u.Set(c.Field, c.Directory); err != nil {
			return Conflict{}, err
		}
		u.SetBase(c.Field, c.Directory)
		if err := writeUserTx(ctx, tx, &u, now); err != nil {
			return Conflict{}, err
		}
	case "store":
		if err := queueWrite(ctx, tx, c.Anchor, ums.FieldWrite{Field: c.Field, Old: c.Directory, New: c.Store}, now); err != nil {
			return Conflict{}, err
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE conflicts SET resolved_at = ?, resolution = ? WHERE id = ?`,
		formatTime(now), "took "+take+" ("+actor+")", id); err != nil {
		return Conflict{}, fmt.Errorf("store: resolve conflict %d: %w", id, err)
	}
	won := c.Directory
	if take == "store" {
		won = c.Store
	}
	if err := audit(ctx, tx, now, actor, c.Anchor, "resolve", c.Field, c.Store, won); err != nil {
		return Conflict{}, err
	}
	return c, tx.Commit()
}
