package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/umsync/umsync/ums"
)

// Change is one entry of the changes feed: a user as it is now, or, for a
// purged one, only its anchor (Purged set, User holds the anchor only).
type Change struct {
	Version int64
	Purged  bool
	User    ums.User
}

// Snapshot reads within one read transaction, so that what it returns and
// the cursor it returns belong to the same state of the store: a reader
// that continues from the cursor misses nothing and sees nothing twice.
func (s *Store) snapshot(ctx context.Context, read func(tx *sql.Tx) error) error {
	tx, err := s.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("store: begin read: %w", err)
	}
	defer tx.Rollback()
	return read(tx)
}

func seqValue(ctx context.Context, tx *sql.Tx) (int64, error) {
	var v int64
	if err := tx.QueryRowContext(ctx, `SELECT value FROM change_seq WHERE id = 1`).Scan(&v); err != nil {
		return 0, fmt.Errorf("store: read change sequence: %w", err)
	}
	return v, nil
}

// ListUsersAt is ListUsers with the version of the store it read: the
// cursor from which Changes continues.
func (s *Store) ListUsersAt(ctx context.Context, f UserFilter) ([]ums.User, int64, error) {
	var users []ums.User
	var cursor int64
	err := s.snapshot(ctx, func(tx *sql.Tx) error {
		var err error
		if cursor, err = seqValue(ctx, tx); err != nil {
			return err
		}
		q, args := listQuery(f)
		users, err = queryUsersOn(ctx, tx, q, args...)
		return err
	})
	if err != nil {
		return nil, 0, err
	}
	return filterAnchors(users, f), cursor, nil
}

// Changes returns the users written after version since, and the users
// purged after it, in version order, at most limit (0: all), and the cursor
// to continue from: the last version returned, or the store's version when
// all changes were returned. Read in one snapshot.
func (s *Store) Changes(ctx context.Context, since int64, limit int) ([]Change, int64, error) {
	var out []Change
	var cursor int64
	err := s.snapshot(ctx, func(tx *sql.Tx) error {
		var err error
		if cursor, err = seqValue(ctx, tx); err != nil {
			return err
		}
		lim := -1
		if limit > 0 {
			lim = limit
		}
		users, err := queryUsersOn(ctx, tx, `SELECT `+selectColumns+` FROM users WHERE version > ? ORDER BY version LIMIT ?`, since, lim)
		if err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT anchor, version FROM user_tombstones WHERE version > ? ORDER BY version LIMIT ?`, since, lim)
		if err != nil {
			return fmt.Errorf("store: read tombstones: %w", err)
		}
		defer rows.Close()
		var gone []Change
		for rows.Next() {
			var c Change
			if err := rows.Scan(&c.User.Anchor, &c.Version); err != nil {
				return fmt.Errorf("store: read tombstones: %w", err)
			}
			c.Purged = true
			gone = append(gone, c)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("store: read tombstones: %w", err)
		}
		i, j := 0, 0
		for (i < len(users) || j < len(gone)) && (limit <= 0 || len(out) < limit) {
			if j == len(gone) || (i < len(users) && users[i].Version < gone[j].Version) {
				out = append(out, Change{Version: users[i].Version, User: users[i]})
				i++
			} else {
				out = append(out, gone[j])
				j++
			}
		}
		if limit > 0 && len(out) == limit {
			cursor = out[len(out)-1].Version
		}
		return nil
	})
	return out, cursor, err
}

// UsersWithNumber returns the active users whose extension is ext or whose
// phone, mobile, fax or alias numbers hold e164 (exact values; ext or e164
// may be empty).
func (s *Store) UsersWithNumber(ctx context.Context, ext, e164 string) ([]ums.User, error) {
	q := `SELECT ` + selectColumns + ` FROM users WHERE state = 'active' AND (
		(?1 != '' AND extension = ?1) OR (?2 != '' AND (phone = ?2 OR mobile = ?2
		OR EXISTS (SELECT 1 FROM json_each(users.fax_numbers) WHERE value = ?2)
		OR EXISTS (SELECT 1 FROM json_each(users.alias_numbers) WHERE value = ?2))))
		ORDER BY sam_account_name, anchor`
	return s.queryUsers(ctx, q, ext, e164)
}

// UserByLogin finds the user whose sAMAccountName or mail is login
// (case-insensitive), an active one before a deactivated one.
func (s *Store) UserByLogin(ctx context.Context, login string) (ums.User, error) {
	users, err := s.queryUsers(ctx, `SELECT `+selectColumns+` FROM users
		WHERE ?1 != '' AND (lower(sam_account_name) = lower(?1) OR lower(mail) = lower(?1))
		ORDER BY state, anchor LIMIT 1`, strings.TrimSpace(login))
	if err != nil {
		return ums.User{}, err
	}
	if len(users) == 0 {
		return ums.User{}, fmt.Errorf("login %w", ErrNotFound)
	}
	return users[0], nil
}

// PasswordFailures is how many wrong passwords in a row the user with
// anchor gave (a new password stored resets it).
func (s *Store) PasswordFailures(ctx context.Context, anchor string) (int, error) {
	var n int
	err := s.read.QueryRowContext(ctx, `SELECT failures FROM password_failures WHERE anchor = ?`, anchor).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("store: password failures: %w", err)
	}
	return n, nil
}

// RecordPasswordFailure counts a wrong password of the user with anchor
// and returns the count; reaching max (> 0) is audited as actor once.
func (s *Store) RecordPasswordFailure(ctx context.Context, anchor, actor string, max int, now time.Time) (int, error) {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("store: begin: %w", err)
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `INSERT INTO password_failures (anchor, failures) VALUES (?, 1)
		ON CONFLICT (anchor) DO UPDATE SET failures = failures + 1 RETURNING failures`, anchor).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count password failure: %w", err)
	}
	if max > 0 && n == max {
		if err := audit(ctx, tx, now, actor, anchor, "lock", "password", "", "locked after wrong passwords"); err != nil {
			return 0, err
		}
	}
	return n, tx.Commit()
}

// ResetPasswordFailures starts the count of wrong passwords again (a right
// password was given).
func (s *Store) ResetPasswordFailures(ctx context.Context, anchor string) error {
	if _, err := s.write.ExecContext(ctx, `DELETE FROM password_failures WHERE anchor = ?`, anchor); err != nil {
		return fmt.Errorf("store: reset password failures: %w", err)
	}
	return nil
}

// ResetPINFailures starts the count of wrong PINs again (a right PIN was
// given); a locked box stays locked.
func (s *Store) ResetPINFailures(ctx context.Context, anchor string) error {
	if _, err := s.write.ExecContext(ctx, `UPDATE users SET pin_failures = 0 WHERE anchor = ? AND pin_failures != 0`, anchor); err != nil {
		return fmt.Errorf("store: reset PIN failures: %w", err)
	}
	return nil
}

// PINFailures is how many wrong PINs in a row the user with anchor gave.
func (s *Store) PINFailures(ctx context.Context, anchor string) (int, error) {
	var n int
	if err := s.read.QueryRowContext(ctx, `SELECT pin_failures FROM users WHERE anchor = ?`, anchor).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: PIN failures: %w", err)
	}
	return n, nil
}

// SetSecret stores the hash of a secret the user chose (a new PIN or
// password through the API), audited as actor; the secret itself is
// never stored or audited.
func (s *Store) SetSecret(ctx context.Context, anchor, actor string, secret Secret, now time.Time) error {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT INTO secrets (anchor, kind, hash, set_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (anchor, kind) DO UPDATE SET hash = excluded.hash, set_at = excluded.set_at`,
		anchor, string(secret.Kind), secret.Hash, formatTime(now)); err != nil {
		return fmt.Errorf("store: store secret hash: %w", err)
	}
	if err := audit(ctx, tx, now, actor, anchor, "change", ums.Field(secret.Kind), "", "changed by the user"); err != nil {
		return err
	}
	return tx.Commit()
}

// APICall is one audited call of the API.
type APICall struct {
	At                   time.Time
	Actor, Method, Route string
	Target               string
	Code                 int
}

// RecordAPICalls audits API calls in one transaction and deletes the
// audited calls older than before (none when before is zero): the API
// writes its audit in batches, so a call never waits for the store.
func (s *Store) RecordAPICalls(ctx context.Context, calls []APICall, before time.Time) error {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	defer tx.Rollback()
	for _, c := range calls {
		if _, err := tx.ExecContext(ctx, `INSERT INTO api_calls (at, actor, method, route, target, code) VALUES (?, ?, ?, ?, ?, ?)`,
			formatTime(c.At), c.Actor, c.Method, c.Route, c.Target, c.Code); err != nil {
			return fmt.Errorf("store: audit API call: %w", err)
		}
	}
	if !before.IsZero() {
		if _, err := tx.ExecContext(ctx, `DELETE FROM api_calls WHERE at < ?`, formatTime(before)); err != nil {
			return fmt.Errorf("store: prune the API audit: %w", err)
		}
	}
	return tx.Commit()
}

// APICalls returns the last limit audited API calls, newest first.
func (s *Store) APICalls(ctx context.Context, limit int) ([]APICall, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT at, actor, method, route, target, code FROM api_calls ORDER BY id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("store: API calls: %w", err)
	}
	defer rows.Close()
	var out []APICall
	for rows.Next() {
		var c APICall
		var at string
		if err := rows.Scan(&at, &c.Actor, &c.Method, &c.Route, &c.Target, &c.Code); err != nil {
			return nil, fmt.Errorf("store: API calls: %w", err)
		}
		c.At, _ = parseTime(at)
		out = append(out, c)
	}
	return out, rows.Err()
}
