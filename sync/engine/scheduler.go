package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/robfig/cron/v3"
	"github.com/rs/zerolog"
)

// Scheduler runs cycles on a cron schedule and once at start.
type Scheduler struct {
	cron    *cron.Cron
	job     cron.Job
	entry   cron.EntryID
	cancel  context.CancelFunc
	timeout time.Duration
	log     zerolog.Logger

	mu      sync.Mutex
	stopped bool
	wg      sync.WaitGroup // every run, the start-up one and cron's
}

// NewScheduler prepares (does not start) the schedules: deltas on
// sync.schedule, full cycles on sync.full_schedule. Each cycle gets a
// context that Stop cancels: cron itself cancels nothing.
func NewScheduler(cfg Config, e *Engine, log zerolog.Logger) (*Scheduler, error) {
	delta, err := ParseSchedule(cfg.Schedule)
	if err != nil {
		return nil, fmt.Errorf("sync.schedule: %w", err)
	}
	full, err := ParseSchedule(cfg.FullSchedule)
	if err != nil {
		return nil, fmt.Errorf("sync.full_schedule: %w", err)
	}
	log = log.With().Str("component", "scheduler").Logger()
	cycle := func(mode Mode) func(ctx context.Context) {
		return func(ctx context.Context) {
			_, err := e.Cycle(ctx, Options{Mode: mode})
			if errors.Is(err, ErrBusy) {
				log.Info().Str("mode", string(mode)).Msg("cycle skipped: another cycle is still running")
			}
		}
	}
	if cfg.Mode == ModeStaging {
		return newScheduler(cfg.ShutdownTimeout, log, scheduled{full, cycle(ModeFull)}), nil
	}
	return newScheduler(cfg.ShutdownTimeout, log,
		scheduled{delta, cycle(ModeDelta)}, scheduled{full, cycle(ModeFull)}), nil
}

// scheduled is a job and when it runs.
type scheduled struct {
	when cron.Schedule
	job  func(ctx context.Context)
}

// newScheduler runs the jobs on their schedules: a job never overlaps
// itself, and a panic is recovered and logged (and the next run still
// happens). The engine's own lock keeps a delta and a full cycle from
// running at once. Start runs the first job once at once.
func newScheduler(timeout time.Duration, log zerolog.Logger, jobs ...scheduled) *Scheduler {
	cl := cronLogger{log}
	s := &Scheduler{cron: cron.New(), timeout: timeout, log: log}
	var ctx context.Context
	ctx, s.cancel = context.WithCancel(context.Background())
	for i, j := range jobs {
		// Recover innermost: with Recover outside SkipIfStillRunning a
		// panicking job would be skipped forever (robfig/cron#366).
		wrapped := cron.NewChain(cron.SkipIfStillRunning(cl), cron.Recover(cl)).
			Then(cron.FuncJob(func() { j.job(ctx) }))
		job := cron.FuncJob(func() {
			s.mu.Lock()
			if s.stopped {
				s.mu.Unlock()
				return
			}
			s.wg.Add(1)
			s.mu.Unlock()
			defer s.wg.Done()
			wrapped.Run()
		})
		id := s.cron.Schedule(j.when, job)
		if i == 0 {
			s.job, s.entry = job, id
		}
	}
	return s
}

// Start runs one cycle now (in the background) and starts the schedule.
func (s *Scheduler) Start() {
	go s.job.Run()
	s.cron.Start()
	s.log.Info().Time("next_run", s.Next()).Msg("scheduler started")
}

// Next is when the schedule fires next.
func (s *Scheduler) Next() time.Time { return s.cron.Entry(s.entry).Next }

// Stop takes no more work, cancels the running cycle and waits for it, at
// most the configured shutdown timeout.
func (s *Scheduler) Stop() error {
	s.cron.Stop()
	s.mu.Lock()
	s.stopped = true
	s.mu.Unlock()
	s.cancel()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-time.After(s.timeout):
		return errors.New("scheduler: the running cycle did not stop within shutdown_timeout")
	}
}

// cronLogger adapts zerolog to cron.Logger.
type cronLogger struct{ log zerolog.Logger }

func (l cronLogger) Info(msg string, kv ...any) { l.log.Debug().Fields(kv).Msg(msg) }
func (l cronLogger) Error(err error, msg string, kv ...any) {
	l.log.Error().Err(err).Fields(kv).Msg(msg)
}
