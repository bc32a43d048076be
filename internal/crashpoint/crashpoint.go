// Package crashpoint marks named points of umsync's work for tests. It has
// two uses, both off unless a test turns them on:
//
//   - The crash-convergence tests run a process with
//     UMSYNC_TEST_CRASH_AT=point:n; it sends itself SIGKILL the nth time it
//     reaches point.
//   - An in-process test registers a function with OnHit; it runs when the
//     point is reached, on the goroutine that reached it. That orders a race
//     deterministically: a test pauses a cycle between its plan and its
//     apply and commits an admin edit there.
//
// Without either, Hit costs a comparison against "" and an atomic load.
package crashpoint

import (
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
)

// Env is the variable a test sets on the process it runs.
const Env = "UMSYNC_TEST_CRASH_AT"

var (
	point string
	at    int64
	hits  atomic.Int64

	hooksMu sync.Mutex
	hooks   atomic.Pointer[map[string]func()]
)

func init() {
	name, n, ok := strings.Cut(os.Getenv(Env), ":")
	if !ok {
		return
	}
	if v, err := strconv.ParseInt(n, 10, 64); err == nil && v > 0 {
		point, at = name, v
	}
}

// Hit marks that the process reached the named point.
func Hit(name string) {
	if m := hooks.Load(); m != nil {
		if fn := (*m)[name]; fn != nil {
			fn()
		}
	}
	if point == "" || name != point {
		return
	}
	if hits.Add(1) == at {
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // SIGKILL is not handled: this never returns
	}
}

// OnHit makes fn run each time name is hit, until the returned function
// removes it (a test calls that in t.Cleanup). For tests only.
func OnHit(name string, fn func()) (remove func()) {
	set := func(fn func()) {
		hooksMu.Lock()
		defer hooksMu.Unlock()
		m := map[string]func(){}
		if old := hooks.Load(); old != nil {
			for k, v := range *old {
				m[k] = v
			}
		}
		if fn == nil {
			delete(m, name)
		} else {
			m[name] = fn
		}
		if len(m) == 0 {
			hooks.Store(nil)
			return
		}
		hooks.Store(&m)
	}
	set(fn)
	return func() { set(nil) }
}
