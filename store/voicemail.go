package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/umsync/umsync/ums"
)

// RecordPINFailure counts a wrong voicemail PIN of the user with anchor.
// At max failures in a row the box is locked (ixi-UMS: "blocked by entering
// the wrong PIN several times"): the settings get vmlock=1, audited as
// actor and, with toDirectory (the settings field is written to AD),
// queued for the directory. It returns whether the box is locked.
func (s *Store) RecordPINFailure(ctx context.Context, anchor, actor string, max int, toDirectory bool, now time.Time) (bool, error) {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("store: begin: %w", err)
	}
	defer tx.Rollback()
	var failures int
	err = tx.QueryRowContext(ctx, `UPDATE users SET pin_failures = pin_failures + 1 WHERE anchor = ?
		RETURNING pin_failures`, anchor).Scan(&failures)
	if errors.Is(err, sql.ErrNoRows) {
		return false, fmt.Errorf("user %s: %w", anchor, ErrNotFound)
	}
	if err != nil {
		return false, fmt.Errorf("store: count PIN failure: %w", err)
	}
	locked := failures >= max
	if locked {
		if err := setVoicemailLock(ctx, tx, anchor, actor, "lock", true, toDirectory, now); err != nil {
			return false, err
		}
	}
	return locked, tx.Commit()
}

// UnlockVoicemail unlocks the user's voicemail box and resets the count of
// wrong PINs, audited as actor; with toDirectory the settings change is
// queued for the directory and, with mailPIN, a mail with a new PIN is
// queued in the same transaction.
func (s *Store) UnlockVoicemail(ctx context.Context, anchor, actor string, mailPIN, toDirectory bool, now time.Time) error {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `UPDATE users SET pin_failures = 0 WHERE anchor = ?`, anchor); err != nil {
		return fmt.Errorf("store: reset PIN failures: %w", err)
	}
	if err := setVoicemailLock(ctx, tx, anchor, actor, "unlock", false, toDirectory, now); err != nil {
		return err
	}
	if mailPIN {
		if _, err := queueUserMail(ctx, tx, anchor, actor, "unlock", ums.MailPIN, now); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// setVoicemailLock sets or clears vmlock in the user's settings, and
// queues the new settings for the directory only with toDirectory.
func setVoicemailLock(ctx context.Context, tx *sql.Tx, anchor, actor, action string, lock, toDirectory bool, now time.Time) error {
	u, err := readUserTx(ctx, tx, anchor)
	if err != nil {
		return err
	}
	set, err := ums.ParseSettings(u.Settings)
	if err != nil {
		return fmt.Errorf("user %s: %w", u.SAMAccountName, err)
	}
	if set.VoicemailLocked == lock {
		return nil
	}
	set.VoicemailLocked = lock
	edit := Edit{Field: ums.FieldSettings, New: set.Encode(), Write: toDirectory, WriteOld: u.BaseOf(ums.FieldSettings)}
	if err := editTx(ctx, tx, &u, actor, action, []Edit{edit}, now); err != nil {
		return err
	}
	return writeUserTx(ctx, tx, &u, now)
}
