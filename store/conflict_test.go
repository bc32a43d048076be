package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/umsync/umsync/ums"
)

// conflictFixture stores one user with an open conflict on mobile and
// returns the conflict's id.
func conflictFixture(t *testing.T, s *Store, now time.Time) (ums.User, int64) {
	t.Helper()
	ctx := context.Background()
	u := testUser("aaaaaaaa-0000-0000-0000-00000000c0c0", "carol", now)
	u.Mobile = "+49171111"
	c := ums.FieldConflict{Field: ums.FieldMobile, Directory: "+49172222", Store: "+49171111"}
	if _, err := s.ApplyCycle(ctx, CycleWrite{Users: []*ums.User{&u}, Outbox: []UserOutbox{{Anchor: u.Anchor, Conflicts: []ums.FieldConflict{c}}},
		Run: Run{Mode: "full", StartedAt: now, Result: ResultSuccess}}); err != nil {
		t.Fatal(err)
	}
	cs, err := s.OpenConflicts(ctx)
	if err != nil || len(cs) != 1 {
		t.Fatalf("open conflicts = %+v, %v", cs, err)
	}
	return u, cs[0].ID
}

// resolveEffects counts what resolves left: audited resolves of the user
// and directory writes queued.
func resolveEffects(t *testing.T, s *Store, anchor string) (audits, writes int) {
	t.Helper()
	as, err := s.Audit(context.Background(), anchor, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range as {
		if a.Action == "resolve" {
			audits++
		}
	}
	ws, err := s.Writes(context.Background(), WritePending, 100)
	if err != nil {
		t.Fatal(err)
	}
	return audits, len(ws)
}

// TestResolveConflictTwice: the second resolve of one conflict answers
// ErrAlreadyResolved and changes nothing (no audit row, no AD write).
func TestResolveConflictTwice(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	u, id := conflictFixture(t, s, now)
	if _, err := s.ResolveConflict(ctx, id, "store", "alice", now); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ResolveConflict(ctx, id, "store", "bob", now); !errors.Is(err, ErrAlreadyResolved) {
		t.Fatalf("second resolve: %v, want ErrAlreadyResolved", err)
	}
	if _, err := s.ResolveConflict(ctx, id, "directory", "bob", now); !errors.Is(err, ErrAlreadyResolved) {
		t.Fatalf("second resolve taking the directory: %v, want ErrAlreadyResolved", err)
	}
	if audits, writes := resolveEffects(t, s, u.Anchor); audits != 1 || writes != 1 {
		t.Errorf("after two resolves: %d audited resolves, %d writes queued; want 1, 1", audits, writes)
	}
	if got, _ := s.User(ctx, u.Anchor); got.Mobile != "+49171111" {
		t.Errorf("the refused resolve changed the store: mobile %q", got.Mobile)
	}
	if _, err := s.ResolveConflict(ctx, id+100, "store", "bob", now); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown conflict: %v, want ErrNotFound", err)
	}
}

// TestResolveConflictRace: a second admin (another process: its own Store)
// resolves the same conflict just after the first one read it. The first
// holds the write lock from that read to its commit, so the second cannot
// act in between; run again afterwards it answers ErrAlreadyResolved. One
// audited resolve, one AD write.
func TestResolveConflictRace(t *testing.T) {
	s, path := openTest(t)
	ctx := context.Background()
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	u, id := conflictFixture(t, s, now)
	other, err := Open(ctx, Config{Path: path, BusyTimeout: 50 * time.Millisecond}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	var racing error
	s.afterConflictRead = func() {
		s.afterConflictRead = nil
		_, racing = other.ResolveConflict(ctx, id, "directory", "bob", now)
	}
	if _, err := s.ResolveConflict(ctx, id, "store", "alice", now); err != nil {
		t.Fatalf("first resolve: %v", err)
	}
	if racing == nil {
		t.Error("the racing resolve acted between the first one's read and its commit")
	}
	if _, err := other.ResolveConflict(ctx, id, "directory", "bob", now); !errors.Is(err, ErrAlreadyResolved) {
		t.Errorf("the racing resolve, run again: %v, want ErrAlreadyResolved", err)
	}
	if audits, writes := resolveEffects(t, s, u.Anchor); audits != 1 || writes != 1 {
		t.Errorf("%d audited resolves, %d writes queued; want 1, 1", audits, writes)
	}
	if got, _ := s.User(ctx, u.Anchor); got.Mobile != "+49171111" {
		t.Errorf("the store took the racing resolve's value: mobile %q", got.Mobile)
	}
}
