package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/umsync/umsync/internal/adlab"
	"github.com/umsync/umsync/store"
)

// TestActionsWhileServeRuns: 200 CLI actions in a loop while serve runs a
// sync cycle every second and sends mails: none fails, none meets
// "database is locked", and every change is there afterwards. After every
// 50 actions the loop waits for a cycle to succeed, so cycles run between
// the actions, not only around them: at least 4 are recorded while the
// actions run. No write-back to AD fails.
func TestActionsWhileServeRuns(t *testing.T) {
	t.Parallel()
	lab := adlab.Require(t)
	ou := lab.OU(t)
	p := adlab.SamPrefix()
	for i := range 5 {
		lab.AddUser(t, ou, adlab.User{Sam: p + fmt.Sprintf("cc%d", i), Attrs: map[string][]string{
			"mail": {fmt.Sprintf("cc%d@example.test", i)}, "ipPhone": {fmt.Sprint(4200 + i)}}})
	}
	// Samba's schema has no extensionAttribute10 (Exchange's): the settings
	// are written to info, so that every write-back can succeed.
	path := testConfig(t, lab, ou, cfgOpts{schedule: "@every 1s", directory: "  attributes: {settings: info}\n", mail: `  transport: file
  from: "UMS <ums@example.test>"
  file: {dir: mail}
`})
	d := startTestDaemon(t, path, zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel))
	ctx := context.Background()
	lastRun := func() int64 {
		t.Helper()
		runs, err := d.parts.store.Runs(ctx, 1)
		if err != nil || len(runs) == 0 {
			t.Fatalf("runs: %v, %v", runs, err)
		}
		return runs[0].ID
	}
	before := lastRun()
	for i := range 200 {
		if i%50 == 49 { // make sure cycles run between the actions, not only around them
			waitForCycle(t, d, d.parts.engine.LastSuccess())
		}
		sam := p + fmt.Sprintf("cc%d", i%5)
		var args []string
		switch i % 4 {
		case 0:
			args = []string{"users", "set", sam, fmt.Sprintf("mobile=0171 555%04d", i)}
		case 1:
			args = []string{"users", "send-infomail", sam}
		case 2:
			args = []string{"users", "set", sam, fmt.Sprintf("rings=%d", 2+i%9)}
		default:
			args = []string{"users", "show", sam}
		}
		_, stderr, code := umsync(t, append(args, "--config", path)...)
		if code != exitOK || strings.Contains(stderr, "locked") {
			t.Fatalf("action %d %v: exit %d %s", i, args, code, stderr)
		}
	}
	after := lastRun()
	out, _, _ := umsync(t, "users", "show", p+"cc4", "--config", path, "--output", "json")
	if !strings.Contains(out, `"mobile": "+491715550184"`) {
		t.Errorf("the last mobile set for cc4 is not there:\n%s", out)
	}
	// The runs recorded while the actions ran (a run is recorded when its
	// cycle ends): the four waited for, and whatever else ran meanwhile.
	runs, err := d.parts.store.Runs(ctx, int(after-before)+100) // cycles go on meanwhile
	if err != nil {
		t.Fatal(err)
	}
	ok := 0
	for _, r := range runs {
		if r.ID > before && r.ID <= after && r.Result == store.ResultSuccess {
			ok++
		}
	}
	if ok < 4 {
		t.Errorf("only %d successful cycles were recorded during the actions (runs %d to %d), want at least 4", ok, before+1, after)
	}
	// The changes the actions queued for AD: none failed, none rejected.
	for _, status := range []string{store.WriteFailed, store.WriteRejected} {
		if ws, err := d.parts.store.Writes(ctx, status, 10); err != nil || len(ws) > 0 {
			t.Errorf("directory writes %s: %+v %v", status, ws, err)
		}
	}
}

// TestBackupWhileServeRuns: a backup taken while serve syncs every second
// is a consistent store: integrity_check ok, the same users, and umsync
// reads it.
func TestBackupWhileServeRuns(t *testing.T) {
	t.Parallel()
	lab := adlab.Require(t)
	ou := lab.OU(t)
	seedUsers(t, lab, ou, 3)
	path := testConfig(t, lab, ou, cfgOpts{schedule: "@every 1s"})
	startTestDaemon(t, path, zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel))
	file := filepath.Join(t.TempDir(), "backup.db")
	if out, stderr, code := umsync(t, "backup", file, "--config", path); code != exitOK || !strings.Contains(out, "store backed up to") {
		t.Fatalf("backup: exit %d %s %s", code, out, stderr)
	}
	if _, stderr, code := umsync(t, "backup", file, "--config", path); code != exitFailure || !strings.Contains(stderr, "exists") {
		t.Errorf("a second backup onto the same file: exit %d %s", code, stderr)
	}
	st, err := store.Open(context.Background(), store.Config{Path: file}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if res, err := st.IntegrityCheck(context.Background()); res != "ok" || err != nil {
		t.Errorf("integrity_check of the backup: %q %v", res, err)
	}
	if fi, _ := os.Stat(file); fi.Mode().Perm() != 0o600 {
		t.Errorf("backup mode %o", fi.Mode().Perm())
	}
	users, _ := st.AllUsers(context.Background())
	if len(users) != 3 {
		t.Errorf("the backup holds %d users, want 3", len(users))
	}
}

// TestOneWriterPerStore: while serve runs, a second serve and a one-shot
// sync refuse at once with exit 1, naming serve's PID and what to do; a
// dry run and the admin commands work beside it; once serve stops, sync
// runs.
func TestOneWriterPerStore(t *testing.T) {
	t.Parallel()
	lab := adlab.Require(t)
	ou := lab.OU(t)
	p := seedUsers(t, lab, ou, 3)
	path := testConfig(t, lab, ou, cfgOpts{})
	d := startTestDaemon(t, path, zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel))
	holder := fmt.Sprintf("umsync serve (pid %d)", os.Getpid())
	for _, args := range [][]string{{"sync"}, {"sync", "--full"}, {"serve"}} {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		var o, e bytes.Buffer
		code := run(ctx, append(args, "--config", path), &o, &e)
		cancel()
		if code != exitFailure || !strings.Contains(e.String(), holder) || !strings.Contains(e.String(), "sync --dry-run") {
			t.Errorf("umsync %v beside serve: exit %d, stderr %q; want 1 naming %q", args, code, e.String(), holder)
		}
	}
	for _, args := range [][]string{{"sync", "--dry-run"}, {"users", "list"}, {"users", "set", p + "cli1", "rings=5"}} {
		if _, stderr, code := umsync(t, append(args, "--config", path)...); code != exitOK {
			t.Errorf("umsync %v beside serve: exit %d: %s", args, code, stderr)
		}
	}
	if err := d.shutdown(); err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := umsync(t, "sync", "--config", path); code != exitOK {
		t.Errorf("sync after serve stopped: exit %d: %s", code, stderr)
	}
}
