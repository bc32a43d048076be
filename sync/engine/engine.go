package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/umsync/umsync/store"
	"github.com/umsync/umsync/sync/plan"
	"github.com/umsync/umsync/ums"
)

// Mode is the kind of cycle.
type Mode string

// ModeFull reads every user in scope and reconciles the whole store.
const ModeFull Mode = "full"

var changeKinds = []plan.Kind{plan.Create, plan.Update, plan.Reactivate, plan.Deactivate}

// Directory is what a cycle needs of the directory.
type Directory interface {
	Ping(ctx context.Context) error
	Users(ctx context.Context, fn func(ums.User) error, skip func(dn string, err error)) error
}

// Store is what a cycle needs of the store.
type Store interface {
	AllUsers(ctx context.Context) ([]ums.User, error)
	ApplyCycle(ctx context.Context, users []*ums.User, run store.Run) (int64, error)
	RecordRun(ctx context.Context, run store.Run) (int64, error)
	CountByState(ctx context.Context) (map[ums.State]int, error)
	LastSuccess(ctx context.Context) (time.Time, error)
}

// StageError is a failed cycle with the stage it failed in.
type StageError struct {
	Stage string
	Err   error
}

func (e *StageError) Error() string { return e.Stage + ": " + e.Err.Error() }
func (e *StageError) Unwrap() error { return e.Err }

// Engine runs sync cycles, one at a time.
type Engine struct {
	dir     Directory
	store   Store
	log     zerolog.Logger
	metrics *metrics
	now     func() time.Time

	running     sync.Mutex
	lastSuccess atomic.Int64 // Unix nanoseconds; 0 = never
}

// New builds an engine and loads the last successful run's time from the
// store, so readiness survives a restart.
func New(ctx context.Context, dir Directory, st Store, log zerolog.Logger, reg prometheus.Registerer) (*Engine, error) {
	e := &Engine{dir: dir, store: st, log: log.With().Str("component", "engine").Logger(),
		metrics: newMetrics(reg), now: time.Now}
	last, err := st.LastSuccess(ctx)
	if err != nil {
		return nil, err
	}
	if !last.IsZero() {
		e.lastSuccess.Store(last.UnixNano())
		e.metrics.lastSuccess.Set(float64(last.UnixNano()) / 1e9)
	}
	if err := e.refreshUserGauge(ctx); err != nil {
		return nil, err
	}
	return e, nil
}

// LastSuccess is when the last successful cycle ended; zero if never.
func (e *Engine) LastSuccess() time.Time {
	n := e.lastSuccess.Load()
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// Options select what a cycle does.
type Options struct {
	Mode   Mode
	DryRun bool // plan only: nothing is written, not even a run record
}

// Result is what a cycle did (or, for a dry run, would do).
type Result struct {
	Run  store.Run
	Plan *plan.Plan
}

// ErrBusy is returned when another cycle is running in this process.
var ErrBusy = errors.New("a sync cycle is already running")

// Cycle runs one cycle. A failure at any stage changes no user; it is
// recorded as a failed run (unless dry-run) and returned as a *StageError.
func (e *Engine) Cycle(ctx context.Context, opts Options) (Result, error) {
	if !e.running.TryLock() {
		return Result{}, ErrBusy
	}
	defer e.running.Unlock()
	if opts.Mode == "" {
		opts.Mode = ModeFull
	}
	start := e.now()
	res := Result{Run: store.Run{Mode: string(opts.Mode), StartedAt: start}}
	lc := e.log.With().Str("mode", string(opts.Mode))
	if opts.DryRun {
		lc = lc.Bool("dry_run", true)
	}
	log := lc.Logger()
	log.Debug().Msg("sync started")

	fail := func(stage string, err error) (Result, error) {
		err = &StageError{Stage: stage, Err: err}
		res.Run.Duration = e.now().Sub(start)
		res.Run.Result, res.Run.Error = ResultFailed, err.Error()
		if !opts.DryRun {
			e.metrics.runs.WithLabelValues(string(opts.Mode), ResultFailed).Inc()
			e.metrics.errors.WithLabelValues(stage).Inc()
			e.metrics.duration.WithLabelValues(string(opts.Mode)).Observe(res.Run.Duration.Seconds())
			// Record with a context of its own: a cancelled cycle is still
			// worth a record.
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			if _, rerr := e.store.RecordRun(rctx, res.Run); rerr != nil {
				log.Error().Err(rerr).Msg("could not record the failed run")
			}
		}
		log.Error().Err(err).Str("stage", stage).Dur("duration", res.Run.Duration).
			Msg("sync failed; nothing was changed")
		return res, err
	}

	if err := e.dir.Ping(ctx); err != nil {
		return fail(StageConnect, err)
	}
	stored, err := e.store.AllUsers(ctx)
	if err != nil {
		return fail(StageApply, err)
	}
	readStart := e.now()
	// Plan while reading: only changed users are kept. The directory
	// delivers a user twice when it changed during the read; the planner
	// keeps the later reading.
	planner := plan.NewFull(stored, start.UTC())
	read := 0
	err = e.dir.Users(ctx, func(u ums.User) error {
		read++
		planner.Add(u)
		return nil
	}, func(dn string, err error) {
		log.Warn().Str("dn", dn).Err(err).Msg("directory entry skipped")
	})
	e.metrics.entriesRead.Add(float64(read))
	if err != nil {
		return fail(StageRead, err)
	}
	readTook := e.now().Sub(readStart)
	p, err := planner.Finish()
	if err != nil {
		return fail(StagePlan, err)
	}
	stored = nil
	res.Plan = p
	res.Run.Read, res.Run.Unchanged = p.Read, p.Unchanged
	res.Run.Created, res.Run.Updated = p.Count(plan.Create), p.Count(plan.Update)
	res.Run.Reactivated, res.Run.Deactivated = p.Count(plan.Reactivate), p.Count(plan.Deactivate)
	if opts.DryRun {
		res.Run.Duration = e.now().Sub(start)
		res.Run.Result = ResultSuccess
		return res, nil
	}

	res.Run.Result = ResultSuccess
	applyStart := e.now()
	res.Run.Duration = applyStart.Sub(start)
	id, err := e.store.ApplyCycle(ctx, p.Users(), res.Run)
	applyTook := e.now().Sub(applyStart)
	if err != nil {
		res.Run.Result = ""
		return fail(StageApply, err)
	}
	res.Run.ID = id
	// The run record was written inside the transaction, before its commit;
	// what the caller, the metrics and the log get includes the apply.
	end := e.now()
	res.Run.Duration = end.Sub(start)
	e.lastSuccess.Store(end.UnixNano())

	e.logActions(log, p)
	e.metrics.runs.WithLabelValues(string(opts.Mode), ResultSuccess).Inc()
	e.metrics.duration.WithLabelValues(string(opts.Mode)).Observe(res.Run.Duration.Seconds())
	e.metrics.lastSuccess.Set(float64(end.UnixNano()) / 1e9)
	for _, k := range changeKinds {
		e.metrics.changes.WithLabelValues(string(k)).Add(float64(p.Count(k)))
	}
	if err := e.refreshUserGauge(ctx); err != nil {
		log.Warn().Err(err).Msg("could not count users for the users metric")
	}
	log.Info().Int64("run_id", id).Int("read", res.Run.Read).Int("created", res.Run.Created).
		Int("updated", res.Run.Updated).Int("reactivated", res.Run.Reactivated).
		Int("deactivated", res.Run.Deactivated).Int("unchanged", res.Run.Unchanged).
		Dur("duration", res.Run.Duration).Dur("read_duration", readTook).Dur("apply_duration", applyTook).
		Msg("sync finished")
	return res, nil
}

// logActions writes one event per user created, deactivated or
// reactivated, and the changed attributes at debug level.
func (e *Engine) logActions(log zerolog.Logger, p *plan.Plan) {
	for _, a := range p.Actions {
		u := a.After
		ev := log.Info()
		switch a.Kind {
		case plan.Create:
			ev = ev.Str("state", string(u.State))
			if u.State == ums.StateDeactivated {
				ev = ev.Str("reason", u.DeactivationReason)
			}
		case plan.Deactivate:
			ev = ev.Str("reason", u.DeactivationReason)
		case plan.Reactivate:
		default:
			ev = log.Debug()
		}
		ev = ev.Str("user_anchor", u.Anchor).Str("sam_account_name", u.SAMAccountName).Str("dn", u.DN)
		if log.GetLevel() <= zerolog.DebugLevel && len(a.Changes) > 0 {
			d := zerolog.Dict()
			for _, c := range a.Changes {
				d = d.Str(string(c.Field), fmt.Sprintf("%q -> %q", c.Old, c.New))
			}
			ev = ev.Dict("changes", d)
		}
		ev.Msg("user " + verb(a.Kind))
	}
}

func verb(k plan.Kind) string {
	switch k {
	case plan.Create:
		return "created"
	case plan.Update:
		return "updated"
	case plan.Reactivate:
		return "reactivated"
	default:
		return "deactivated"
	}
}

func (e *Engine) refreshUserGauge(ctx context.Context) error {
	counts, err := e.store.CountByState(ctx)
	if err != nil {
		return err
	}
	for _, s := range states {
		e.metrics.users.WithLabelValues(string(s)).Set(float64(counts[s]))
	}
	return nil
}
