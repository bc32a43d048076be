package store

import (
	"context"
	"fmt"
	"time"
)

// TakenExtensions returns the extension numbers the pool must not hand
// out: those of every user in the store, and those released after
// restingSince (still in quarantine).
func (s *Store) TakenExtensions(ctx context.Context, restingSince time.Time) (map[string]bool, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT extension FROM users WHERE extension != ''
		UNION SELECT number FROM extension_releases WHERE released_at > ?`, formatTime(restingSince))
	if err != nil {
		return nil, fmt.Errorf("store: taken extensions: %w", err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, fmt.Errorf("store: taken extensions: %w", err)
		}
		out[n] = true
	}
	return out, rows.Err()
}
