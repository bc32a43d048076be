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
	MailQueued  = "queued"
	MailSending = "sending" // claimed by a worker (see ClaimMail)
	MailSent    = "sent"
	MailFailed  = "failed"
)

// ErrClaimLost is returned when a worker records the outcome of a mail
// that is no longer claimed by it: its lease ran out and another worker
// claimed the mail (or the mail's user was purged). Nothing is written.
var ErrClaimLost = errors.New("the mail's claim was taken over")

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
	ClaimedBy     string    // the worker sending it (state sending)
	LeaseUntil    time.Time // when that claim ends (state sending)
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

// mailColumns are the columns scanMail reads, with the user's
// sAMAccountName last.
const mailColumns = `m.id, m.key, m.kind, m.anchor, m.cause, m.body, m.state, m.attempts, m.rejections, m.next_attempt_at,
	m.last_error, m.queued_at, m.sent_at, m.claimed_by, m.lease_until, COALESCE(u.sam_account_name, '')`

// scanMail reads one row of mailColumns.
func scanMail(row interface{ Scan(...any) error }) (Mail, error) {
	var m Mail
	var kind, next, queued string
	var sent, lease sql.NullString
	if err := row.Scan(&m.ID, &m.Key, &kind, &m.Anchor, &m.Cause, &m.Body, &m.State, &m.Attempts, &m.Rejections,
		&next, &m.LastError, &queued, &sent, &m.ClaimedBy, &lease, &m.SAMAccountName); err != nil {
		return Mail{}, err
	}
	m.Kind = ums.MailKind(kind)
	m.NextAttemptAt, _ = parseTime(next)
	m.QueuedAt, _ = parseTime(queued)
	if sent.Valid {
		m.SentAt, _ = parseTime(sent.String)
	}
	if lease.Valid {
		m.LeaseUntil, _ = parseTime(lease.String)
	}
	return m, nil
}

func (s *Store) queryMails(ctx context.Context, where string, args ...any) ([]Mail, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+mailColumns+` FROM mail_outbox m
		LEFT JOIN users u ON u.anchor = m.anchor AND m.anchor != '' `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("store: mails: %w", err)
	}
	defer rows.Close()
	var out []Mail
	for rows.Next() {
		m, err := scanMail(rows)
		if err != nil {
			return nil, fmt.Errorf("store: mails: %w", err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// dueSQL selects the mails a worker may claim at ?1: queued ones whose
// next attempt is due, and claimed ones whose lease ran out (their worker
// died or hangs).
const dueSQL = `((m.state = 'queued' AND m.next_attempt_at <= ?1) OR (m.state = 'sending' AND m.lease_until <= ?1))`

// DueMails returns up to limit mails that may be claimed now (see
// ClaimMail), oldest first. Listing claims nothing: two workers may list
// the same mail, and only one of them claims it.
func (s *Store) DueMails(ctx context.Context, now time.Time, limit int) ([]Mail, error) {
	return s.queryMails(ctx, `WHERE `+dueSQL+` ORDER BY m.next_attempt_at, m.id LIMIT ?2`, formatTime(now), limit)
}

// ClaimMail claims mail id for the worker named by until the lease ends
// at until, in one transaction, if the mail may be claimed at now (see
// DueMails); it returns the mail as claimed, or ErrNotFound when it is
// sent, failed or claimed by another worker whose lease still runs.
func (s *Store) ClaimMail(ctx context.Context, id int64, by string, now, until time.Time) (Mail, error) {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return Mail{}, fmt.Errorf("store: begin: %w", err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `UPDATE mail_outbox AS m SET state = 'sending', claimed_by = ?2, lease_until = ?3
		WHERE m.id = ?4 AND `+dueSQL, formatTime(now), by, formatTime(until), id)
	if err != nil {
		return Mail{}, fmt.Errorf("store: claim mail %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return Mail{}, fmt.Errorf("claim mail %d: %w", id, ErrNotFound)
	}
	m, err := scanMail(tx.QueryRowContext(ctx, `SELECT `+mailColumns+` FROM mail_outbox m
		LEFT JOIN users u ON u.anchor = m.anchor AND m.anchor != '' WHERE m.id = ?`, id))
	if err != nil {
		return Mail{}, fmt.Errorf("store: claim mail %d: %w", id, err)
	}
	return m, tx.Commit()
}

// RenewClaim extends the lease of a mail claimed by by; ErrClaimLost if
// it is no longer by's.
func (s *Store) RenewClaim(ctx context.Context, id int64, by string, until time.Time) error {
	res, err := s.write.ExecContext(ctx, `UPDATE mail_outbox SET lease_until = ? WHERE id = ? AND state = 'sending' AND claimed_by = ?`,
		formatTime(until), id, by)
	if err != nil {
		return fmt.Errorf("store: renew the claim of mail %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("mail %d: %w", id, ErrClaimLost)
	}
	return nil
}

// Mails lists the mails in state (all states when ""), oldest first.
func (s *Store) Mails(ctx context.Context, state string) ([]Mail, error) {
	return s.queryMails(ctx, `WHERE ? = '' OR m.state = ? ORDER BY m.id`, state, state)
}

// UserMails lists the mails of one user not sent yet.
func (s *Store) UserMails(ctx context.Context, anchor string) ([]Mail, error) {
	return s.queryMails(ctx, `WHERE m.anchor = ? AND m.state != 'sent' ORDER BY m.id`, anchor)
}

// MailQueue is the queue's depth (mails queued or being sent) and the
// age of its oldest mail.
func (s *Store) MailQueue(ctx context.Context, now time.Time) (depth int, oldest time.Duration, err error) {
	var first sql.NullString
	if err := s.read.QueryRowContext(ctx, `SELECT COUNT(*), MIN(queued_at) FROM mail_outbox WHERE state IN ('queued', 'sending')`).
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

// MailSent marks a mail claimed by by sent and, in the same transaction,
// stores the hash of the secret it carried (if any); a PIN also resets the
// count of wrong PINs. When the claim is no longer by's it writes nothing
// and returns ErrClaimLost: the hash stored stays the one of the worker
// that holds the claim (DESIGN invariant 10).
func (s *Store) MailSent(ctx context.Context, id int64, by string, secret *Secret, now time.Time) error {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	defer tx.Rollback()
	var anchor string
	err = tx.QueryRowContext(ctx, `UPDATE mail_outbox SET state = 'sent', sent_at = ?, attempts = attempts + 1, last_error = '',
		claimed_by = '', lease_until = NULL WHERE id = ? AND state = 'sending' AND claimed_by = ? RETURNING anchor`,
		formatTime(now), id, by).Scan(&anchor)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("mail %d: %w", id, ErrClaimLost)
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

// MailAttemptFailed records a failed send of a mail claimed by by and ends
// the claim: the mail waits until next, or is failed for good when failed
// is set. rejected counts a permanent (5xx) answer. ErrClaimLost when the
// claim is no longer by's (nothing is written).
func (s *Store) MailAttemptFailed(ctx context.Context, id int64, by, reason string, rejected, failed bool, next time.Time) error {
	state := MailQueued
	if failed {
		state = MailFailed
	}
	rej := 0
	if rejected {
		rej = 1
	}
	res, err := s.write.ExecContext(ctx, `UPDATE mail_outbox SET attempts = attempts + 1, rejections = rejections + ?,
		last_error = ?, state = ?, next_attempt_at = ?, claimed_by = '', lease_until = NULL
		WHERE id = ? AND state = 'sending' AND claimed_by = ?`,
		rej, reason, state, formatTime(next), id, by)
	if err != nil {
		return fmt.Errorf("store: record mail %d attempt: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("mail %d: %w", id, ErrClaimLost)
	}
	return nil
}

// dropUserMails deletes the mails of a user that leaves the store (purged,
// or removed by an import) and were not sent; a worker sending one of them
// loses its claim (its hash is not stored: the user is gone). Sent mails
// stay as history; alerts have no user.
func dropUserMails(ctx context.Context, tx *sql.Tx, anchor string) error {
	if anchor == "" {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM mail_outbox WHERE anchor = ? AND state != 'sent'`, anchor); err != nil {
		return fmt.Errorf("store: drop the mails of %s: %w", anchor, err)
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
