package main

import (
	"math"
	"runtime/debug"
	"testing"
)

// TestTuneGC: umsync's GOGC and soft memory limit apply unless the
// environment sets its own (which the runtime has applied already).
func TestTuneGC(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(math.MaxInt64))
	gcPercentNow := func() int { p := debug.SetGCPercent(-1); debug.SetGCPercent(p); return p }
	for _, c := range []struct {
		name      string
		env       map[string]string
		wantGC    int
		wantLimit int64
	}{
		{"nothing set", nil, gcPercent, memoryLimit},
		{"GOGC set", map[string]string{"GOGC": "80"}, 80, memoryLimit},
		{"GOMEMLIMIT set", map[string]string{"GOMEMLIMIT": "1GiB"}, gcPercent, 1 << 30},
		{"both set", map[string]string{"GOGC": "80", "GOMEMLIMIT": "1GiB"}, 80, 1 << 30},
	} {
		t.Run(c.name, func(t *testing.T) {
			debug.SetGCPercent(80) // as the runtime left them from the environment
			debug.SetMemoryLimit(1 << 30)
			tuneGC(func(k string) string { return c.env[k] })
			if got := gcPercentNow(); got != c.wantGC {
				t.Errorf("GC percent = %d, want %d", got, c.wantGC)
			}
			if got := debug.SetMemoryLimit(-1); got != c.wantLimit {
				t.Errorf("memory limit = %d, want %d", got, c.wantLimit)
			}
		})
	}
}
