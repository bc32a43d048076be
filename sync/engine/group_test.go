package engine_test

import (
	"context"
	"strings"
	"testing"

	"github.com/umsync/umsync/sync/engine"
	"github.com/umsync/umsync/ums"
)

// TestScopeGroupNestedMembership: with a scope group only its members are
// users, nested groups included; adding a member to a nested group or
// removing one from the scope group takes effect on the next delta.
func TestScopeGroupNestedMembership(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	dns := r.seed(t)
	inner := r.lab.AddGroup(t, r.ou, "UMS Fax", dns["staff1"])
	outer := r.lab.AddGroup(t, r.ou, "UMS Users", dns["staff0"], inner)
	cfg := r.lab.Config(r.ou)
	cfg.ScopeGroupDN = outer
	e := r.engine(t, &cfg)
	r.cycle(t, e)
	got := r.users(t)
	if len(got) != 2 || got["staff0"].State != ums.StateActive || got["staff1"].State != ums.StateActive {
		t.Fatalf("in scope: %v, want staff0 (direct) and staff1 (nested)", keys(got))
	}

	r.lab.AddMembers(t, inner, dns["staff2"])
	res, err := e.Cycle(context.Background(), engine.Options{Mode: engine.ModeDelta})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(res.FullBecause, "membership of the scope group") || res.Run.Created != 1 {
		t.Errorf("after adding a nested member: %q, run %+v", res.FullBecause, res.Run)
	}
	if r.users(t)["staff2"].State != ums.StateActive {
		t.Errorf("staff2 (added to the nested group) is not active")
	}

	r.lab.RemoveMembers(t, outer, dns["staff0"])
	if _, err := e.Cycle(context.Background(), engine.Options{Mode: engine.ModeDelta}); err != nil {
		t.Fatal(err)
	}
	if u := r.users(t)["staff0"]; u.State != ums.StateDeactivated || u.DeactivationReason != "not found in directory scope" {
		t.Errorf("staff0 removed from the group: %s %q", u.State, u.DeactivationReason)
	}

	// A change that is not about membership stays a delta.
	r.lab.Modify(t, dns["staff1"], "department", "Technik")
	if res := r.delta(t, e); res.Run.Updated != 1 || res.Run.Read != 1 {
		t.Errorf("plain change under a scope group: %+v", res.Run)
	}
	// A user outside the group that changes is not pulled in.
	r.lab.Modify(t, dns["staff3"], "department", "Technik")
	if res := r.delta(t, e); res.Run.Read != 0 || len(r.users(t)) != 3 {
		t.Errorf("a non-member's change: %+v, %d users", res.Run, len(r.users(t)))
	}
}

// TestScopeGroupWith2000Members: a group above AD's 1,500 values per
// attribute read works, because membership is matched on the users
// (memberOf, in chain), never read from the group's member attribute.
func TestScopeGroupWith2000Members(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	dns := r.lab.AddUsers(t, r.ou, r.sam+"gm", 2000)
	extra := r.lab.AddUsers(t, r.ou, r.sam+"nogm", 3)
	group := r.lab.AddGroup(t, r.ou, "UMS Everyone")
	r.lab.AddMembers(t, group, dns...)
	cfg := r.lab.Config(r.ou)
	cfg.ScopeGroupDN = group
	e := r.engine(t, &cfg)
	if res := r.cycle(t, e); res.Run.Created != 2000 {
		t.Fatalf("full cycle created %d users, want 2000", res.Run.Created)
	}
	r.lab.RemoveMembers(t, group, dns[1999])
	r.lab.AddMembers(t, group, extra[0])
	res, err := e.Cycle(context.Background(), engine.Options{Mode: engine.ModeDelta})
	if err != nil {
		t.Fatal(err)
	}
	got := r.users(t)
	if res.Run.Deactivated != 1 || res.Run.Created != 1 || got["gm1999"].State != ums.StateDeactivated ||
		got["nogm0"].State != ums.StateActive || len(got) != 2001 {
		t.Errorf("after membership changes: run %+v, gm1999 %s, nogm0 %s, %d users", res.Run,
			got["gm1999"].State, got["nogm0"].State, len(got))
	}
}

func keys(m map[string]ums.User) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
