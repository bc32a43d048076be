package engine_test

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/umsync/umsync/directory"
	"github.com/umsync/umsync/internal/adlab"
	"github.com/umsync/umsync/store"
	"github.com/umsync/umsync/sync/engine"
	"github.com/umsync/umsync/ums"
)

// TestADFailsMidReadAndRestarts: the DC dies in the middle of a full
// sync's pages: the cycle fails cleanly at the read stage and nobody is
// deactivated; the next cycle succeeds. The DC stops and starts again
// between cycles: the next cycle redials and succeeds.
func TestADFailsMidReadAndRestarts(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	r.lab.AddUsers(t, r.ou, r.sam+"flt", 300)
	u, _ := url.Parse(r.lab.LDAPSURL)
	proxy := adlab.NewProxy(t, u.Host)
	cfg := r.lab.Config(r.ou)
	cfg.URL = directory.URLs{"ldaps://" + proxy.Addr()}
	cfg.PageSize, cfg.ReadConnections = 20, 1 // 15 pages on one connection
	e := r.engine(t, &cfg)
	if res := r.cycle(t, e); res.Run.Created != 300 {
		t.Fatalf("first cycle created %d", res.Run.Created)
	}
	active := func() int {
		n := 0
		for _, u := range r.users(t) {
			if u.State == ums.StateActive {
				n++
			}
		}
		return n
	}

	proxy.DropAfter(20 << 10) // a few pages in
	_, err := e.Cycle(context.Background(), engine.Options{Mode: engine.ModeFull})
	var se *engine.StageError
	if !errors.As(err, &se) || (se.Stage != engine.StageRead && se.Stage != engine.StageConnect) {
		t.Fatalf("cycle with the DC gone mid-read: %v, want a read (or connect) failure", err)
	}
	if msg := err.Error(); strings.HasPrefix(msg, se.Stage+": "+se.Stage+": ") {
		t.Errorf("the error names its stage twice: %s", msg)
	}
	if n := active(); n != 300 {
		t.Fatalf("%d users active after the failed read, want 300", n)
	}
	runs, _ := r.store.Runs(context.Background(), 1)
	if runs[0].Result != store.ResultFailed || runs[0].Deactivated != 0 {
		t.Errorf("the failed cycle's run: %+v", runs[0])
	}
	proxy.Heal()
	if res := r.cycle(t, e); res.Run.Deactivated != 0 || res.Run.Read != 300 {
		t.Fatalf("the cycle after: read %d, deactivated %d", res.Run.Read, res.Run.Deactivated)
	}

	// Stopped, then started between cycles.
	proxy.Down()
	if _, err := e.Cycle(context.Background(), engine.Options{Mode: engine.ModeDelta}); err == nil ||
		!strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("cycle while the DC is down: %v, want connection refused", err)
	}
	proxy.Up(t)
	if res := r.delta(t, e); res.Run.Deactivated != 0 {
		t.Fatalf("the delta after the restart deactivated %d", res.Run.Deactivated)
	}
	if n := active(); n != 300 {
		t.Errorf("%d active at the end, want 300", n)
	}
	if v := metric(t, r.reg, "umsync_sync_errors_total", "stage", "read") + metric(t, r.reg, "umsync_sync_errors_total", "stage", "connect"); v != 2 {
		t.Errorf("errors counted %v, want 2", v)
	}
}
