package engine

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/umsync/umsync/internal/logtest"
)

// every is a cron.Schedule firing every d.
type every time.Duration

func (d every) Next(t time.Time) time.Time { return t.Add(time.Duration(d)) }

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestSchedulerSurvivesAPanic: a cycle that panics is recovered and logged,
// and later cycles still run (with Recover outside SkipIfStillRunning the
// job would be skipped forever: robfig/cron#366).
func TestSchedulerSurvivesAPanic(t *testing.T) {
	var runs atomic.Int32
	var logs logtest.Buffer
	s := newScheduler(time.Second, zerolog.New(&logs), scheduled{every(20 * time.Millisecond), func(context.Context) {
		if runs.Add(1) == 1 {
			panic("boom")
		}
	}})
	s.Start()
	waitUntil(t, "three cycles ran after the panic", func() bool { return runs.Load() >= 4 })
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "boom") {
		t.Errorf("the panic was not logged:\n%s", logs.String())
	}
}

// TestSchedulerNeverOverlaps: while a cycle runs, due cycles are skipped.
// Stop cancels the running cycle's context and waits for it.
func TestSchedulerNeverOverlaps(t *testing.T) {
	var running, maxRunning, runs atomic.Int32
	var cancelled atomic.Bool
	s := newScheduler(5*time.Second, zerolog.Nop(), scheduled{every(5 * time.Millisecond), func(ctx context.Context) {
		n := running.Add(1)
		defer running.Add(-1)
		for {
			m := maxRunning.Load()
			if n <= m || maxRunning.CompareAndSwap(m, n) {
				break
			}
		}
		if runs.Add(1) == 3 {
			<-ctx.Done() // the third cycle runs until Stop
			cancelled.Store(true)
			return
		}
		time.Sleep(30 * time.Millisecond)
	}})
	s.Start()
	waitUntil(t, "the third cycle started", func() bool { return runs.Load() >= 3 })
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if !cancelled.Load() {
		t.Error("Stop returned before the running cycle saw its context cancelled")
	}
	if m := maxRunning.Load(); m != 1 {
		t.Errorf("%d cycles ran at once, want 1", m)
	}
}

// TestStopTimesOut: a cycle that ignores cancellation makes Stop give up
// after shutdown_timeout with an error instead of hanging.
func TestStopTimesOut(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	var started atomic.Bool
	s := newScheduler(50*time.Millisecond, zerolog.Nop(), scheduled{every(time.Hour), func(context.Context) {
		started.Store(true)
		<-release
	}})
	s.Start()
	waitUntil(t, "the start-up cycle runs", started.Load)
	err := s.Stop()
	if err == nil || !strings.Contains(err.Error(), "did not stop within shutdown_timeout") {
		t.Fatalf("Stop = %v, want a timeout error", err)
	}
}

// TestParseSchedule: CRON_TZ schedules fire in that zone; specs that make
// robfig/cron's parser panic come back as errors.
func TestParseSchedule(t *testing.T) {
	from := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		spec string
		next time.Time // zero: an error is expected
		err  string
	}{
		{spec: "CRON_TZ=Europe/Berlin 30 2 * * *", next: time.Date(2026, 11, 23, 1, 30, 0, 0, time.UTC)},
		{spec: "CRON_TZ=America/New_York 0 9 * * *", next: time.Date(2026, 11, 23, 14, 0, 0, 0, time.UTC)},
		{spec: "30 2 * * *", next: time.Date(2026, 11, 23, 2, 30, 0, 0, time.Local)},
		{spec: "@every 90s", next: from.Add(90 * time.Second)},
		{spec: "TZ=", err: "invalid cron spec"},
		{spec: "CRON_TZ=Mars/Olympus 0 * * * *", err: "unknown time zone"},
		{spec: "61 * * * *", err: "invalid cron spec"},
		{spec: "", err: "required"},
	} {
		t.Run(tt.spec, func(t *testing.T) {
			s, err := ParseSchedule(tt.spec)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := s.Next(from); !got.Equal(tt.next) {
				t.Errorf("Next(%v) = %v, want %v", from, got.UTC(), tt.next.UTC())
			}
		})
	}
}
