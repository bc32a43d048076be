package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/umsync/umsync/ums"
)

// The projections below give a cycle's global rules a few columns of every
// user instead of every row: a full cycle of 50,000 users holds these, and
// fetches the full rows of only the users a rule changes.

// EachAnchorState calls fn with every stored user's anchor and whether it
// is active: what a full cycle compares its read with (users not read are
// out of scope), one row at a time rather than a map of the store.
func (s *Store) EachAnchorState(ctx context.Context, fn func(anchor string, active bool)) error {
	rows, err := s.read.QueryContext(ctx, `SELECT anchor, state = ? FROM users`, string(ums.StateActive))
	if err != nil {
		return fmt.Errorf("store: anchors: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			a      string
			active bool
		)
		if err := rows.Scan(&a, &active); err != nil {
			return fmt.Errorf("store: anchors: %w", err)
		}
		fn(a, active)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: anchors: %w", err)
	}
	return nil
}

// SeatFact is a stored user as the license cap sees it.
type SeatFact struct {
	Anchor, SAMAccountName string
	Eligible               bool // active and not a phantom
	License                ums.LicenseState
	Since, FirstSeen       time.Time
	Profile                string // its settings' profile (for the priority)
}

// EachSeat calls fn with each user the license cap ranks: the eligible
// ones and any other holding or waiting for a seat (to take it back). With
// wrongOnly (no cap: nobody is ranked) only the users whose license is
// wrong are listed: eligible without a seat, or not eligible with one.
func (s *Store) EachSeat(ctx context.Context, wrongOnly bool, fn func(SeatFact)) error {
	where := `(state = ?1 AND phantom = 0) OR license != ?2`
	args := []any{string(ums.StateActive), string(ums.LicenseNone)}
	if wrongOnly {
		where = `(state = ?1 AND phantom = 0 AND license != ?3) OR (NOT (state = ?1 AND phantom = 0) AND license != ?2)`
		args = append(args, string(ums.LicenseActive))
	}
	rows, err := s.read.QueryContext(ctx, `SELECT anchor, sam_account_name, state = ?1 AND phantom = 0, license,
		license_since, first_seen, settings FROM users WHERE `+where, args...)
	if err != nil {
		return fmt.Errorf("store: seats: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			f        SeatFact
			license  string
			since    sql.NullString
			first    string
			settings string
		)
		if err := rows.Scan(&f.Anchor, &f.SAMAccountName, &f.Eligible, &license, &since, &first, &settings); err != nil {
			return fmt.Errorf("store: seats: %w", err)
		}
		f.License, f.Profile = ums.LicenseState(license), ums.ProfileOf(settings)
		if since.Valid {
			if f.Since, err = parseTime(since.String); err != nil {
				return fmt.Errorf("store: seats: user %s: license_since: %w", f.Anchor, err)
			}
		}
		if f.FirstSeen, err = parseTime(first); err != nil {
			return fmt.Errorf("store: seats: user %s: first_seen: %w", f.Anchor, err)
		}
		fn(f)
	}
	return rows.Err()
}

// UsersWithoutExtension returns the eligible users (active, not phantoms) whose
// extension is empty: the ones the extension pool serves.
func (s *Store) UsersWithoutExtension(ctx context.Context) ([]ums.User, error) {
	return s.queryUsers(ctx, `SELECT `+selectColumns+` FROM users WHERE state = ? AND phantom = 0 AND extension = ''`,
		string(ums.StateActive))
}

// UserPages calls fn with every user, size rows at a time in anchor
// order: a rule that must see every stored user (settings profiles that
// changed) holds one page, not the store.
func (s *Store) UserPages(ctx context.Context, size int, fn func([]ums.User) error) error {
	after := ""
	for {
		page, err := s.queryUsers(ctx, `SELECT `+selectColumns+` FROM users WHERE anchor > ? ORDER BY anchor LIMIT ?`,
			after, size)
		if err != nil {
			return err
		}
		if len(page) == 0 {
			return nil
		}
		if err := fn(page); err != nil {
			return err
		}
		after = page[len(page)-1].Anchor
	}
}
