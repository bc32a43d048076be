package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/umsync/umsync/ums"
)

func openTest(t *testing.T) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "data", "umsync.db")
	s, err := Open(context.Background(), Config{Path: path, BusyTimeout: time.Second}, zerolog.New(zerolog.NewTestWriter(t)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

func TestOpenModesAndMigrations(t *testing.T) {
	s, path := openTest(t)
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("db file mode = %o, want 600", st.Mode().Perm())
	}
	dst, _ := os.Stat(filepath.Dir(path))
	if dst.Mode().Perm() != 0o700 {
		t.Errorf("folder mode = %o, want 700", dst.Mode().Perm())
	}
	var mode string
	if err := s.write.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
	var n int
	s.read.QueryRow(`SELECT COUNT(*) FROM schema_migrations`).Scan(&n)
	ms, _ := migrations()
	if n != len(ms) || n == 0 {
		t.Errorf("schema_migrations has %d rows, want %d", n, len(ms))
	}
	s.Close()

	// Reopening applies nothing twice, and a wider mode is tightened.
	os.Chmod(path, 0o644)
	s2, err := Open(context.Background(), Config{Path: path}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	s2.read.QueryRow(`SELECT COUNT(*) FROM schema_migrations`).Scan(&n)
	if n != len(ms) {
		t.Errorf("after reopen schema_migrations has %d rows, want %d", n, len(ms))
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("after reopen db file mode = %o, want 600", st.Mode().Perm())
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	s, path := openTest(t)
	if _, err := s.write.Exec(`INSERT INTO schema_migrations VALUES (999, 'future', 'x')`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err := Open(context.Background(), Config{Path: path}, zerolog.Nop())
	if err == nil || !strings.Contains(err.Error(), "schema version 999 is newer") {
		t.Fatalf("Open on a newer schema: err = %v", err)
	}
}

func TestOpenUnwritableFolder(t *testing.T) {
	if os.Geteuid() == 0 {
		// root ignores folder permissions; use a path under a regular file.
		f := filepath.Join(t.TempDir(), "file")
		os.WriteFile(f, nil, 0o600)
		_, err := Open(context.Background(), Config{Path: filepath.Join(f, "umsync.db")}, zerolog.Nop())
		if err == nil || !strings.Contains(err.Error(), "create folder") {
			t.Fatalf("err = %v, want create folder error", err)
		}
		return
	}
	dir := t.TempDir()
	os.Chmod(dir, 0o500)
	_, err := Open(context.Background(), Config{Path: filepath.Join(dir, "umsync.db")}, zerolog.Nop())
	if err == nil {
		t.Fatal("Open in a read-only folder succeeded")
	}
}

func testUser(anchor, sam string, now time.Time) ums.User {
	return ums.User{Anchor: anchor, DN: "CN=" + sam + ",OU=T,DC=example,DC=test", SAMAccountName: sam,
		GivenName: "Jürgen", Surname: "Müller", DisplayName: "Jürgen Müller", Mail: sam + "@example.test",
		Extension: "2041", Phone: "+4989123", FaxNumbers: []string{"+49891", "+49892"}, Enabled: true,
		State: ums.StateActive, FirstSeen: now, UpdatedAt: now}
}

func TestApplyCycleRoundTrip(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	now := time.Date(2026, 11, 22, 10, 0, 0, 123e6, time.UTC)
	a := testUser("aaaaaaaa-0000-0000-0000-000000000001", "alice", now)
	b := testUser("bbbbbbbb-0000-0000-0000-000000000002", "bob", now)
	b.State, b.Enabled, b.DeactivationReason, b.DeactivatedAt = ums.StateDeactivated, false, "disabled in directory", now
	b.FaxNumbers = nil
	applied, err := s.ApplyCycle(ctx, CycleWrite{Users: []*ums.User{&a, &b}, Run: Run{Mode: "full", StartedAt: now, Duration: 1500 * time.Millisecond,
		Read: 2, Created: 2, Result: ResultSuccess}})
	if err != nil || applied.RunID == 0 || len(applied.Stale) != 0 {
		t.Fatalf("ApplyCycle = %+v, %v", applied, err)
	}
	all, err := s.AllUsers(ctx)
	if err != nil || len(all) != 2 {
		t.Fatalf("AllUsers = %d users, %v", len(all), err)
	}
	for i, want := range []*ums.User{&a, &b} {
		got := all[i]
		if d := want.Diff(&got); len(d) != 0 {
			t.Errorf("user %s differs after round trip: %v", want.SAMAccountName, d)
		}
		if got.State != want.State || got.DeactivationReason != want.DeactivationReason ||
			!got.FirstSeen.Equal(want.FirstSeen) || !got.DeactivatedAt.Equal(want.DeactivatedAt) {
			t.Errorf("user %s lifecycle fields differ: %+v", want.SAMAccountName, got)
		}
	}

	// Update keeps first_seen.
	a2 := all[0] // at the version it was read
	a2.Mail = "alice2@example.test"
	a2.FirstSeen = now.Add(time.Hour) // must be ignored on update
	a2.UpdatedAt = now.Add(time.Hour)
	if _, err := s.ApplyCycle(ctx, CycleWrite{Users: []*ums.User{&a2}, Run: Run{Mode: "full", StartedAt: now.Add(time.Hour), Result: ResultSuccess}}); err != nil {
		t.Fatal(err)
	}
	got, err := s.User(ctx, "ALICE")
	if err != nil || got.Mail != "alice2@example.test" || !got.FirstSeen.Equal(now) {
		t.Fatalf("User(ALICE) = %+v, %v", got, err)
	}
	if got, err := s.User(ctx, b.Anchor); err != nil || got.SAMAccountName != "bob" {
		t.Fatalf("User(anchor) = %+v, %v", got, err)
	}
	if _, err := s.User(ctx, "nobody"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("User(nobody) err = %v, want ErrNotFound", err)
	}

	counts, _ := s.CountByState(ctx)
	if counts[ums.StateActive] != 1 || counts[ums.StateDeactivated] != 1 {
		t.Errorf("CountByState = %v", counts)
	}
	last, _ := s.LastSuccess(ctx)
	if !last.Equal(now.Add(time.Hour)) {
		t.Errorf("LastSuccess = %v, want %v", last, now.Add(time.Hour))
	}
	runs, _ := s.Runs(ctx, 10)
	if len(runs) != 2 || runs[0].StartedAt.Before(runs[1].StartedAt) || runs[1].Duration != 1500*time.Millisecond || runs[1].Created != 2 {
		t.Errorf("Runs = %+v", runs)
	}
}

func TestApplyCycleIsAtomic(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	now := time.Now()
	good := testUser("aaaaaaaa-0000-0000-0000-000000000001", "alice", now)
	bad := testUser("bbbbbbbb-0000-0000-0000-000000000002", "bob", now)
	bad.State = "weird"
	if _, err := s.ApplyCycle(ctx, CycleWrite{Users: []*ums.User{&good, &bad}, Run: Run{Mode: "full", StartedAt: now, Result: ResultSuccess}}); err == nil {
		t.Fatal("ApplyCycle with an invalid state succeeded")
	}
	all, _ := s.AllUsers(ctx)
	runs, _ := s.Runs(ctx, 10)
	if len(all) != 0 || len(runs) != 0 {
		t.Fatalf("a failed cycle left %d users and %d runs behind", len(all), len(runs))
	}
}

func TestListUsersSearch(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	now := time.Now()
	a := testUser("aaaaaaaa-0000-0000-0000-000000000001", "alice", now)
	b := testUser("bbbbbbbb-0000-0000-0000-000000000002", "bob", now)
	b.Surname, b.Extension, b.FaxNumbers = "Weiß", "3000", []string{"+4930777"}
	c := testUser("cccccccc-0000-0000-0000-000000000003", "carol_x", now)
	c.State, c.Surname = ums.StateDeactivated, "Groß"
	if _, err := s.ApplyCycle(ctx, CycleWrite{Users: []*ums.User{&a, &b, &c}, Run: Run{Mode: "full", StartedAt: now, Result: ResultSuccess}}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		f    UserFilter
		want string
	}{
		{UserFilter{}, "alice,bob,carol_x"},
		{UserFilter{Search: "weiß"}, "bob"},
		{UserFilter{Search: "3000"}, "bob"},
		{UserFilter{Search: "30777"}, "bob"},
		{UserFilter{Search: "_"}, "carol_x"}, // LIKE wildcard matched literally
		{UserFilter{Search: "%"}, ""},
		{UserFilter{State: ums.StateDeactivated}, "carol_x"},
		{UserFilter{Search: "ALICE@"}, "alice"},
	}
	for _, tt := range tests {
		got, err := s.ListUsers(ctx, tt.f)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, u := range got {
			names = append(names, u.SAMAccountName)
		}
		if strings.Join(names, ",") != tt.want {
			t.Errorf("ListUsers(%+v) = %v, want %s", tt.f, names, tt.want)
		}
	}
}

// Every cycle, even an idle delta, asks for the users whose retention ran
// out. Answered through the index on state alone, it read every deactivated
// row (15 ms of a 50 ms idle delta at 1,000 deactivated users).
func TestRetentionQueryUsesItsIndex(t *testing.T) {
	s, _ := openTest(t)
	rows, err := s.read.QueryContext(context.Background(), `EXPLAIN QUERY PLAN SELECT anchor FROM `+deactivatedBefore,
		string(ums.StateDeactivated), formatTime(time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	want := "SEARCH users USING INDEX users_state_deactivated_at (state=? AND deactivated_at>? AND deactivated_at<?)"
	if len(plan) != 1 || plan[0] != want {
		t.Errorf("query plan of the retention query:\n got %q\nwant %q", plan, want)
	}
}
