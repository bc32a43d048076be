package engine

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"

	"github.com/umsync/umsync/sync/plan"
)

// fileShelf keeps a full cycle's planned users (plan.Shelf) in a file
// instead of memory: a first sync of 50,000 users held 1 KB of each
// until the cycle landed. Each action is one JSON record; the file is
// created 0600 in the store's folder and unlinked at once, so it is gone
// with the process whatever happens, and it holds nothing that is not in
// the store or the directory already (no secrets: they are never planned).
type fileShelf struct {
	f    *os.File
	w    *bufio.Writer
	offs []int64 // ref -> where its record starts; the next one's start ends it
	end  int64
}

// newFileShelf opens an unlinked file in dir ("" is os.TempDir).
func newFileShelf(dir string) (*fileShelf, error) {
	f, err := os.CreateTemp(dir, ".umsync-cycle-*") // 0600
	if err != nil {
		return nil, stageError(err)
	}
	if err := os.Remove(f.Name()); err != nil {
		f.Close()
		return nil, stageError(err)
	}
	return &fileShelf{f: f, w: bufio.NewWriterSize(f, 64<<10)}, nil
}

// stageError says what failed while staging, and that the disk is full
// when it is (the store shares that disk).
func stageError(err error) error {
	if errors.Is(err, syscall.ENOSPC) {
		return fmt.Errorf("stage the planned users: the disk is full: %w", err)
	}
	return fmt.Errorf("stage the planned users: %w", err)
}

// Put appends a's record.
func (s *fileShelf) Put(a *plan.Action) (int, error) {
	b, err := json.Marshal(a)
	if err != nil {
		return 0, err
	}
	if _, err := s.w.Write(b); err != nil {
		return 0, stageError(err)
	}
	s.offs = append(s.offs, s.end)
	s.end += int64(len(b))
	return len(s.offs) - 1, nil
}

// Get reads the record of ref back.
func (s *fileShelf) Get(ref int) (*plan.Action, error) {
	if s.w.Buffered() > 0 {
		if err := s.w.Flush(); err != nil {
			return nil, stageError(err)
		}
	}
	end := s.end
	if ref+1 < len(s.offs) {
		end = s.offs[ref+1]
	}
	b := make([]byte, end-s.offs[ref])
	if _, err := s.f.ReadAt(b, s.offs[ref]); err != nil && err != io.EOF {
		return nil, fmt.Errorf("read a staged user back: %w", err)
	}
	var a plan.Action
	if err := json.Unmarshal(b, &a); err != nil {
		return nil, fmt.Errorf("read a staged user back: %w", err)
	}
	return &a, nil
}

// Close removes the file (it has no name any more: closing frees it).
func (s *fileShelf) Close() error { return s.f.Close() }
