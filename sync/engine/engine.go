package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/umsync/umsync/directory"
	"github.com/umsync/umsync/internal/crashpoint"
	"github.com/umsync/umsync/store"
	"github.com/umsync/umsync/sync/plan"
	"github.com/umsync/umsync/ums"
)

// Mode is the kind of cycle.
type Mode string

const (
	// ModeFull reads every user in scope and reconciles the whole store.
	ModeFull Mode = "full"
	// ModeDelta reads only what changed on the DC since the watermark. It
	// runs full instead when there is no usable watermark.
	ModeDelta Mode = "delta"
)

var changeKinds = []plan.Kind{plan.Create, plan.Update, plan.Reactivate, plan.Deactivate, plan.Purge}

// Directory is all the engine uses of the directory, by role: reading
// users (DirectoryReader), the facts the rules ask for (DirectoryFacts),
// writing back (DirectoryWriter).
type Directory interface {
	DirectoryReader
	DirectoryFacts
	DirectoryWriter
}

// Store is all the engine uses of the store, by role: where a cycle
// starts and lands (CycleStore), the stored users it plans against
// (UserStore), the projections the rules ask for (RuleStore), the
// directory write outbox (WriteOutbox), the counts it reports
// (StatusStore) and admin alerts (AlertQueue).
type Store interface {
	CycleStore
	UserStore
	RuleStore
	WriteOutbox
	StatusStore
	AlertQueue
}

// CycleStore is where a cycle starts from and where it lands.
type CycleStore interface {
	Watermark(ctx context.Context) (store.Watermark, bool, error)
	// Replan lists the users an earlier cycle could not write because
	// they changed while it ran.
	Replan(ctx context.Context) ([]string, error)
	// ApplyCycle writes a cycle in one transaction; users whose row
	// changed since they were read are skipped and reported stale.
	ApplyCycle(ctx context.Context, w store.CycleWrite) (store.Applied, error)
	RecordRun(ctx context.Context, run store.Run) (int64, error)
}

// StatusStore is what the engine reports besides cycles: the last
// success (for readiness after a restart) and the counts behind the gauges.
type StatusStore interface {
	LastSuccess(ctx context.Context) (time.Time, error)
	CountByState(ctx context.Context) (map[ums.State]int, error)
	CountLicenses(ctx context.Context) (map[ums.LicenseState]int, error)
	CountWrites(ctx context.Context) (map[string]int, error)
	CountOpenConflicts(ctx context.Context) (int, error)
}

// AlertQueue queues admin alert mails.
type AlertQueue interface {
	QueueAlert(ctx context.Context, cause, body string, now time.Time) (bool, error)
}

// directoryPorts and storePorts hold each role on its own, so that each
// step shows which one it uses.
type directoryPorts struct {
	read  DirectoryReader
	facts DirectoryFacts
	write DirectoryWriter
}

type storePorts struct {
	cycles CycleStore
	users  UserStore
	rules  RuleStore
	outbox WriteOutbox
	status StatusStore
	alerts AlertQueue
}

func directoryPortsOf(d Directory) directoryPorts {
	return directoryPorts{read: d, facts: d, write: d}
}

func storePortsOf(s Store) storePorts {
	return storePorts{cycles: s, users: s, rules: s, outbox: s, status: s, alerts: s}
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
	cfg     Config
	fields  plan.Rules
	ums     UMSRules
	dir     directoryPorts
	store   storePorts
	log     zerolog.Logger
	metrics *metrics
	now     func() time.Time

	running     sync.Mutex
	lastSuccess atomic.Int64 // Unix nanoseconds; 0 = never
	// readCount counts the entries of the running full read; -1 when none runs.
	readCount atomic.Int64
	// storeErr is why the last cycle could not write the store (nil after
	// a success): a full disk, a read-only folder.
	storeErr atomic.Pointer[error]
	// onPage, when set (tests only), is told after each page of a full
	// read how many full user rows the planner held for it: the page, its
	// stored rows and the actions the stream keeps in memory.
	onPage func(held int)
}

// StoreError is why the last cycle failed to write the store, nil if it
// did not (or a later one succeeded).
func (e *Engine) StoreError() error {
	if p := e.storeErr.Load(); p != nil {
		return *p
	}
	return nil
}

// New builds an engine; it does no I/O (see Restore).
func New(cfg Config, rules UMSRules, dir Directory, st Store, log zerolog.Logger, reg prometheus.Registerer) *Engine {
	e := &Engine{cfg: cfg, fields: cfg.FieldRules(), ums: rules, dir: directoryPortsOf(dir), store: storePortsOf(st), log: log.With().Str("component", "engine").Logger(),
		metrics: newMetrics(reg), now: time.Now}
	e.readCount.Store(-1)
	return e
}

// Reconfigure gives the engine a reloaded config, rules and directory
// client; it waits for a running cycle to end first.
func (e *Engine) Reconfigure(cfg Config, rules UMSRules, dir Directory) {
	e.running.Lock()
	defer e.running.Unlock()
	e.cfg, e.fields, e.ums, e.dir = cfg, cfg.FieldRules(), rules, directoryPortsOf(dir)
}

// FullReadProgress is how many entries the running full read has read;
// running is false when no full read runs.
func (e *Engine) FullReadProgress() (read int, running bool) {
	n := e.readCount.Load()
	return int(max(n, 0)), n >= 0
}

// logProgress logs a full read's progress every `every` until stop is
// closed: a 50,000-user read takes a while, and an admin watching the log
// wants to see it move.
func (e *Engine) logProgress(log zerolog.Logger, every time.Duration, start time.Time, stop <-chan struct{}) {
	if every <= 0 {
		every = DefaultProgressEvery
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			n, running := e.FullReadProgress()
			if !running {
				return
			}
			secs := time.Since(start).Seconds()
			log.Info().Int("read", n).Float64("per_second", math.Round(float64(n)/secs*10)/10).
				Float64("elapsed_seconds", secs).Msg("full sync in progress")
		}
	}
}

// Restore loads what a long-running engine reports before its first cycle:
// the last successful run (so readiness survives a restart) and the gauges.
// A one-shot `umsync sync` has no use for it and skips the queries.
func (e *Engine) Restore(ctx context.Context) error {
	last, err := e.store.status.LastSuccess(ctx)
	if err != nil {
		return err
	}
	if !last.IsZero() {
		e.lastSuccess.Store(last.UnixNano())
		e.metrics.lastSuccess.Set(float64(last.UnixNano()) / 1e9)
	}
	if _, err := e.refreshUserGauge(ctx); err != nil {
		return err
	}
	e.refreshOutboxGauges(ctx, e.log)
	return nil
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
	Mode   Mode // ModeDelta when empty
	DryRun bool // plan only: nothing is written, not even a run record
	// AllowMassDeactivation applies a plan that breaks the safety limits.
	AllowMassDeactivation bool
	// ProgressEvery is how often a full read logs its progress (0: every
	// 10 s; a terminal shows FullReadProgress as a bar instead).
	ProgressEvery time.Duration
	// Print, when set, gets the plan printed (plan.Plan.Write) before a
	// dry run returns: a full cycle's planned users are staged on a file
	// that lives only as long as the cycle, so Result.Plan has the counts
	// but cannot be walked afterwards.
	Print io.Writer
}

// DefaultProgressEvery is how often a long full read logs its progress.
const DefaultProgressEvery = 10 * time.Second

// Result is what a cycle did (or, for a dry run, would do).
type Result struct {
	Run store.Run
	// Plan is what the cycle planned: counts and the actions held in
	// memory; a full cycle's staged users cannot be walked after it
	// returns (see Options.Print).
	Plan *plan.Plan
	// FullBecause says why a delta ran as a full cycle ("" otherwise).
	FullBecause string
	// Stale are the planned users not written because they changed while
	// the cycle ran; the next cycle plans them again.
	Stale []ums.User
}

// ErrBusy is returned when another cycle is running in this process.
var ErrBusy = errors.New("a sync cycle is already running")

// Cycle runs one cycle: read the directory, gather the facts the rules
// need, plan (sync/plan decides), apply in one transaction. A failure at
// any stage changes no user; it is recorded as a failed run (unless
// dry-run) and returned as a *StageError. A plan that breaks the safety
// limits changes nothing either: it is recorded as stopped_safety and
// returned as an error wrapping plan.ErrMassDeactivation.
func (e *Engine) Cycle(ctx context.Context, opts Options) (Result, error) {
	if !e.running.TryLock() {
		return Result{}, ErrBusy
	}
	defer e.running.Unlock()
	c := e.newCycle(opts)
	defer c.close()
	if err := e.begin(ctx, c); err != nil {
		return e.fail(ctx, c, err)
	}
	if err := e.gather(ctx, c); err != nil {
		return e.fail(ctx, c, err)
	}
	if err := e.read(ctx, c); err != nil {
		return e.fail(ctx, c, err)
	}
	if err := e.plan(ctx, c); err != nil {
		return e.fail(ctx, c, err)
	}
	if err := e.checkSafety(ctx, c); err != nil {
		if errors.Is(err, plan.ErrMassDeactivation) {
			return c.res, err // recorded as stopped_safety
		}
		return e.fail(ctx, c, err)
	}
	if opts.DryRun {
		c.res.Run.Duration = e.now().Sub(c.start)
		c.res.Run.Result = ResultSuccess
		if opts.Print != nil {
			if err := c.p.Write(opts.Print); err != nil {
				return e.fail(ctx, c, staged(StageApply, err))
			}
		}
		return c.res, nil
	}
	applied, err := e.apply(ctx, c)
	if err != nil {
		return e.fail(ctx, c, err)
	}
	e.report(ctx, c, applied)
	return c.res, nil
}

// cycle is one run's state as it passes from step to step.
type cycle struct {
	opts    Options
	start   time.Time
	log     zerolog.Logger
	staging bool
	res     Result

	st     directory.ServerState
	wm     store.Watermark // the watermark the cycle starts from
	wmOK   bool            // false: none yet
	mode   Mode
	replan []string // users an earlier cycle could not write
	groups groups   // the group memberships the rules read

	read      readResult // until planned
	shelf     *fileShelf // a full cycle's staged users, until it ends
	pos       directory.Position
	p         *plan.Plan
	readTook  time.Duration
	applyTook time.Duration
}

// close frees what the cycle staged.
func (c *cycle) close() {
	if c.shelf != nil {
		c.shelf.Close()
	}
}

func (e *Engine) newCycle(opts Options) *cycle {
	if opts.Mode == "" {
		opts.Mode = ModeDelta
	}
	start := e.now()
	log := e.log
	if opts.DryRun {
		log = log.With().Bool("dry_run", true).Logger()
	}
	return &cycle{opts: opts, start: start, log: log, staging: e.cfg.Mode == ModeStaging,
		res: Result{Run: store.Run{Mode: string(opts.Mode), StartedAt: start}}}
}

// begin connects, reads the watermark and the replan list, and chooses
// between a delta and a full cycle.
func (e *Engine) begin(ctx context.Context, c *cycle) error {
	var err error
	if c.st, err = e.dir.read.State(ctx); err != nil {
		return staged(StageConnect, err)
	}
	if c.wm, c.wmOK, err = e.store.cycles.Watermark(ctx); err != nil {
		return staged(StageApply, err)
	}
	if c.mode, err = e.chooseMode(ctx, c.opts.Mode, c.st, c.wm, c.wmOK, &c.res, c.log); err != nil {
		return restaged(err)
	}
	c.res.Run.Mode = string(c.mode)
	c.log = c.log.With().Str("mode", string(c.mode)).Logger()
	c.log.Debug().Int64("highest_usn", c.st.HighestUSN).Int64("watermark", c.wm.USN).Msg("sync started")
	if c.replan, err = e.store.cycles.Replan(ctx); err != nil {
		return staged(StageApply, err)
	}
	return nil
}

// read reads the directory (every user, or what changed and the replan
// list) into the cycle's planner.
func (e *Engine) read(ctx context.Context, c *cycle) error {
	readStart := e.now()
	var err error
	if c.mode == ModeFull {
		e.readCount.Store(0)
		stop := make(chan struct{})
		go e.logProgress(c.log, c.opts.ProgressEvery, time.Now(), stop)
		c.read, err = e.readFull(ctx, c)
		close(stop)
		e.readCount.Store(-1)
	} else {
		c.read, err = e.readDelta(ctx, c)
	}
	e.metrics.entriesRead.Add(float64(c.read.read))
	if err != nil {
		return restaged(err)
	}
	c.readTook = e.now().Sub(readStart)
	return nil
}

// plan gathers the users whose retention ran out, finishes the plan and
// adds the UMS rules to it (applyRules: gather the facts, plan decides).
func (e *Engine) plan(ctx context.Context, c *cycle) error {
	r := c.read
	c.read = readResult{} // the plan holds what is left to write; let the rest go
	var (
		expired []ums.User
		cutoff  time.Time
		err     error
	)
	if e.cfg.Retention > 0 {
		cutoff = c.start.Add(-e.cfg.Retention)
		if expired, err = e.store.users.DeactivatedBefore(ctx, cutoff); err != nil {
			return staged(StageApply, err)
		}
	}
	crashpoint.Hit("engine.read")
	p, err := r.finish(expired, cutoff)
	if err != nil {
		return staged(StagePlan, err)
	}
	c.pos = r.pos
	if err := e.applyRules(ctx, c, p); err != nil {
		return restaged(err)
	}
	p.RecountUnchanged()
	crashpoint.Hit("engine.planned")
	c.p = p
	run := &c.res.Run
	c.res.Plan = p
	run.Read, run.Unchanged = p.Read, p.Unchanged
	run.Created, run.Updated = p.Count(plan.Create), p.Count(plan.Update)
	run.Reactivated, run.Deactivated = p.Count(plan.Reactivate), p.Count(plan.Deactivate)
	run.Purged = p.Count(plan.Purge)
	return nil
}

// checkSafety holds the plan against the safety limits. A plan that breaks
// them is recorded as stopped_safety, alerted and returned as an error
// wrapping plan.ErrMassDeactivation — unless the admin allowed it.
func (e *Engine) checkSafety(ctx context.Context, c *cycle) error {
	active, err := e.activeUsers(ctx, c.p)
	if err != nil {
		return staged(StageApply, err)
	}
	err = c.p.CheckSafety(active, e.limits())
	switch {
	case err == nil:
		return nil
	case c.opts.AllowMassDeactivation:
		c.log.Warn().Err(err).Msg("applying a mass deactivation on purpose (--allow-mass-deactivation)")
		return nil
	}
	if !c.opts.DryRun {
		e.metrics.safetyStops.Inc()
	}
	e.record(ctx, c, ResultStoppedSafety, err)
	e.alert(ctx, c.log, "safety", fmt.Sprintf("A sync cycle (%s) stopped by the safety limits: it would deactivate "+
		"%d of %d active users. Nothing was changed. %v\n%s\nCheck the directory; to apply it on purpose run: "+
		"umsync sync --allow-mass-deactivation", c.mode, c.res.Run.Deactivated, active, err,
		c.p.Deactivations(safetyAlertNames)), c.opts.DryRun)
	c.log.Error().Err(err).Int("deactivate", c.res.Run.Deactivated).Int("active", active).
		Msg("sync stopped by the safety limits; nothing was changed. Check the directory; to apply it on purpose run: umsync sync --allow-mass-deactivation")
	return err
}

// apply writes the plan, its outboxes, the run record and the new
// watermark in one transaction (store.ApplyCycle).
func (e *Engine) apply(ctx context.Context, c *cycle) (store.Applied, error) {
	p := c.p
	c.res.Run.Result = ResultSuccess
	applyStart := e.now()
	c.res.Run.Duration = applyStart.Sub(c.start)
	if c.staging {
		// A standby keeps its store current and records what it would do
		// (outboxOf leaves out directory writes and conflicts).
		var b strings.Builder
		p.Write(&b)
		c.res.Run.Plan = b.String()
	}
	mail := e.ums.Mail && !c.staging
	applied, err := e.store.cycles.ApplyCycle(ctx, store.CycleWrite{
		Planned: func(yield func(store.PlannedUser) error) error {
			return p.Each(func(a *plan.Action) error { return yield(plannedUser(a, c, e.ums.PasswordOnActivation, mail)) })
		},
		Run: c.res.Run, Replanned: c.replan, FindDuplicates: p.NumbersMoved(),
		WatermarkRead: watermarkRead(c.wm, c.wmOK), ImportEpoch: c.wm.ImportEpoch,
		Watermark: &store.Watermark{ServiceName: c.st.ServiceName, InvocationID: c.st.InvocationID,
			Scope: e.dir.read.Scope(), USN: c.pos.USN, Cookie: c.pos.Cookie, LicenseSeats: e.ums.LicenseSeats,
			Profiles: e.ums.profilesFingerprint(), UpdatedAt: c.start},
	})
	c.applyTook = e.now().Sub(applyStart)
	if err != nil {
		return applied, staged(StageApply, err)
	}
	return applied, nil
}

// report finishes a committed cycle: the result, the log of what changed,
// the directory writes it queued, the metrics and the license alert.
func (e *Engine) report(ctx context.Context, c *cycle, applied store.Applied) {
	p, log := c.p, c.log
	id := applied.RunID
	c.res.Run.ID = id
	if applied.WatermarkMoved {
		log.Info().Msg("the watermark was dropped while the cycle ran (an import): not moved on; the next cycle runs full")
	}
	c.res.Stale = applied.Stale
	crashpoint.Hit("engine.committed")
	// The run record was written inside the transaction, before its commit;
	// what the caller, the metrics and the log get includes the apply.
	end := e.now()
	c.res.Run.Duration = end.Sub(c.start)
	e.storeErr.Store(nil)
	// LastSuccess moves last: who waits on it (a test, the status page)
	// then finds the metrics and the log of this cycle.
	defer e.lastSuccess.Store(end.UnixNano())

	e.logActions(log, p, applied.Stale)
	if !c.staging {
		e.flushWrites(ctx, log)
	}
	e.metrics.runs.WithLabelValues(string(c.mode), ResultSuccess).Inc()
	e.metrics.duration.WithLabelValues(string(c.mode)).Observe(c.res.Run.Duration.Seconds())
	e.metrics.lastSuccess.Set(float64(end.UnixNano()) / 1e9)
	e.metrics.watermark.Set(float64(c.pos.USN))
	for _, k := range changeKinds {
		e.metrics.changes.WithLabelValues(string(k)).Add(float64(p.Count(k)))
	}
	if p.Len() > 0 { // an idle delta changes no count
		pending, err := e.refreshUserGauge(ctx)
		if err != nil {
			log.Warn().Err(err).Msg("could not count users for the users metric")
		}
		if pending > 0 && e.ums.LicenseSeats > 0 && !c.staging {
			e.alert(ctx, log, "license", fmt.Sprintf("More users are eligible for UMS than there are licenses: all %d seats "+
				"(license.seats) are used and %d users wait for one. See umsync license.", e.ums.LicenseSeats, pending), false)
		}
	}
	run := c.res.Run
	log.Info().Int64("run_id", id).Int("read", run.Read).Int("created", run.Created).
		Int("updated", run.Updated).Int("reactivated", run.Reactivated).
		Int("deactivated", run.Deactivated).Int("purged", run.Purged).Int("unchanged", run.Unchanged).
		Int64("watermark", c.pos.USN).
		Float64("duration_seconds", run.Duration.Seconds()).Float64("read_duration_seconds", c.readTook.Seconds()).
		Float64("apply_duration_seconds", c.applyTook.Seconds()).
		Msg("sync finished")
}

// record sets the run's result and, unless dry-run, counts it and writes
// the run record.
func (e *Engine) record(ctx context.Context, c *cycle, result string, err error) {
	c.res.Run.Duration = e.now().Sub(c.start)
	c.res.Run.Result, c.res.Run.Error = result, err.Error()
	if c.opts.DryRun {
		return
	}
	e.metrics.runs.WithLabelValues(c.res.Run.Mode, result).Inc()
	e.metrics.duration.WithLabelValues(c.res.Run.Mode).Observe(c.res.Run.Duration.Seconds())
	// Record with a context of its own: a cancelled cycle is still worth a
	// record.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if _, rerr := e.store.cycles.RecordRun(rctx, c.res.Run); rerr != nil {
		c.log.Error().Err(rerr).Msg("could not record the run")
	}
}

// fail records a cycle that failed with err, a *StageError, and returns it.
func (e *Engine) fail(ctx context.Context, c *cycle, err error) (Result, error) {
	stage := stageOf(err)
	if !c.opts.DryRun {
		e.metrics.errors.WithLabelValues(stage).Inc()
		if stage == StageApply {
			e.storeErr.Store(&err)
		}
	}
	e.record(ctx, c, ResultFailed, err)
	c.log.Error().Err(err).Str("mode", c.res.Run.Mode).Str("stage", stage).Float64("duration_seconds", c.res.Run.Duration.Seconds()).
		Msg("sync failed; nothing was changed")
	return c.res, err
}

// safetyAlertNames is how many users a safety alert names.
const safetyAlertNames = 20

// watermarkRead is the watermark a cycle started from, nil for none.
func watermarkRead(wm store.Watermark, ok bool) *store.Watermark {
	if !ok {
		return nil
	}
	return &wm
}

// stageOf is the stage of a *StageError, or apply (the store) otherwise.
func stageOf(err error) string {
	var se *StageError
	if errors.As(err, &se) {
		return se.Stage
	}
	return StageApply
}

// restaged is a step's error as a *StageError: as it is when it already
// is one (wrapping it again named the stage twice: "read: read: …"), else
// failed in apply (the store).
func restaged(err error) error {
	var se *StageError
	if errors.As(err, &se) {
		return err
	}
	return &StageError{Stage: StageApply, Err: err}
}

// staged marks err as failed in stage (nil stays nil).
func staged(stage string, err error) error {
	if err == nil {
		return nil
	}
	return &StageError{Stage: stage, Err: err}
}

// chooseMode decides between a delta and a full cycle: a delta needs a
// usable watermark (same DC, database and scope) and an unchanged scope
// group; otherwise res.FullBecause says why it runs full.
func (e *Engine) chooseMode(ctx context.Context, want Mode, st directory.ServerState, wm store.Watermark, ok bool,
	res *Result, log zerolog.Logger) (Mode, error) {
	if e.cfg.Mode == ModeStaging && want != ModeFull {
		res.FullBecause = "sync.mode is staging: full cycles only"
		return ModeFull, nil
	}
	if want != ModeDelta {
		return want, nil
	}
	res.FullBecause = deltaUnusable(wm, ok, st, e.dir.read.Scope())
	if res.FullBecause == "" {
		changed, err := e.dir.read.ScopeGroupChanged(ctx, st, wm.USN)
		if err != nil {
			return "", staged(StageRead, err)
		}
		if changed {
			res.FullBecause = "the membership of the scope group (or a group nested in it) changed"
		}
	}
	if res.FullBecause != "" {
		log.Info().Str("reason", res.FullBecause).Msg("running a full sync instead of a delta")
		return ModeFull, nil
	}
	return ModeDelta, nil
}

// plannedUser is what the store writes for one action: the row (or its
// purge), its problems, its outbox — directory writes and conflicts as
// planned, the fields on which both sides agree again, the extension
// numbers given back — and, when mail is on, the mails it makes due. A
// standby (staging) writes nothing to the directory and leaves conflicts
// to the active server.
func plannedUser(a *plan.Action, c *cycle, password, mail bool) store.PlannedUser {
	pu := store.PlannedUser{User: &a.After, Purge: a.Kind == plan.Purge, Problems: a.Problems,
		Outbox: store.UserOutbox{Anchor: a.After.Anchor, Settled: a.Settled, Released: a.Released()}}
	if !c.staging {
		pu.Outbox.Writes, pu.Outbox.Conflicts = a.Writes, a.Conflicts
	}
	if mail {
		for _, m := range a.Mails(password, c.start) {
			pu.Mails = append(pu.Mails, store.Mail{Key: m.Key, Kind: m.Kind, Anchor: m.Anchor})
		}
	}
	return pu
}

func (e *Engine) limits() plan.Limits {
	return plan.Limits{MaxDeactivations: e.cfg.MaxDeactivations, MaxPercent: e.cfg.MaxDeactivationPercent}
}

// deltaUnusable says why a delta cannot run from watermark w against the DC
// state st and the current scope; "" when it can.
func deltaUnusable(w store.Watermark, ok bool, st directory.ServerState, scope string) string {
	switch {
	case !ok:
		return "no watermark yet (first sync)"
	case w.ServiceName != st.ServiceName:
		return fmt.Sprintf("the domain controller changed (%s, was %s): USNs are per DC", st.ServiceName, w.ServiceName)
	case w.InvocationID != st.InvocationID:
		return fmt.Sprintf("the DC's invocationId changed (%s, was %s): its database was restored", st.InvocationID, w.InvocationID)
	case w.Scope != scope:
		return "the scope changed (base_dns, user_filter or attributes)"
	case st.HighestUSN < w.USN:
		return fmt.Sprintf("the DC's highestCommittedUSN %d is below the watermark %d", st.HighestUSN, w.USN)
	}
	return ""
}

// logActions writes one event per user created, deactivated or
// reactivated, and the changed attributes at debug level; a stale user (not
// written: it changed while the cycle ran) gets one event saying so.
func (e *Engine) logActions(log zerolog.Logger, p *plan.Plan, stale []ums.User) {
	skip := make(map[string]bool, len(stale))
	for _, u := range stale {
		skip[u.Anchor] = true
		e.metrics.replanned.Inc()
		log.Info().Str("user_anchor", u.Anchor).Str("sam_account_name", u.SAMAccountName).
			Msg("user changed in the store while the cycle ran (an admin edit or an import): not written; the next cycle plans it again from the fresh row")
	}
	err := p.Each(func(a *plan.Action) error {
		if !skip[a.After.Anchor] {
			e.logAction(log, a)
		}
		return nil
	})
	if err != nil {
		log.Error().Err(err).Msg("could not read the planned users back to log them (the cycle landed)")
	}
}

// logAction logs what happened to one user.
func (e *Engine) logAction(log zerolog.Logger, a *plan.Action) {
	u := &a.After
	ev := log.Info()
	switch a.Kind {
	case plan.Create:
		ev = ev.Str("state", string(u.State))
		if u.State == ums.StateDeactivated {
			ev = ev.Str("reason", u.DeactivationReason)
		}
	case plan.Deactivate:
		ev = ev.Str("reason", u.DeactivationReason)
	case plan.Purge:
		ev = ev.Time("deactivated_at", u.DeactivatedAt)
	case plan.Reactivate:
	default:
		ev = log.Debug()
	}
	for _, p := range a.Problems {
		log.Warn().Str("user_anchor", u.Anchor).Str("sam_account_name", u.SAMAccountName).
			Str("field", string(p.Field)).Str("problem", p.Text).Msg("user problem")
	}
	if a.License != "" {
		lev := log.Info()
		if e.ums.LicenseSeats <= 0 {
			lev = log.Debug() // without a cap every active user has one: nothing to explain
		}
		lev.Str("user_anchor", u.Anchor).Str("sam_account_name", u.SAMAccountName).
			Str("license", string(u.License)).Str("reason", a.License).Msg("license " + licenseVerb(u.License))
	}
	for _, c := range a.Conflicts {
		log.Warn().Str("user_anchor", u.Anchor).Str("sam_account_name", u.SAMAccountName).
			Str("field", string(c.Field)).Str("directory_value", c.Directory).Str("store_value", c.Store).
			Msg("conflict recorded: changed differently in the directory and in umsync; see umsync conflicts list")
	}
	ev = ev.Str("user_anchor", u.Anchor).Str("sam_account_name", u.SAMAccountName).Str("dn", u.DN)
	// Debug().Enabled, not GetLevel: serve's level is a sampler a reload
	// changes, and the logger's own level stays at debug.
	if len(a.Changes) > 0 && log.Debug().Enabled() {
		d := zerolog.Dict()
		for _, c := range a.Changes {
			d = d.Str(string(c.Field), fmt.Sprintf("%q -> %q", c.Old, c.New))
		}
		ev = ev.Dict("changes", d)
	}
	ev.Msg("user " + verb(a.Kind))
}

func licenseVerb(l ums.LicenseState) string {
	switch l {
	case ums.LicenseActive:
		return "granted"
	case ums.LicensePending:
		return "pending"
	}
	return "released"
}

func verb(k plan.Kind) string {
	switch k {
	case plan.Create:
		return "created"
	case plan.Update:
		return "updated"
	case plan.Reactivate:
		return "reactivated"
	case plan.Purge:
		return "purged"
	default:
		return "deactivated"
	}
}

// refreshUserGauge sets the user and license gauges; it returns how many
// users wait for a seat.
func (e *Engine) refreshUserGauge(ctx context.Context) (pending int, err error) {
	counts, err := e.store.status.CountByState(ctx)
	if err != nil {
		return 0, err
	}
	for _, s := range states {
		e.metrics.users.WithLabelValues(string(s)).Set(float64(counts[s]))
	}
	lic, err := e.store.status.CountLicenses(ctx)
	if err != nil {
		return 0, err
	}
	e.metrics.licenseSeats.Set(float64(e.ums.LicenseSeats))
	e.metrics.licenseUsed.Set(float64(lic[ums.LicenseActive]))
	e.metrics.licensePending.Set(float64(lic[ums.LicensePending]))
	return lic[ums.LicensePending], nil
}

// alert queues an admin alert mail for cause (at most one per cause per
// store.AlertInterval), when mail is configured.
func (e *Engine) alert(ctx context.Context, log zerolog.Logger, cause, body string, dryRun bool) {
	if !e.ums.Mail || dryRun {
		return
	}
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	queued, err := e.store.alerts.QueueAlert(actx, cause, body, e.now())
	if err != nil {
		log.Error().Err(err).Str("cause", cause).Msg("could not queue the admin alert mail")
		return
	}
	if queued {
		log.Info().Str("cause", cause).Msg("admin alert mail queued")
	}
}
