package store

import (
	"context"
	"fmt"
	"time"
)

// TakenExtensions calls add with each extension number the pool must not
// hand out: those of every user in the store, and those released after
// restingSince (still in quarantine). add keeps what it needs (the
// engine: a bit per number of the pool), so nothing here grows with the
// store.
func (s *Store) TakenExtensions(ctx context.Context, restingSince time.Time, add func(number string)) error {
	rows, err := s.read.QueryContext(ctx, `SELECT extension FROM users WHERE extension != ''
		UNION SELECT number FROM extension_releases WHERE released_at > ?`, formatTime(restingSince))
	if err != nil {
		return fmt.Errorf("store: taken extensions: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return fmt.Errorf("store: taken extensions: %w", err)
		}
		add(n)
	}
	return rows.Err()
}
