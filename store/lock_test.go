package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestWriterLockIsExclusive: a second LockWriter on the same store fails
// at once, naming the holder and what to do; after Unlock it succeeds. The
// lock file is 0600.
func TestWriterLockIsExclusive(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", "umsync.db")
	first, err := LockWriter(path, "umsync serve")
	if err != nil {
		t.Fatal(err)
	}
	_, err = LockWriter(path, "umsync sync")
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second lock: %v, want ErrLocked", err)
	}
	for _, want := range []string{"umsync serve", fmt.Sprintf("pid %d", os.Getpid()), "sync --dry-run"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	st, err := os.Stat(LockPath(path))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("lock file: %v, %v; want mode 0600", st.Mode(), err)
	}
	if err := first.Unlock(); err != nil {
		t.Fatal(err)
	}
	again, err := LockWriter(path, "umsync sync")
	if err != nil {
		t.Fatalf("lock after unlock: %v", err)
	}
	again.Unlock()
}
