package engine_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"

	"github.com/umsync/umsync/directory"
	"github.com/umsync/umsync/internal/logtest"
	"github.com/umsync/umsync/store"
	"github.com/umsync/umsync/sync/engine"
	"github.com/umsync/umsync/sync/plan"
	"github.com/umsync/umsync/ums"
)

func (r *rig) delta(t *testing.T, e *engine.Engine) engine.Result {
	t.Helper()
	res, err := e.Cycle(context.Background(), engine.Options{Mode: engine.ModeDelta})
	if err != nil {
		t.Fatalf("delta cycle: %v", err)
	}
	if res.Run.Mode != string(engine.ModeDelta) {
		t.Fatalf("delta ran as %s: %s", res.Run.Mode, res.FullBecause)
	}
	return res
}

// TestDeltaReadsOnlyTheChanges: after a full cycle, a delta reads exactly
// the users modified in AD and changes exactly their rows; an idle delta
// reads nothing.
func TestDeltaReadsOnlyTheChanges(t *testing.T) {
	t.Parallel()
	for _, tracking := range []string{directory.TrackUSN, directory.TrackDirSync} {
		t.Run(tracking, func(t *testing.T) { testDeltaReadsOnlyTheChanges(t, tracking) })
	}
}

func testDeltaReadsOnlyTheChanges(t *testing.T, tracking string) {
	r := newRig(t)
	dns := r.seed(t)
	cfg := r.lab.Config(r.ou)
	cfg.ChangeTracking = tracking
	e := r.engine(t, &cfg)
	first, err := e.Cycle(context.Background(), engine.Options{Mode: engine.ModeDelta})
	if err != nil || first.Run.Mode != "full" || !strings.Contains(first.FullBecause, "no watermark") {
		t.Fatalf("first delta: mode %s (%q), %v", first.Run.Mode, first.FullBecause, err)
	}
	before := r.users(t)
	if res := r.delta(t, e); res.Run.Read != 0 || res.Plan.Len() != 0 {
		t.Fatalf("idle delta read %d, planned %d", res.Run.Read, res.Plan.Len())
	}
	r.lab.Modify(t, dns["staff1"], "department", "Einkauf")
	r.lab.Modify(t, dns["staff3"], "telephoneNumber", "+49 89 555-1")
	res := r.delta(t, e)
	if res.Run.Read != 2 || res.Run.Updated != 2 || res.Plan.Len() != 2 {
		t.Fatalf("delta = %+v", res.Run)
	}
	after := r.users(t)
	if after["staff1"].Department != "Einkauf" || after["staff3"].Phone != "+49895551" {
		t.Errorf("changed rows: staff1 %q, staff3 %q", after["staff1"].Department, after["staff3"].Phone)
	}
	for _, sam := range []string{"staff0", "staff2", "staff4"} {
		b, a := before[sam], after[sam]
		if d := b.Diff(&a); len(d) != 0 || !a.UpdatedAt.Equal(b.UpdatedAt) {
			t.Errorf("%s changed although AD did not: %v", sam, d)
		}
	}
	// Our own write of those changes does not come back (nothing twice).
	if res := r.delta(t, e); res.Run.Read != 0 {
		t.Errorf("the delta after read %d users again", res.Run.Read)
	}
	if v := metric(t, r.reg, "umsync_sync_runs_total", "mode", "delta", "result", "success"); v != 3 {
		t.Errorf("runs_total{delta,success} = %v", v)
	}
}

// TestLifecycle: disable, delete (a tombstone for a delta), move out of
// scope, rename + move inside scope and re-enable each reach the store —
// with a full cycle, a USN delta and a DirSync delta; moving back
// reactivates with the data intact.
func TestLifecycle(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"full", directory.TrackUSN, directory.TrackDirSync} {
		t.Run(mode, func(t *testing.T) { testLifecycle(t, mode) })
	}
}

func testLifecycle(t *testing.T, mode string) {
	r := newRig(t)
	dns := r.seed(t)
	outside := r.lab.OU(t)
	sub := r.lab.SubOU(t, r.ou, "Sales")
	cfg := r.lab.Config(r.ou)
	deletedReason := plan.ReasonDeleted
	if mode == "full" {
		deletedReason = plan.ReasonNotInScope // a full read does not see tombstones
	} else {
		cfg.ChangeTracking = mode
	}
	e := r.engine(t, &cfg)
	r.cycle(t, e)
	anchors := map[string]string{}
	for sam, u := range r.users(t) {
		anchors[sam] = u.Anchor
	}
	next := func() engine.Result {
		if mode == "full" {
			return r.cycle(t, e)
		}
		return r.delta(t, e)
	}

	r.lab.Modify(t, dns["staff0"], "userAccountControl", "514")
	r.lab.Delete(t, dns["staff1"])
	r.lab.Move(t, dns["staff2"], "CN=staff2", outside)
	moved := r.lab.Move(t, dns["staff3"], "CN=Staff Three", sub)
	r.lab.Modify(t, dns["staff4"], "userAccountControl", "512")
	res := next()
	got := r.users(t)
	want := map[string]struct {
		state  ums.State
		reason string
	}{
		"staff0": {ums.StateDeactivated, plan.ReasonDisabled},
		"staff1": {ums.StateDeactivated, deletedReason},
		"staff2": {ums.StateDeactivated, plan.ReasonNotInScope},
		"staff3": {ums.StateActive, ""},
		"staff4": {ums.StateActive, ""},
	}
	for sam, w := range want {
		u := got[sam]
		if u.State != w.state || u.DeactivationReason != w.reason || u.Anchor != anchors[sam] {
			t.Errorf("%s: state %s reason %q anchor %s, want %s %q %s", sam, u.State, u.DeactivationReason,
				u.Anchor, w.state, w.reason, anchors[sam])
		}
	}
	if len(got) != 5 {
		t.Errorf("%d users in the store, want 5 (deactivated, not deleted)", len(got))
	}
	if got["staff3"].DN != moved || got["staff3"].Mail != "staff3@example.test" {
		t.Errorf("staff3 = %q %q, want DN %q", got["staff3"].DN, got["staff3"].Mail, moved)
	}
	if res.Run.Deactivated != 3 || res.Run.Reactivated != 1 || res.Run.Updated != 1 {
		t.Errorf("run = %+v", res.Run)
	}

	r.lab.Move(t, "CN=staff2,"+outside, "CN=staff2", r.ou)
	r.lab.Modify(t, dns["staff0"], "userAccountControl", "512")
	res = next()
	got = r.users(t)
	for _, sam := range []string{"staff0", "staff2"} {
		if got[sam].State != ums.StateActive || got[sam].Mail != sam+"@example.test" || got[sam].Anchor != anchors[sam] {
			t.Errorf("%s after coming back = %+v", sam, got[sam])
		}
	}
	if res.Run.Reactivated != 2 || (mode != "full" && res.Run.Read != 2) {
		t.Errorf("run = %+v", res.Run)
	}
}

// setWatermark edits the stored watermark behind the store's back, as a DC
// swap or restore would make it look.
func (r *rig) setWatermark(t *testing.T, column, value string) {
	t.Helper()
	db, err := sql.Open("sqlite3", filepath.Join(r.dbDir, "umsync.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`UPDATE watermark SET `+column+` = ?`, value); err != nil {
		t.Fatal(err)
	}
}

// TestDeltaFallsBackToFull: another DC, a restored DC database, a changed
// scope or a watermark above the DC's USN each make a delta run full, with
// the reason; the full cycle still sees a change made meanwhile.
func TestDeltaFallsBackToFull(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	r.logs = &logtest.Buffer{}
	dns := r.seed(t)
	e := r.engine(t, nil)
	r.cycle(t, e)
	dc1, _, _ := r.store.Watermark(context.Background())
	for _, tt := range []struct{ column, value, reason string }{
		{"dc_service_name", "CN=NTDS Settings,CN=DC2,CN=Servers,CN=Default-First-Site-Name,CN=Sites,CN=Configuration,DC=example,DC=test", "the domain controller changed"},
		{"invocation_id", "00000000-0000-0000-0000-000000000001", "its database was restored"},
		{"scope", "0123456789abcdef", "the scope changed"},
		{"usn", "999999999", "is below the watermark"},
	} {
		r.setWatermark(t, tt.column, tt.value)
		r.lab.Modify(t, dns["staff2"], "department", tt.column)
		res, err := e.Cycle(context.Background(), engine.Options{Mode: engine.ModeDelta})
		if err != nil {
			t.Fatal(err)
		}
		if res.Run.Mode != "full" || !strings.Contains(res.FullBecause, tt.reason) {
			t.Errorf("%s: mode %s, reason %q, want full because %q", tt.column, res.Run.Mode, res.FullBecause, tt.reason)
		}
		if got := r.users(t)["staff2"].Department; got != tt.column {
			t.Errorf("%s: staff2 department %q after the full cycle", tt.column, got)
		}
		if res := r.delta(t, e); res.Run.Read != 0 {
			t.Errorf("%s: the delta after the full cycle read %d", tt.column, res.Run.Read)
		}
	}
	// The switch to another DC (a failover of directory.url) is logged
	// with both DCs.
	logs := r.logs.String()
	if !strings.Contains(logs, "running a full sync instead of a delta") ||
		!strings.Contains(logs, "the domain controller changed ("+dc1.ServiceName+", was CN=NTDS Settings,CN=DC2,") {
		t.Errorf("the DC switch is not logged with both DCs:\n%s", logs)
	}
	// Durations carry their unit, as in the metrics.
	if !strings.Contains(logs, `"duration_seconds":`) || !strings.Contains(logs, `"read_duration_seconds":`) {
		t.Errorf("sync finished has no duration_seconds:\n%s", logs)
	}
}

// TestSafetyStopAndOverride: a delta that would deactivate more users than
// allowed changes nothing (users, watermark), is recorded and counted, stops
// again next time, and is applied with AllowMassDeactivation.
func TestSafetyStopAndOverride(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	dns := r.seed(t)
	r.sync.MaxDeactivations, r.sync.MaxDeactivationPercent = 1, 0
	r.ums.Mail = true
	e := r.engine(t, nil)
	r.cycle(t, e)
	wm, _, _ := r.store.Watermark(context.Background())

	r.lab.Modify(t, dns["staff0"], "userAccountControl", "514")
	r.lab.Delete(t, dns["staff1"])
	for range 2 {
		_, err := e.Cycle(context.Background(), engine.Options{Mode: engine.ModeDelta})
		if !errors.Is(err, plan.ErrMassDeactivation) || !strings.Contains(err.Error(), "would deactivate 2 of 4 active users") {
			t.Fatalf("err = %v, want a mass deactivation stop", err)
		}
		for sam, u := range r.users(t) {
			if sam != "staff4" && u.State != ums.StateActive {
				t.Errorf("%s was deactivated although the cycle stopped", sam)
			}
		}
		if now, _, _ := r.store.Watermark(context.Background()); now.USN != wm.USN {
			t.Errorf("the watermark moved from %d to %d on a stopped cycle", wm.USN, now.USN)
		}
	}
	runs, _ := r.store.Runs(context.Background(), 1)
	if len(runs) != 1 || runs[0].Result != store.ResultStoppedSafety || runs[0].Deactivated != 2 ||
		!strings.Contains(runs[0].Error, "sync.max_deactivations (1)") {
		t.Errorf("last run = %+v", runs)
	}
	if v := metric(t, r.reg, "umsync_sync_safety_stops_total"); v != 2 {
		t.Errorf("safety_stops_total = %v", v)
	}
	// Two stops, one admin alert (at most one per cause per hour).
	ms, _ := r.store.Mails(context.Background(), "")
	var alerts []store.Mail
	for _, m := range ms {
		if m.Kind == ums.MailAlert {
			alerts = append(alerts, m)
		}
	}
	if len(alerts) != 1 || alerts[0].Cause != "safety" || !strings.Contains(alerts[0].Body, "deactivate 2 of 4 active users") ||
		!strings.Contains(alerts[0].Body, "umsync sync --allow-mass-deactivation") ||
		!strings.Contains(alerts[0].Body, "staff0 (Jörg Weiß0): disabled in directory") ||
		!strings.Contains(alerts[0].Body, "staff1 (Jörg Weiß1): deleted in directory") {
		t.Errorf("alerts after two safety stops (naming the users by sAMAccountName and display name): %+v", alerts)
	}
	if v := metric(t, r.reg, "umsync_sync_runs_total", "mode", "delta", "result", "stopped_safety"); v != 2 {
		t.Errorf("runs_total{delta,stopped_safety} = %v", v)
	}

	res, err := e.Cycle(context.Background(), engine.Options{Mode: engine.ModeDelta, AllowMassDeactivation: true})
	if err != nil || res.Run.Deactivated != 2 {
		t.Fatalf("override: %+v, %v", res.Run, err)
	}
	got := r.users(t)
	if got["staff0"].State != ums.StateDeactivated || got["staff1"].DeactivationReason != plan.ReasonDeleted {
		t.Errorf("after the override: staff0 %s, staff1 %q", got["staff0"].State, got["staff1"].DeactivationReason)
	}
}

// TestPurgeAfterRetention: a user deactivated longer than sync.retention is
// deleted from the store, logged and counted; others stay.
func TestPurgeAfterRetention(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	dns := r.seed(t)
	r.sync.Retention = 300 * time.Millisecond
	e := r.engine(t, nil)
	r.cycle(t, e) // staff4 is created deactivated (disabled)
	r.lab.Modify(t, dns["staff0"], "userAccountControl", "514")
	time.Sleep(400 * time.Millisecond)
	res := r.delta(t, e) // staff4's retention ran out; staff0 is deactivated now
	if res.Run.Purged != 1 || res.Run.Deactivated != 1 {
		t.Fatalf("run = %+v", res.Run)
	}
	got := r.users(t)
	if _, ok := got["staff4"]; ok || got["staff0"].State != ums.StateDeactivated || len(got) != 4 {
		t.Errorf("after purge: %d users, staff4 present %v, staff0 %s", len(got), ok, got["staff0"].State)
	}
	if v := metric(t, r.reg, "umsync_sync_changes_total", "kind", "purge"); v != 1 {
		t.Errorf("changes_total{purge} = %v", v)
	}
	runs, _ := r.store.Runs(context.Background(), 1)
	if runs[0].Purged != 1 {
		t.Errorf("run record purged = %d", runs[0].Purged)
	}
}
