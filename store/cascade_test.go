package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/umsync/umsync/ums"
)

// withRows stores users and gives each a password and a PIN hash and a
// problem.
func withRows(t *testing.T, s *Store, now time.Time, users ...*ums.User) {
	t.Helper()
	ctx := context.Background()
	problems := map[string][]ums.Problem{}
	for _, u := range users {
		problems[u.Anchor] = []ums.Problem{{Field: ums.FieldMobile, Text: "a problem"}}
	}
	if _, err := s.ApplyCycle(ctx, CycleWrite{Users: users, Problems: problems,
		Run: Run{Mode: "full", StartedAt: now, Result: ResultSuccess}}); err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		for _, kind := range []string{"password", "pin"} {
			if _, err := s.write.Exec(`INSERT INTO secrets (anchor, kind, hash, set_at) VALUES (?, ?, 'hash', ?)`,
				u.Anchor, kind, formatTime(now)); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// rowsOf counts a user's secret and problem rows.
func rowsOf(t *testing.T, s *Store, anchor string) (secrets, problems int) {
	t.Helper()
	if err := s.read.QueryRow(`SELECT (SELECT COUNT(*) FROM secrets WHERE anchor = ?), (SELECT COUNT(*) FROM problems WHERE anchor = ?)`,
		anchor, anchor).Scan(&secrets, &problems); err != nil {
		t.Fatal(err)
	}
	return secrets, problems
}

// TestPurgeDeletesSecretsAndProblems: a purged user's secret hashes and
// problems are gone with it (foreign keys, same transaction); another
// user's stay.
func TestPurgeDeletesSecretsAndProblems(t *testing.T) {
	s, _ := openTest(t)
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	gone := testUser("aaaaaaaa-0000-0000-0000-000000000001", "alice", now)
	gone.State, gone.DeactivatedAt = ums.StateDeactivated, now
	kept := testUser("bbbbbbbb-0000-0000-0000-000000000002", "bob", now)
	withRows(t, s, now, &gone, &kept)
	if sec, pr := rowsOf(t, s, gone.Anchor); sec != 2 || pr != 1 {
		t.Fatalf("before the purge: %d secrets, %d problems", sec, pr)
	}
	if _, err := s.RecordPasswordFailure(context.Background(), gone.Anchor, "api:ums", 5, now); err != nil {
		t.Fatal(err)
	}
	stored, err := s.User(context.Background(), gone.Anchor) // at the version a cycle reads
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.ApplyCycle(context.Background(), CycleWrite{Purge: []*ums.User{&stored},
		Run: Run{Mode: "delta", StartedAt: now.Add(time.Hour), Result: ResultSuccess}}); err != nil {
		t.Fatal(err)
	}
	if sec, pr := rowsOf(t, s, gone.Anchor); sec != 0 || pr != 0 {
		t.Errorf("a purged user left %d secrets and %d problems", sec, pr)
	}
	var failures int
	s.read.QueryRow(`SELECT COUNT(*) FROM password_failures WHERE anchor = ?`, gone.Anchor).Scan(&failures)
	if failures != 0 {
		t.Errorf("a purged user left its count of wrong passwords (it would be locked if imported again)")
	}
	if sec, pr := rowsOf(t, s, kept.Anchor); sec != 2 || pr != 1 {
		t.Errorf("another user's rows went too: %d secrets, %d problems", sec, pr)
	}
}

// TestImportReplaceDeletesSecretsAndProblems: import --replace removes the
// users not in the file with their secrets and problems; a user the file
// changes is updated in place, so it keeps its secrets (a delete and
// insert would cascade them away), and takes the file's first_seen.
func TestImportReplaceDeletesSecretsAndProblems(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	gone := testUser("aaaaaaaa-0000-0000-0000-000000000001", "alice", now)
	kept := testUser("bbbbbbbb-0000-0000-0000-000000000002", "bob", now)
	withRows(t, s, now, &gone, &kept)

	changed := kept
	changed.Department, changed.FirstSeen = "Einkauf", now.Add(-24*time.Hour)
	res, err := s.ImportUsers(ctx, []ums.User{changed}, true, false, "admin", now.Add(time.Hour))
	if err != nil || len(res.Removed) != 1 || len(res.Changed) != 1 {
		t.Fatalf("ImportUsers = %+v, %v", res, err)
	}
	if sec, pr := rowsOf(t, s, gone.Anchor); sec != 0 || pr != 0 {
		t.Errorf("a replaced-away user left %d secrets and %d problems", sec, pr)
	}
	if sec, _ := rowsOf(t, s, kept.Anchor); sec != 2 {
		t.Errorf("a changed user has %d secrets after the import, want 2", sec)
	}
	if u, err := s.User(ctx, "bob"); err != nil || u.Department != "Einkauf" || !u.FirstSeen.Equal(changed.FirstSeen) {
		t.Errorf("bob after the import: %+v, %v", u, err)
	}
}

// TestImportRefusesSecondActiveName: an imported active user may not take
// the sAMAccountName of another active stored user that stays; nothing is
// written. A deactivated holder, or one that --replace removes, is no clash.
func TestImportRefusesSecondActiveName(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	bob := testUser("bbbbbbbb-0000-0000-0000-000000000002", "bob", now)
	old := testUser("cccccccc-0000-0000-0000-000000000003", "carl", now)
	old.State, old.DeactivatedAt = ums.StateDeactivated, now
	withRows(t, s, now, &bob, &old)
	before, _ := s.AllUsers(ctx)

	other := testUser("dddddddd-0000-0000-0000-000000000004", "BOB", now)
	fine := testUser("eeeeeeee-0000-0000-0000-000000000005", "eve", now)
	_, err := s.ImportUsers(ctx, []ums.User{fine, other}, false, false, "admin", now)
	var clashes ImportClashes
	if !errors.As(err, &clashes) || len(clashes) != 1 || clashes[0].Index != 1 || clashes[0].Other.Anchor != bob.Anchor {
		t.Fatalf("ImportUsers = %v, want a clash of user 2 with bob", err)
	}
	if after, _ := s.AllUsers(ctx); len(after) != len(before) {
		t.Errorf("a refused import wrote users: %d before, %d after", len(before), len(after))
	}

	carl := testUser("ffffffff-0000-0000-0000-000000000006", "carl", now) // the old carl is deactivated
	if _, err := s.ImportUsers(ctx, []ums.User{carl}, false, true, "admin", now); err != nil {
		t.Errorf("a name held by a deactivated user: %v", err)
	}
	if _, err := s.ImportUsers(ctx, []ums.User{other}, true, true, "admin", now); err != nil {
		t.Errorf("--replace removes the holder: %v", err)
	}
}

// TestForeignKeysOn: the cascade needs SQLite's foreign keys switched on
// for the connection that writes.
func TestForeignKeysOn(t *testing.T) {
	s, _ := openTest(t)
	var on int
	if err := s.write.QueryRow(`PRAGMA foreign_keys`).Scan(&on); err != nil || on != 1 {
		t.Fatalf("PRAGMA foreign_keys = %d, %v", on, err)
	}
	if _, err := s.write.Exec(`INSERT INTO secrets (anchor, kind, hash, set_at) VALUES ('nobody', 'pin', 'h', 'x')`); err == nil {
		t.Error("a secret of no user was stored")
	}
}
