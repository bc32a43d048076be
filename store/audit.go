package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/umsync/umsync/ums"
)

func audit(ctx context.Context, tx *sql.Tx, now time.Time, actor, anchor, action string, f ums.Field, old, new string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO audit (at, actor, anchor, action, field, old, new) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		formatTime(now), actor, anchor, action, string(f), old, new)
	if err != nil {
		return fmt.Errorf("store: audit: %w", err)
	}
	return nil
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
