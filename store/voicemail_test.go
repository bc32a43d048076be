package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/umsync/umsync/ums"
)

// TestVoicemailLockAndUnlock: the third wrong PIN locks the box (settings
// vmlock=1, queued for the directory, audited); unlock clears the lock and
// the count.
func TestVoicemailLockAndUnlock(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	u := testUser("aaaaaaaa-0000-0000-0000-000000000001", "alice", now)
	u.Settings = "ums1;vm=phone_login_remote"
	if _, err := s.ApplyCycle(ctx, CycleWrite{Users: []*ums.User{&u}, Run: Run{Mode: "full", StartedAt: now, Result: ResultSuccess}}); err != nil {
		t.Fatal(err)
	}
	for i, want := range []bool{false, false, true} {
		locked, err := s.RecordPINFailure(ctx, u.Anchor, "ums", 3, true, now)
		if err != nil || locked != want {
			t.Fatalf("failure %d: locked %v, %v; want %v", i+1, locked, err, want)
		}
	}
	got, _ := s.User(ctx, u.Anchor)
	if got.Settings != "ums1;vm=phone_login_remote;vmlock=1" || got.BaseOf(ums.FieldSettings) != "ums1;vm=phone_login_remote" {
		t.Fatalf("after locking: settings %q base %q", got.Settings, got.BaseOf(ums.FieldSettings))
	}
	ws, _ := s.Writes(ctx, WritePending, 10)
	if len(ws) != 1 || ws[0].New != "ums1;vm=phone_login_remote;vmlock=1" || ws[0].Old != "ums1;vm=phone_login_remote" {
		t.Fatalf("queued writes = %+v", ws)
	}
	if err := s.UnlockVoicemail(ctx, u.Anchor, "admin", true, true, now); err != nil {
		t.Fatal(err)
	}
	if ms, _ := s.UserMails(ctx, u.Anchor); len(ms) != 1 || ms[0].Kind != ums.MailPIN || ms[0].State != MailQueued {
		t.Fatalf("mails after the unlock: %+v", ms)
	}
	got, _ = s.User(ctx, u.Anchor)
	ws, _ = s.Writes(ctx, WritePending, 10)
	if got.Settings != "ums1;vm=phone_login_remote" || len(ws) != 1 || ws[0].New != "ums1;vm=phone_login_remote" {
		t.Fatalf("after unlocking: settings %q writes %+v", got.Settings, ws)
	}
	// The count starts again from zero.
	if locked, _ := s.RecordPINFailure(ctx, u.Anchor, "ums", 3, true, now); locked {
		t.Error("locked after one failure following an unlock")
	}
	if _, err := s.RecordPINFailure(ctx, "ffffffff-0000-0000-0000-000000000000", "ums", 3, true, now); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown user: %v", err)
	}
}

// TestVoicemailLockDirection: lock and unlock change the store either way;
// they queue a directory write only when the settings field is written to
// the directory.
func TestVoicemailLockDirection(t *testing.T) {
	for _, toDirectory := range []bool{true, false} {
		s, _ := openTest(t)
		ctx := context.Background()
		now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
		u := testUser("aaaaaaaa-0000-0000-0000-000000000002", "bert", now)
		u.Settings = "ums1;vm=phone_login"
		if _, err := s.ApplyCycle(ctx, CycleWrite{Users: []*ums.User{&u}, Run: Run{Mode: "full", StartedAt: now, Result: ResultSuccess}}); err != nil {
			t.Fatal(err)
		}
		want := 0
		if toDirectory {
			want = 1
		}
		if locked, err := s.RecordPINFailure(ctx, u.Anchor, "ums", 1, toDirectory, now); !locked || err != nil {
			t.Fatalf("toDirectory %v: locked %v, %v", toDirectory, locked, err)
		}
		got, _ := s.User(ctx, u.Anchor)
		ws, _ := s.Writes(ctx, WritePending, 10)
		if got.Settings != "ums1;vm=phone_login;vmlock=1" || len(ws) != want {
			t.Errorf("toDirectory %v, locked: settings %q, writes %+v; want %d", toDirectory, got.Settings, ws, want)
		}
		if err := s.UnlockVoicemail(ctx, u.Anchor, "admin", false, toDirectory, now); err != nil {
			t.Fatal(err)
		}
		got, _ = s.User(ctx, u.Anchor)
		ws, _ = s.Writes(ctx, WritePending, 10)
		if got.Settings != "ums1;vm=phone_login" || len(ws) != want {
			t.Errorf("toDirectory %v, unlocked: settings %q, writes %+v; want %d", toDirectory, got.Settings, ws, want)
		}
	}
}
