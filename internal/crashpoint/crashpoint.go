// Package crashpoint kills the process at a named point of its work, for
// the crash-convergence tests: run with UMSYNC_TEST_CRASH_AT=point:n, the
// process sends itself SIGKILL the nth time it reaches point. Without the
// variable, Hit costs a string comparison against "".
package crashpoint

import (
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
)

// Env is the variable a test sets on the process it runs.
const Env = "UMSYNC_TEST_CRASH_AT"

var (
	point string
	at    int64
	hits  atomic.Int64
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
	if point == "" || name != point {
		return
	}
	if hits.Add(1) == at {
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // SIGKILL is not handled: this never returns
	}
}
