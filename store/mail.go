package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/umsync/umsync/ums"
)

// Mail states.
const (
	MailQueued = "queued"
	MailSent   = "sent"
	MailFailed = "failed"
)

// Mail is one mail to send: to a user (Anchor), or an admin alert (Cause
// and Body). It holds no secret.
type Mail struct {
	ID     int64
	Key    string // idempotency key: the same key is queued once
	Kind   ums.MailKind
	Anchor string
	Cause  string
	Body   string

	State         string
	Attempts      int
	Rejections    int
	NextAttemptAt time.Time
	LastError     string
	QueuedAt      time.Time
	SentAt        time.Time
	// SAMAccountName is the user's, for listings ("" for an alert).
	SAMAccountName string
}

// queueMail inserts m unless a mail with its key exists; it reports
// whether it was queued.
func queueMail(ctx context.Context, tx *sql.Tx, m Mail, now time.Time) (bool, error) {
	res, err := tx.ExecContext(ctx, `INSERT INTO mail_outbox (key, kind, anchor, cause, body, state, next_attempt_at, queued_at)
		VALUES (?, ?, ?, ?, ?, 'queued', ?, ?) ON CONFLICT (key) DO NOTHING`,
		m.Key, string(m.Kind), m.Anchor, m.Cause, m.Body, formatTime(now), formatTime(now))
	if err != nil {
		return false, fmt.Errorf("store: queue mail: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// QueueMail queues m (see CycleWrite.Mails for mails caused by a cycle);
// a mail whose key was queued before is not queued again.
func (s *Store) QueueMail(ctx context.Context, m Mail, now time.Time) (bool, error) {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("store: begin: %w", err)
	}
	defer tx.Rollback()
	ok, err := queueMail(ctx, tx, m, now)
	if err != nil {
		return false, err
	}
	return ok, tx.Commit()
}

// AlertInterval is the least time between two admin alerts of one cause.
const AlertInterval = time.Hour

// QueueAlert queues an admin alert of cause unless one of the same cause
// was queued within AlertInterval; it reports whether it was queued.
func (s *Store) QueueAlert(ctx context.Context, cause, body string, now time.Time) (bool, error) {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("store: begin: %w", err)
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM mail_outbox WHERE kind = 'alert' AND cause = ? AND queued_at > ?`,
		cause, formatTime(now.Add(-AlertInterval))).Scan(&n); err != nil {
		return false, fmt.Errorf("store: recent alerts: %w", err)
	}
	if n > 0 {
		return false, nil
	}
	ok, err := queueMail(ctx, tx, Mail{Key: "alert:" + cause + ":" + formatTime(now), Kind: ums.MailAlert, Cause: cause, Body: body}, now)
	if err != nil {
		return false, err
	}
	return ok, tx.Commit()
}

const mailColumns = `m.id, m.key, m.kind, m.anchor, m.cause, m.body, m.state, m.attempts, m.rejections, m.next_attempt_at,
	m.last_error, m.queued_at, m.sent_at, COALESCE(u.sam_account_name, '')`

func (s *Store) queryMails(ctx context.Context, where string, args ...any) ([]Mail, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+mailColumns+` FROM mail_outbox m
		LEFT JOIN users u ON u.anchor = m.anchor AND m.anchor != '' `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("store: mails: %w", err)
	}
	defer rows.Close()
	var out []Mail
	for rows.Next() {
		var m Mail
		var kind, next, queued string
		var sent sql.NullString
		if err := rows.Scan(&m.ID, &m.Key, &kind, &m.Anchor, &m.Cause, &m.Body, &m.State, &m.Attempts, &m.Rejections,
			&next, &m.LastError, &queued, &sent, &m.SAMAccountName); err != nil {
			return nil, fmt.Errorf("store: mails: %w", err)
		}
		m.Kind = ums.MailKind(kind)
		m.NextAttemptAt, _ = parseTime(next)
		m.QueuedAt, _ = parseTime(queued)
		if sent.Valid {
			m.SentAt, _ = parseTime(sent.String)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// DueMails returns up to limit queued mails whose next attempt is due,
// oldest first.
func (s *Store) DueMails(ctx context.Context, now time.Time, limit int) ([]Mail, error) {
	return s.queryMails(ctx, `WHERE m.state = 'queued' AND m.next_attempt_at <= ? ORDER BY m.next_attempt_at, m.id LIMIT ?`,
		formatTime(now), limit)
}

// Mails lists the mails in state (all states when ""), oldest first.
func (s *Store) Mails(ctx context.Context, state string) ([]Mail, error) {
	return s.queryMails(ctx, `WHERE ? = '' OR m.state = ? ORDER BY m.id`, state, state)
}

// UserMails lists the mails of one user not sent yet.
func (s *Store) UserMails(ctx context.Context, anchor string) ([]Mail, error) {
	return s.queryMails(ctx, `WHERE m.anchor = ? AND m.state != 'sent' ORDER BY m.id`, anchor)
}

// NextMailAt is when the earliest queued mail is due (zero if none).
func (s *Store) NextMailAt(ctx context.Context) (time.Time, error) {
	var next sql.NullString
	if err := s.read.QueryRowContext(ctx, `SELECT MIN(next_attempt_at) FROM mail_outbox WHERE state = 'queued'`).Scan(&next); err != nil {
		return time.Time{}, fmt.Errorf("store: next mail: %w", err)
	}
	if !next.Valid {
		return time.Time{}, nil
	}
	return parseTime(next.String)
}

// MailQueue is the queue's depth and the age of its oldest mail.
func (s *Store) MailQueue(ctx context.Context, now time.Time) (depth int, oldest time.Duration, err error) {
	var first sql.NullString
	if err := s.read.QueryRowContext(ctx, `SELECT COUNT(*), MIN(queued_at) FROM mail_outbox WHERE state = 'queued'`).
		Scan(&depth, &first); err != nil {
		return 0, 0, fmt.Errorf("store: mail queue: %w", err)
	}
	if first.Valid {
		t, err := parseTime(first.String)
		if err != nil {
			return 0, 0, err
		}
		oldest = now.Sub(t)
	}
	return depth, oldest, nil
}

// Secret is the hash of a secret mailed to a user, stored with the mail's
// success.
type Secret struct {
	Kind ums.MailKind // ums.MailPassword or ums.MailPIN
	Hash string
}

// MailSent marks a mail sent and, in the same transaction, stores the hash
// of the secret it carried (if any); a PIN also resets the count of wrong
// PINs.
func (s *Store) MailSent(ctx context.Context, id int64, secret *Secret, now time.Time) error {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	defer tx.Rollback()
	var anchor string
	err = tx.QueryRowContext(ctx, `UPDATE mail_outbox SET state = 'sent', sent_at = ?, attempts = attempts + 1, last_error = ''
		WHERE id = ? AND state = 'queued' RETURNING anchor`, formatTime(now), id).Scan(&anchor)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("mail %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("store: mark mail %d sent: %w", id, err)
	}
	if secret != nil {
		if _, err := tx.ExecContext(ctx, `INSERT INTO secrets (anchor, kind, hash, set_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (anchor, kind) DO UPDATE SET hash = excluded.hash, set_at = excluded.set_at`,
			anchor, string(secret.Kind), secret.Hash, formatTime(now)); err != nil {
			return fmt.Errorf("store: store secret hash: %w", err)
		}
		if secret.Kind == ums.MailPIN {
			if _, err := tx.ExecContext(ctx, `UPDATE users SET pin_failures = 0 WHERE anchor = ?`, anchor); err != nil {
				return fmt.Errorf("store: reset PIN failures: %w", err)
			}
		}
	}
	return tx.Commit()
}

// MailAttemptFailed records a failed send: the mail waits until next, or
// is failed for good when failed is set. rejected counts a permanent (5xx)
// answer.
func (s *Store) MailAttemptFailed(ctx context.Context, id int64, reason string, rejected, failed bool, next time.Time) error {
	state := MailQueued
	if failed {
		state = MailFailed
	}
	rej := 0
	if rejected {
		rej = 1
	}
	_, err := s.write.ExecContext(ctx, `UPDATE mail_outbox SET attempts = attempts + 1, rejections = rejections + ?,
		last_error = ?, state = ?, next_attempt_at = ? WHERE id = ? AND state = 'queued'`,
		rej, reason, state, formatTime(next), id)
	if err != nil {
		return fmt.Errorf("store: record mail %d attempt: %w", id, err)
	}
	return nil
}

// RetryMails queues failed mails again (id 0: all failed mails), their
// attempts counted from zero; it returns how many.
func (s *Store) RetryMails(ctx context.Context, id int64, now time.Time) (int, error) {
	res, err := s.write.ExecContext(ctx, `UPDATE mail_outbox SET state = 'queued', attempts = 0, rejections = 0,
		next_attempt_at = ? WHERE state = 'failed' AND (? = 0 OR id = ?)`, formatTime(now), id, id)
	if err != nil {
		return 0, fmt.Errorf("store: retry mails: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// SecretHash returns the stored hash of a user's password or PIN ("" if
// none was mailed yet).
func (s *Store) SecretHash(ctx context.Context, anchor string, kind ums.MailKind) (string, error) {
	var h string
	err := s.read.QueryRowContext(ctx, `SELECT hash FROM secrets WHERE anchor = ? AND kind = ?`, anchor, string(kind)).Scan(&h)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("store: secret: %w", err)
	}
	return h, nil
}

// QueueUserMail queues a mail of kind to the user with anchor as an
// admin's action (unlock, reset-password, reset-pin, send-infomail),
// audited as actor in the same transaction. Each action is its own event:
// the key carries its time.
func (s *Store) QueueUserMail(ctx context.Context, anchor, actor, action string, kind ums.MailKind, now time.Time) error {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	defer tx.Rollback()
	if _, err := queueUserMail(ctx, tx, anchor, actor, action, kind, now); err != nil {
		return err
	}
	return tx.Commit()
}

func queueUserMail(ctx context.Context, tx *sql.Tx, anchor, actor, action string, kind ums.MailKind, now time.Time) (bool, error) {
	key := fmt.Sprintf("%s:%s:%s:%s", kind, anchor, action, formatTime(now))
	ok, err := queueMail(ctx, tx, Mail{Key: key, Kind: kind, Anchor: anchor}, now)
	if err != nil {
		return false, err
	}
	return ok, audit(ctx, tx, now, actor, anchor, action, "mail", "", string(kind)+" mail queued")
}
