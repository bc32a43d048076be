package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/umsync/umsync/internal/adlab"
	"github.com/umsync/umsync/internal/logtest"
	"github.com/umsync/umsync/sync/engine"
)

// TestFullSyncProgress: during a full read the bar counts users against
// the previous run's total, and the log reports progress at its interval.
func TestFullSyncProgress(t *testing.T) {
	t.Parallel()
	lab := adlab.Require(t)
	ou := lab.OU(t)
	lab.AddUsers(t, ou, adlab.SamPrefix()+"pg", 400)
	cfg, err := loadConfig(testConfig(t, lab, ou, cfgOpts{}))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Directory.PageSize, cfg.Directory.ReadConnections = 10, 1 // many round trips: a read that takes a while
	var logs logtest.Buffer
	p, err := wire(context.Background(), cfg, zerolog.New(&logs), prometheus.NewRegistry(), "")
	if err != nil {
		t.Fatal(err)
	}
	defer p.close()
	var bar logtest.Buffer
	stop := showProgress(&bar, p.engine, 400, time.Millisecond)
	res, err := p.engine.Cycle(context.Background(), engine.Options{Mode: engine.ModeFull, ProgressEvery: 5 * time.Millisecond})
	stop()
	if err != nil || res.Run.Read != 400 {
		t.Fatalf("cycle: read %d, %v", res.Run.Read, err)
	}
	if out := bar.String(); !strings.Contains(out, "reading AD") || !strings.Contains(out, "/400") || !strings.Contains(out, " users/") {
		t.Errorf("progress bar output:\n%q", out)
	}
	if !strings.Contains(logs.String(), `"message":"full sync in progress"`) || !strings.Contains(logs.String(), `"per_second":`) {
		t.Errorf("no progress in the log:\n%s", logs.String())
	}
	if n, running := p.engine.FullReadProgress(); running || n != 0 {
		t.Errorf("after the cycle: progress %d running %v", n, running)
	}
	if got := lastFullRead(context.Background(), p.store); got != 400 {
		t.Errorf("lastFullRead = %d, want 400", got)
	}
}
