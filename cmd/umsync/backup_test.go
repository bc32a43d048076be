package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/rs/zerolog"

	"github.com/umsync/umsync/internal/crashpoint"
	"github.com/umsync/umsync/store"
)

// TestBackupPrivateFromBirth: `umsync backup` started under umask 022 and
// killed right after the copy is written leaves a file only its owner can
// read. A backup made world-readable and chmodded afterwards fails here.
func TestBackupPrivateFromBirth(t *testing.T) {
	t.Parallel()
	lab, ou := offlineLab(t)
	path := testConfig(t, lab, ou, cfgOpts{})
	cfg, err := loadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), cfg.Store, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	file := filepath.Join(t.TempDir(), "backup.db")
	cmd := exec.Command("/bin/sh", "-c", `umask 022 && exec "$0" "$@"`, os.Args[0], "backup", file, "--config", path)
	cmd.Env = append(os.Environ(), "UMSYNC_TEST_MAIN=1", crashpoint.Env+"=store.backup-written:1")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("the backup ended with %v, want SIGKILL at store.backup-written\n%s", err, out)
	}
	fi, err := os.Stat(file)
	if err != nil || fi.Size() == 0 {
		t.Fatalf("no copy written: %v", err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("the backup was left mode %o, want 600", fi.Mode().Perm())
	}
}
