package engine_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"

	"github.com/umsync/umsync/directory"
	"github.com/umsync/umsync/internal/adlab"
	"github.com/umsync/umsync/internal/logtest"
	"github.com/umsync/umsync/store"
	"github.com/umsync/umsync/sync/engine"
	"github.com/umsync/umsync/sync/plan"
	"github.com/umsync/umsync/ums"
)

type rig struct {
	lab *adlab.Lab
	ou  string
	// sam prefixes the sAMAccountNames seed adds: they must be unique in
	// the domain, and tests run in parallel. users and edit drop it.
	sam   string
	store *store.Store
	reg   *prometheus.Registry
	dbDir string
	sync  engine.Config // safety limits off unless a test sets them
	ums   engine.UMSRules
	// logs, when set, also gets what the engine logs.
	logs *logtest.Buffer
}

func newRig(t *testing.T) *rig {
	t.Helper()
	lab := adlab.Require(t)
	r := &rig{lab: lab, ou: lab.OU(t), sam: adlab.SamPrefix(), reg: prometheus.NewRegistry(), dbDir: t.TempDir(), sync: engine.DefaultConfig(), ums: engine.UMSRules{
		ExtensionQuarantine: 30 * 24 * time.Hour, Limits: ums.Limits{ExtensionMin: 2, ExtensionMax: 4}}}
	r.sync.MaxDeactivations, r.sync.MaxDeactivationPercent = 0, 0
	st, err := store.Open(context.Background(), store.Config{Path: filepath.Join(r.dbDir, "umsync.db"), BusyTimeout: time.Second},
		zerolog.New(zerolog.NewTestWriter(t)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	r.store = st
	return r
}

// engine builds an engine over cfg (default: the rig's OU) with a fresh
// registry; each call is a new process as far as metrics go.
func (r *rig) engine(t *testing.T, cfg *directory.Config) *engine.Engine {
	t.Helper()
	if cfg == nil {
		c := r.lab.Config(r.ou)
		cfg = &c
	}
	dir, err := directory.New(*cfg, zerolog.New(zerolog.NewTestWriter(t)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dir.Close() })
	r.reg = prometheus.NewRegistry()
	var w io.Writer = zerolog.NewTestWriter(t)
	if r.logs != nil {
		w = io.MultiWriter(w, r.logs)
	}
	e := engine.New(r.sync, r.ums, dir, r.store, zerolog.New(w).Level(zerolog.DebugLevel), r.reg)
	if err := e.Restore(context.Background()); err != nil {
		t.Fatal(err)
	}
	return e
}

func (r *rig) cycle(t *testing.T, e *engine.Engine) engine.Result {
	t.Helper()
	res, err := e.Cycle(context.Background(), engine.Options{Mode: engine.ModeFull})
	if err != nil {
		t.Fatalf("cycle: %v", err)
	}
	return res
}

func (r *rig) users(t *testing.T) map[string]ums.User {
	t.Helper()
	all, err := r.store.AllUsers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]ums.User{}
	for _, u := range all {
		out[strings.TrimPrefix(u.SAMAccountName, r.sam)] = u
	}
	return out
}

func metric(t *testing.T, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, lp := range m.GetLabel() {
					if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
						found = true
					}
				}
				if !found {
					continue next
				}
			}
			switch {
			case m.Counter != nil:
				return m.Counter.GetValue()
			case m.Gauge != nil:
				return m.Gauge.GetValue()
			case m.Histogram != nil:
				return float64(m.Histogram.GetSampleCount())
			}
		}
	}
	t.Fatalf("metric %s%v not found", name, labels)
	return 0
}

// seed adds five users: staff0..staff3 enabled, staff4 disabled (CN
// staff0, sAMAccountName r.sam+"staff0"), and returns their DNs by CN.
func (r *rig) seed(t *testing.T) map[string]string {
	t.Helper()
	dns := map[string]string{}
	for i := range 5 {
		sam := fmt.Sprintf("staff%d", i)
		dns[sam] = r.lab.AddUser(t, r.ou, adlab.User{CN: sam, Sam: r.sam + sam, Given: "Jörg", Surname: fmt.Sprintf("Weiß%d", i),
			Disabled: i == 4, Attrs: map[string][]string{
				"mail": {sam + "@example.test"}, "ipPhone": {fmt.Sprint(3000 + i)},
				"facsimileTelephoneNumber": {fmt.Sprintf("089/1234-%d", i)},
			}})
	}
	return dns
}

func TestFullSyncCreatesExactlyTheSeededRows(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	dns := r.seed(t)
	e := r.engine(t, nil)
	res := r.cycle(t, e)
	if res.Run.Read != 5 || res.Run.Created != 5 || res.Run.Updated != 0 || res.Run.Result != store.ResultSuccess {
		t.Fatalf("run = %+v", res.Run)
	}
	got := r.users(t)
	if len(got) != 5 {
		t.Fatalf("store has %d users, want 5", len(got))
	}
	for i := range 5 {
		sam := fmt.Sprintf("staff%d", i)
		u := got[sam]
		wantState := ums.StateActive
		if i == 4 {
			wantState = ums.StateDeactivated
		}
		if u.Anchor != r.lab.GUID(t, dns[sam]) || u.DN != dns[sam] || u.GivenName != "Jörg" ||
			u.Surname != fmt.Sprintf("Weiß%d", i) || u.Mail != sam+"@example.test" || u.Extension != fmt.Sprint(3000+i) ||
			len(u.FaxNumbers) != 1 || u.FaxNumbers[0] != fmt.Sprintf("+49891234%d", i) ||
			u.State != wantState {
			t.Errorf("%s = %+v", sam, u)
		}
	}
	if got["staff4"].DeactivationReason != plan.ReasonDisabled {
		t.Errorf("staff4 reason = %q", got["staff4"].DeactivationReason)
	}
	if v := metric(t, r.reg, "umsync_sync_runs_total", "mode", "full", "result", "success"); v != 1 {
		t.Errorf("runs_total{success} = %v", v)
	}
	if v := metric(t, r.reg, "umsync_users", "state", "active"); v != 4 {
		t.Errorf("users{active} = %v", v)
	}
	if v := metric(t, r.reg, "umsync_users", "state", "deactivated"); v != 1 {
		t.Errorf("users{deactivated} = %v", v)
	}
	if v := metric(t, r.reg, "umsync_sync_entries_read_total"); v != 5 {
		t.Errorf("entries_read_total = %v", v)
	}
	if v := metric(t, r.reg, "umsync_sync_last_success_timestamp_seconds"); v < float64(time.Now().Add(-time.Minute).Unix()) {
		t.Errorf("last_success_timestamp = %v", v)
	}
	runs, _ := r.store.Runs(context.Background(), 10)
	if len(runs) != 1 || runs[0].Created != 5 || runs[0].Mode != "full" {
		t.Errorf("runs = %+v", runs)
	}
}

func TestModifiedUserChangesExactlyThatRow(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	dns := r.seed(t)
	e := r.engine(t, nil)
	r.cycle(t, e)
	before := r.users(t)

	r.lab.Modify(t, dns["staff2"], "mail", "staff2.new@example.test")
	res := r.cycle(t, e)
	if res.Run.Updated != 1 || res.Run.Unchanged != 4 || res.Run.Created+res.Run.Deactivated+res.Run.Reactivated != 0 {
		t.Fatalf("run = %+v", res.Run)
	}
	after := r.users(t)
	for sam, b := range before {
		a := after[sam]
		if sam == "staff2" {
			if a.Mail != "staff2.new@example.test" || !a.UpdatedAt.After(b.UpdatedAt) || !a.FirstSeen.Equal(b.FirstSeen) {
				t.Errorf("staff2 after = %+v", a)
			}
			continue
		}
		if d := b.Diff(&a); len(d) != 0 || !a.UpdatedAt.Equal(b.UpdatedAt) || a.State != b.State {
			t.Errorf("%s changed although AD did not: %v", sam, d)
		}
	}
	// A third cycle with no change in AD changes nothing.
	if res := r.cycle(t, e); res.Run.Unchanged != 5 || res.Plan.Len() != 0 {
		t.Errorf("idle cycle = %+v", res.Run)
	}
}

func closedAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func TestUnreachableDirectoryChangesNothing(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	r.seed(t)
	r.cycle(t, r.engine(t, nil))
	before := r.users(t)

	cfg := r.lab.Config(r.ou)
	cfg.URL = directory.URLs{"ldaps://" + closedAddr(t)}
	e := r.engine(t, &cfg)
	_, err := e.Cycle(context.Background(), engine.Options{Mode: engine.ModeFull})
	var se *engine.StageError
	if !errors.As(err, &se) || se.Stage != engine.StageConnect {
		t.Fatalf("err = %v, want a connect StageError", err)
	}
	after := r.users(t)
	for sam, b := range before {
		if after[sam].State != b.State {
			t.Errorf("%s changed state to %s on a failed cycle", sam, after[sam].State)
		}
	}
	runs, _ := r.store.Runs(context.Background(), 1)
	if len(runs) != 1 || runs[0].Result != store.ResultFailed || !strings.Contains(runs[0].Error, "connection refused") {
		t.Errorf("last run = %+v", runs)
	}
	if v := metric(t, r.reg, "umsync_sync_runs_total", "mode", "full", "result", "failed"); v != 1 {
		t.Errorf("runs_total{failed} = %v", v)
	}
	if v := metric(t, r.reg, "umsync_sync_errors_total", "stage", "connect"); v != 1 {
		t.Errorf("errors_total{connect} = %v", v)
	}
	// The engine remembers the last success from the store across restarts.
	if last := e.LastSuccess(); last.IsZero() || time.Since(last) > time.Minute {
		t.Errorf("LastSuccess after restart = %v", last)
	}
}

func TestZeroUsersReadIsRefused(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	r.seed(t)
	r.cycle(t, r.engine(t, nil))

	empty := r.lab.OU(t)
	cfg := r.lab.Config(empty)
	e := r.engine(t, &cfg)
	_, err := e.Cycle(context.Background(), engine.Options{Mode: engine.ModeFull})
	if !errors.Is(err, plan.ErrEmptyRead) {
		t.Fatalf("err = %v, want ErrEmptyRead", err)
	}
	for sam, u := range r.users(t) {
		if sam != "staff4" && u.State != ums.StateActive {
			t.Errorf("%s was deactivated by an empty read", sam)
		}
	}
	if v := metric(t, r.reg, "umsync_sync_errors_total", "stage", "plan"); v != 1 {
		t.Errorf("errors_total{plan} = %v", v)
	}
}

func TestDryRunChangesNothing(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	r.seed(t)
	e := r.engine(t, nil)
	res, err := e.Cycle(context.Background(), engine.Options{Mode: engine.ModeFull, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Plan.Count(plan.Create) != 5 {
		t.Errorf("dry run planned %d creates, want 5", res.Plan.Count(plan.Create))
	}
	if n := len(r.users(t)); n != 0 {
		t.Errorf("dry run wrote %d users", n)
	}
	if runs, _ := r.store.Runs(context.Background(), 10); len(runs) != 0 {
		t.Errorf("dry run recorded %d runs", len(runs))
	}
}

func TestMetricsLint(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	r.seed(t)
	r.cycle(t, r.engine(t, nil))
	problems, err := testutil.GatherAndLint(r.reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("metric lint: %s: %s", p.Metric, p.Text)
	}
	// Every label combination exists from the first scrape.
	for _, stage := range []string{"connect", "read", "plan", "apply"} {
		if v := metric(t, r.reg, "umsync_sync_errors_total", "stage", stage); v != 0 {
			t.Errorf("errors_total{%s} = %v after a good cycle", stage, v)
		}
	}
}
