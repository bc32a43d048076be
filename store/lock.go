package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// WriterLock is the store's single-writer lock (DESIGN invariant 8): a
// lock file beside the database, held with flock(2) for the life of the
// process that syncs the store (`serve`, or a one-shot `sync`). The kernel
// releases it when that process dies, however it dies, so a crash leaves
// no stale lock behind. Admin commands and imports do not take it: they
// write beside the holder through SQLite's own locking and the row
// versions.
type WriterLock struct {
	f *os.File
}

// ErrLocked is returned by LockWriter when another process holds the lock.
var ErrLocked = errors.New("store is locked by another process")

// LockPath is the lock file of the database at path.
func LockPath(path string) string { return path + ".lock" }

// LockWriter takes the writer lock of the database at path for role (a
// word such as "umsync serve" that a refused process prints), or fails at
// once, naming the process that holds it.
func LockWriter(path, role string) (*WriterLock, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("store: create folder: %w", err)
	}
	lp := LockPath(path)
	f, err := os.OpenFile(lp, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store: lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder, _ := os.ReadFile(lp)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			who := strings.TrimSpace(string(holder))
			if who == "" {
				who = "another process"
			}
			return nil, fmt.Errorf("%w: %s holds %s; only one process may sync a store. "+
				"Stop it first (systemctl stop umsync), or run `umsync sync --dry-run`, which writes nothing",
				ErrLocked, who, lp)
		}
		return nil, fmt.Errorf("store: lock %s: %w", lp, err)
	}
	// Who holds it, for the message another process prints.
	if err := f.Truncate(0); err == nil {
		fmt.Fprintf(f, "%s (pid %d) since %s\n", role, os.Getpid(), time.Now().UTC().Format(time.RFC3339))
	}
	return &WriterLock{f: f}, nil
}

// Unlock releases the lock (closing the file releases the flock).
func (l *WriterLock) Unlock() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}
