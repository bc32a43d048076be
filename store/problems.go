package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/umsync/umsync/ums"
)

// UserProblem is a recorded problem of one user.
type UserProblem struct {
	Anchor         string
	SAMAccountName string
	Field          ums.Field
	Text           string
	DetectedAt     time.Time
}

// replaceProblems sets the problems of the users a cycle planned (an empty
// list clears a user's).
func replaceProblems(ctx context.Context, tx *sql.Tx, byAnchor map[string][]ums.Problem, now time.Time) error {
	for anchor, ps := range byAnchor {
		if _, err := tx.ExecContext(ctx, `DELETE FROM problems WHERE anchor = ? AND kind = 'user'`, anchor); err != nil {
			return fmt.Errorf("store: clear problems: %w", err)
		}
		for _, p := range ps {
			if _, err := tx.ExecContext(ctx, `INSERT INTO problems (anchor, field, kind, text, detected_at)
				VALUES (?, ?, 'user', ?, ?)`, anchor, string(p.Field), p.Text, formatTime(now)); err != nil {
				return fmt.Errorf("store: record problem: %w", err)
			}
		}
	}
	return nil
}

// refreshDuplicates records, for every active user, an extension or mobile
// number that another active user holds too — a problem on both.
func refreshDuplicates(ctx context.Context, tx *sql.Tx, now time.Time) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM problems WHERE kind = 'duplicate'`); err != nil {
		return fmt.Errorf("store: clear duplicates: %w", err)
	}
	for _, col := range []string{"extension", "mobile"} {
		_, err := tx.ExecContext(ctx, `INSERT INTO problems (anchor, field, kind, text, detected_at)
			SELECT u.anchor, '`+col+`', 'duplicate',
				'`+col+` '||u.`+col+`||' is also held by '||(SELECT group_concat(o.sam_account_name, ', ') FROM users o
					WHERE o.`+col+` = u.`+col+` AND o.anchor != u.anchor AND o.state = 'active'), ?
			FROM users u WHERE u.state = 'active' AND u.`+col+` != '' AND EXISTS (SELECT 1 FROM users o
				WHERE o.`+col+` = u.`+col+` AND o.anchor != u.anchor AND o.state = 'active')`, formatTime(now))
		if err != nil {
			return fmt.Errorf("store: find duplicate %s: %w", col, err)
		}
	}
	return nil
}

// Problems lists the recorded problems, of one user when anchor is given,
// ordered by user and field.
func (s *Store) Problems(ctx context.Context, anchor string) ([]UserProblem, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT p.anchor, COALESCE(u.sam_account_name, ''), p.field, p.text, p.detected_at
		FROM problems p LEFT JOIN users u ON u.anchor = p.anchor
		WHERE ? = '' OR p.anchor = ? ORDER BY u.sam_account_name, p.field, p.text`, anchor, anchor)
	if err != nil {
		return nil, fmt.Errorf("store: problems: %w", err)
	}
	defer rows.Close()
	var out []UserProblem
	for rows.Next() {
		var p UserProblem
		var field, at string
		if err := rows.Scan(&p.Anchor, &p.SAMAccountName, &field, &p.Text, &at); err != nil {
			return nil, fmt.Errorf("store: problems: %w", err)
		}
		p.Field = ums.Field(field)
		p.DetectedAt, _ = parseTime(at)
		out = append(out, p)
	}
	return out, rows.Err()
}
