package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/umsync/umsync/ums"
)

// TestMailClaim: a claimed mail cannot be claimed again until its lease
// runs out; then only the new claimant records the outcome; a purged
// user's unsent mails go with it.
func TestMailClaim(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	now := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	u := testUser("a1", "claimed", now)
	if _, err := s.ApplyCycle(ctx, CycleWrite{Users: []*ums.User{&u}, Run: Run{Mode: "full", StartedAt: now, Result: ResultSuccess}}); err != nil {
		t.Fatal(err)
	}
	if err := s.QueueUserMail(ctx, "a1", "admin", "reset-password", ums.MailPassword, now); err != nil {
		t.Fatal(err)
	}
	due, _ := s.DueMails(ctx, now, 10)
	if len(due) != 1 {
		t.Fatalf("due %+v", due)
	}
	id, lease := due[0].ID, now.Add(30*time.Second)
	if m, err := s.ClaimMail(ctx, id, "w1", now, lease); err != nil || m.State != MailSending || m.ClaimedBy != "w1" {
		t.Fatalf("claim by w1: %+v, %v", m, err)
	}
	if _, err := s.ClaimMail(ctx, id, "w2", now.Add(29*time.Second), lease); !errors.Is(err, ErrNotFound) {
		t.Errorf("claim by w2 within w1's lease: %v, want ErrNotFound", err)
	}
	if d, _, _ := s.MailQueue(ctx, now); d != 1 {
		t.Errorf("queue depth with the mail being sent = %d, want 1", d)
	}
	later := lease
	if _, err := s.ClaimMail(ctx, id, "w2", later, later.Add(30*time.Second)); err != nil {
		t.Fatalf("claim by w2 after w1's lease: %v", err)
	}
	secret := &Secret{Kind: ums.MailPassword, Hash: "hash-of-w1"}
	if err := s.MailSent(ctx, id, "w1", secret, later); !errors.Is(err, ErrClaimLost) {
		t.Errorf("MailSent by w1 after the takeover: %v, want ErrClaimLost", err)
	}
	if err := s.MailAttemptFailed(ctx, id, "w1", "boom", false, false, later); !errors.Is(err, ErrClaimLost) {
		t.Errorf("MailAttemptFailed by w1 after the takeover: %v, want ErrClaimLost", err)
	}
	if h, _ := s.SecretHash(ctx, "a1", ums.MailPassword); h != "" {
		t.Errorf("w1 stored its hash %q", h)
	}
	if err := s.MailSent(ctx, id, "w2", &Secret{Kind: ums.MailPassword, Hash: "hash-of-w2"}, later); err != nil {
		t.Fatal(err)
	}
	if h, _ := s.SecretHash(ctx, "a1", ums.MailPassword); h != "hash-of-w2" {
		t.Errorf("stored hash %q, want w2's", h)
	}

	// Purge: the unsent mails of the user go with it, its sent ones stay.
	if err := s.QueueUserMail(ctx, "a1", "admin", "send-infomail", ums.MailInfo, later); err != nil {
		t.Fatal(err)
	}
	u, err := s.User(ctx, "a1") // at the version a cycle reads
	if err != nil {
		t.Fatal(err)
	}
	u.State, u.DeactivatedAt = ums.StateDeactivated, later
	if _, err := s.ApplyCycle(ctx, CycleWrite{Users: []*ums.User{&u}, Run: Run{Mode: "full", StartedAt: later, Result: ResultSuccess}}); err != nil {
		t.Fatal(err)
	}
	gone, err := s.User(ctx, "a1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.ApplyCycle(ctx, CycleWrite{Purge: []*ums.User{&gone}, Run: Run{Mode: "full", StartedAt: later, Result: ResultSuccess, Purged: 1}}); err != nil {
		t.Fatal(err)
	}
	ms, _ := s.Mails(ctx, "")
	if len(ms) != 1 || ms[0].State != MailSent {
		t.Errorf("mails after the purge: %+v", ms)
	}
}
