package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
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
	anchors := make([]any, 0, len(byAnchor))
	for a := range byAnchor {
		anchors = append(anchors, a)
	}
	for len(anchors) > 0 { // 500 per statement: one per user took a second at 50,000
		n := min(len(anchors), 500)
		if _, err := tx.ExecContext(ctx, `DELETE FROM problems WHERE kind = 'user' AND anchor IN (?`+
			strings.Repeat(", ?", n-1)+`)`, anchors[:n]...); err != nil {
			return fmt.Errorf("store: clear problems: %w", err)
		}
		anchors = anchors[n:]
	}
	for anchor, ps := range byAnchor {
		for _, p := range ps {
			if _, err := tx.ExecContext(ctx, `INSERT INTO problems (anchor, field, kind, text, detected_at)
				VALUES (?, ?, 'user', ?, ?)`, anchor, string(p.Field), p.Text, formatTime(now)); err != nil {
				return fmt.Errorf("store: record problem: %w", err)
			}
		}
	}
	return nil
}

// refreshDuplicates records, for every active user, an extension, mobile
// or fax number that another active user holds too — a problem on both.
func refreshDuplicates(ctx context.Context, tx *sql.Tx, now time.Time) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM problems WHERE kind = 'duplicate'`); err != nil {
		return fmt.Errorf("store: clear duplicates: %w", err)
	}
	// Set-based: find the duplicated values first (one pass over an index),
	// then name the holders of just those. A correlated EXISTS per user
	// was quadratic: 4 minutes at 50,000 users. Fax numbers are a JSON
	// list per user: json_each makes them rows of (anchor, number).
	for _, dup := range []struct{ field, label, rows string }{
		{"extension", "extension", `SELECT anchor, extension AS v FROM users WHERE state = 'active' AND extension != ''`},
		{"mobile", "mobile", `SELECT anchor, mobile AS v FROM users WHERE state = 'active' AND mobile != ''`},
		{"fax_numbers", "fax number", `SELECT DISTINCT u.anchor, j.value AS v FROM users u, json_each(u.fax_numbers) j
			WHERE u.state = 'active' AND u.fax_numbers != '[]'`},
		{"alias_numbers", "alias number", `SELECT DISTINCT u.anchor, j.value AS v FROM users u, json_each(u.alias_numbers) j
			WHERE u.state = 'active' AND u.alias_numbers != '[]'`},
	} {
		_, err := tx.ExecContext(ctx, `WITH nums AS (`+dup.rows+`),
			dup AS (SELECT v FROM nums GROUP BY v HAVING COUNT(*) > 1),
			held AS (SELECT n.anchor, n.v FROM nums n JOIN dup ON n.v = dup.v)
			INSERT INTO problems (anchor, field, kind, text, detected_at)
			SELECT h.anchor, ?, 'duplicate',
				? || ' ' || h.v || ' is also held by ' || (SELECT group_concat(o.sam_account_name, ', ')
					FROM held oh JOIN users o ON o.anchor = oh.anchor WHERE oh.v = h.v AND oh.anchor != h.anchor), ?
			FROM held h`, dup.field, dup.label, formatTime(now))
		if err != nil {
			return fmt.Errorf("store: find duplicate %s: %w", dup.field, err)
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

// CountProblems counts the recorded problems.
func (s *Store) CountProblems(ctx context.Context) (int, error) {
	var n int
	if err := s.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM problems`).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count problems: %w", err)
	}
	return n, nil
}
