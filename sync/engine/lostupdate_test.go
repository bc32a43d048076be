package engine_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/umsync/umsync/internal/crashpoint"
	"github.com/umsync/umsync/sync/engine"
	"github.com/umsync/umsync/ums"
)

// pauseAfterPlan runs fn once, the next time a cycle has planned and not
// yet applied: the window in which an admin's edit used to be lost.
func pauseAfterPlan(t *testing.T, fn func()) {
	t.Helper()
	done := false
	remove := crashpoint.OnHit("engine.planned", func() {
		if !done {
			done = true
			fn()
		}
	})
	t.Cleanup(remove)
}

// TestAdminEditDuringCycleSurvives: AD changes staff1's department; while
// a cycle that read it is between plan and apply, an admin sets staff1's
// mobile (queued for AD). The cycle does not write staff1 from its stale
// plan, says so, and the next cycle plans staff1 again from the fresh row:
// in the end store and AD have both the department from AD and the
// admin's mobile, and nothing bounces.
func TestAdminEditDuringCycleSurvives(t *testing.T) {
	for _, mode := range []engine.Mode{engine.ModeFull, engine.ModeDelta} {
		t.Run(string(mode), func(t *testing.T) {
			r := newRig(t)
			dns := r.seed(t)
			e := r.engine(t, nil)
			r.cycle(t, e)
			r.lab.Modify(t, dns["staff1"], "department", "Sales")
			const mobile = "+491725550777"
			pauseAfterPlan(t, func() {
				r.edit(t, "staff1", true, ums.FieldValue{Field: ums.FieldMobile, Value: mobile})
			})
			res, err := e.Cycle(context.Background(), engine.Options{Mode: mode})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Stale) != 1 || res.Stale[0].SAMAccountName != r.sam+"staff1" {
				t.Fatalf("stale users = %+v, want staff1", res.Stale)
			}
			u := r.users(t)["staff1"]
			if u.Mobile != mobile {
				t.Fatalf("store mobile = %q after the cycle: the admin's edit was overwritten", u.Mobile)
			}
			if v := metric(t, r.reg, "umsync_sync_replanned_total"); v != 1 {
				t.Errorf("replanned_total = %v, want 1", v)
			}
			// The next delta reads staff1 again (its USN is older than
			// the watermark now) and flushes the admin's write.
			r.delta(t, e)
			u = r.users(t)["staff1"]
			if u.Mobile != mobile || u.Department != "Sales" {
				t.Fatalf("store after the replan: mobile %q, department %q; want both changes", u.Mobile, u.Department)
			}
			for attr, want := range map[string]string{"mobile": mobile, "department": "Sales"} {
				if got := r.lab.Values(t, dns["staff1"], attr); !slices.Equal(got, []string{want}) {
					t.Errorf("AD %s = %v, want %s", attr, got, want)
				}
			}
			if replan, _ := r.store.Replan(context.Background()); len(replan) != 0 {
				t.Errorf("replan list = %v after the replan", replan)
			}
			if cs, _ := r.store.OpenConflicts(context.Background()); len(cs) != 0 {
				t.Errorf("conflicts = %+v: both changes touched different fields", cs)
			}
			// Nothing bounces: AD keeps the admin's value over more cycles.
			r.delta(t, e)
			r.cycle(t, e)
			if got := r.lab.Values(t, dns["staff1"], "mobile"); !slices.Equal(got, []string{mobile}) {
				t.Errorf("AD mobile = %v after more cycles", got)
			}
			if u := r.users(t)["staff1"]; u.Mobile != mobile || u.Department != "Sales" {
				t.Errorf("store after more cycles: mobile %q, department %q", u.Mobile, u.Department)
			}
		})
	}
}

// TestImportDuringCycleSurvives: an import committed between a cycle's
// plan and its apply (here: staff2's own settings overrides, which live in
// the store only) is not overwritten by the cycle; the next cycle (full:
// an import drops the watermark) brings AD's change as well.
func TestImportDuringCycleSurvives(t *testing.T) {
	r := newRig(t)
	dns := r.seed(t)
	e := r.engine(t, nil)
	r.cycle(t, e)
	r.lab.Modify(t, dns["staff2"], "department", "Support")
	const overrides = `{"rings":"6"}`
	pauseAfterPlan(t, func() {
		u := r.users(t)["staff2"]
		u.Overrides = overrides
		if _, err := r.store.ImportUsers(context.Background(), []ums.User{u}, false, false, "admin", time.Now()); err != nil {
			t.Fatal(err)
		}
	})
	res := r.delta(t, e)
	if len(res.Stale) != 1 || res.Stale[0].SAMAccountName != r.sam+"staff2" {
		t.Fatalf("stale users = %+v, want staff2", res.Stale)
	}
	if u := r.users(t)["staff2"]; u.Overrides != overrides {
		t.Fatalf("overrides = %q after the cycle: the import was overwritten", u.Overrides)
	}
	res, err := e.Cycle(context.Background(), engine.Options{Mode: engine.ModeDelta})
	if err != nil {
		t.Fatal(err)
	}
	if res.Run.Mode != string(engine.ModeFull) {
		t.Errorf("the cycle after an import ran %s, want full", res.Run.Mode)
	}
	if u := r.users(t)["staff2"]; u.Overrides != overrides || u.Department != "Support" {
		t.Errorf("staff2 = overrides %q, department %q; want the import's and AD's", u.Overrides, u.Department)
	}
}
