package engine_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/umsync/umsync/internal/adlab"
	"github.com/umsync/umsync/sync/plan"
	"github.com/umsync/umsync/ums"
)

// TestExtensionPool: users without an extension get the lowest free number,
// never one the directory uses anywhere or another user holds; numbers are
// written to AD and stay put; an exhausted pool leaves a user without one
// (a problem and a metric) while the others sync; a released number rests
// in quarantine.
//
// The pool's numbers are below 2000: the numbers in use are read from the
// whole domain, and the demo's and the benchmark's seeded users hold
// 2000-9999 (a lab that ran make bench took every number 5000-5003).
func TestExtensionPool(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	outside := r.lab.OU(t)
	r.lab.AddUser(t, outside, adlab.User{Sam: r.sam + "phoneowner", Attrs: map[string][]string{"ipPhone": {"1500"}}})
	dns := r.lab.AddUsers(t, r.ou, r.sam+"ext", 3)
	r.lab.AddUser(t, r.ou, adlab.User{Sam: r.sam + "exthas", Attrs: map[string][]string{"ipPhone": {"1502"}}})
	r.ums.ExtensionRanges = []plan.Range{{From: 1500, To: 1503}}
	r.ums.ExtensionQuarantine = time.Hour
	e := r.engine(t, nil)
	r.cycle(t, e)
	got := r.users(t)
	if got["ext0"].Extension != "1501" || got["ext1"].Extension != "1503" || got["ext2"].Extension != "" ||
		got["exthas"].Extension != "1502" {
		t.Fatalf("extensions: ext0 %q ext1 %q ext2 %q exthas %q", got["ext0"].Extension, got["ext1"].Extension,
			got["ext2"].Extension, got["exthas"].Extension)
	}
	for i, want := range []string{"1501", "1503"} {
		if v := r.lab.Values(t, dns[i], "ipPhone"); !slices.Equal(v, []string{want}) {
			t.Errorf("AD ipPhone of ext%d = %v, want %s", i, v, want)
		}
	}
	problems := 0
	for name, u := range got {
		ps, err := r.store.Problems(context.Background(), u.Anchor)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range ps {
			if p.Field == ums.FieldExtension && p.Text == plan.ProblemPoolExhausted {
				problems++
				if name != "ext2" {
					t.Errorf("problem on %s", name)
				}
			}
		}
	}
	if problems != 1 || metric(t, r.reg, "umsync_extensions_users_without") != 1 || metric(t, r.reg, "umsync_extensions_free") != 0 {
		t.Errorf("problems %d, users_without %v, free %v", problems, metric(t, r.reg, "umsync_extensions_users_without"),
			metric(t, r.reg, "umsync_extensions_free"))
	}
	// Stable: the next cycles plan nothing for the numbers handed out.
	if res := r.delta(t, e); res.Plan.Len() != 0 {
		t.Errorf("the delta after the assignment planned %+v", res.Plan.Actions)
	}

	// ext1's number changes in AD: 1503 is released and rests.
	r.lab.Modify(t, dns[1], "ipPhone", "1599")
	r.delta(t, e)
	if res := r.cycle(t, e); r.users(t)["ext2"].Extension != "" {
		t.Fatalf("ext2 got %q while 1503 rests in quarantine (%+v)", r.users(t)["ext2"].Extension, res.Run)
	}
	r.ums.ExtensionQuarantine = 0
	e = r.engine(t, nil)
	r.cycle(t, e)
	if got := r.users(t)["ext2"].Extension; got != "1503" {
		t.Errorf("after the quarantine ext2 got %q, want 1503", got)
	}
}
