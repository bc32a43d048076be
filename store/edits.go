package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/umsync/umsync/ums"
)

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
			w := ums.FieldWrite{Field: e.Field, Old: e.WriteOld, New: e.New}
			if err := queueWrite(ctx, tx, u.Anchor, w, now); err != nil {
				return err
			}
		}
	}
	return nil
}

// Edit is an admin's change of one field of one user. With Write, the new
// value is also queued for the directory, planned against WriteOld.
type Edit struct {
	Field    ums.Field
	New      string
	Write    bool
	WriteOld string
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
