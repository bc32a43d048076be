package plan

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/umsync/umsync/ums"
)

type gone struct {
	anchor  string
	deleted bool
}

func TestDelta(t *testing.T) {
	alice := dirUser("a1", "alice", true)
	bob := dirUser("b2", "bob", true)
	carol := dirUser("c3", "carol", true)
	aliceRenamed := alice
	aliceRenamed.DN, aliceRenamed.SAMAccountName = "CN=alice.b,OU=Sales,OU=Staff,DC=example,DC=test", "alice.b"
	bobDisabled := bob
	bobDisabled.Enabled = false
	stored := func() []ums.User {
		return []ums.User{storedUser(alice, ums.StateActive, ""), storedUser(bob, ums.StateActive, ""),
			storedUser(carol, ums.StateDeactivated, ReasonNotInScope)}
	}
	type want struct {
		kind   Kind
		anchor string
		reason string
	}
	tests := []struct {
		name string
		read []ums.User
		gone []gone
		want []want
	}{
		{name: "nothing changed: nothing planned, nobody deactivated"},
		{name: "a renamed user is updated, not recreated", read: []ums.User{aliceRenamed},
			want: []want{{Update, "a1", ""}}},
		{name: "disabled", read: []ums.User{bobDisabled}, want: []want{{Deactivate, "b2", ReasonDisabled}}},
		{name: "a tombstone deactivates", gone: []gone{{"a1", true}}, want: []want{{Deactivate, "a1", ReasonDeleted}}},
		{name: "moved out of scope deactivates", gone: []gone{{"b2", false}},
			want: []want{{Deactivate, "b2", ReasonNotInScope}}},
		{name: "moved back into scope reactivates", read: []ums.User{carol}, want: []want{{Reactivate, "c3", ""}}},
		{name: "an unknown object gone is ignored (a computer, a user never in scope)", gone: []gone{{"zz", true}}},
		{name: "an already deactivated user gone stays as it is", gone: []gone{{"c3", true}}},
		{name: "a user read in scope is not also gone", read: []ums.User{aliceRenamed}, gone: []gone{{"a1", false}},
			want: []want{{Update, "a1", ""}}},
		{name: "a new user is created", read: []ums.User{dirUser("d4", "dave", true)}, want: []want{{Create, "d4", ""}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pl := NewDelta(stored(), now, nil)
			for _, u := range tt.read {
				pl.Add(u)
			}
			for _, g := range tt.gone {
				pl.Gone(g.anchor, g.deleted)
			}
			p, err := pl.Finish()
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Actions) != len(tt.want) {
				t.Fatalf("got %d actions %+v, want %d", len(p.Actions), p.Actions, len(tt.want))
			}
			for i, w := range tt.want {
				a := p.Actions[i]
				if a.Kind != w.kind || a.After.Anchor != w.anchor || a.After.DeactivationReason != w.reason {
					t.Errorf("action %d = %s %s %q, want %+v", i, a.Kind, a.After.Anchor, a.After.DeactivationReason, w)
				}
			}
		})
	}
}

func TestPurge(t *testing.T) {
	cutoff := now.Add(-30 * 24 * time.Hour)
	old := storedUser(dirUser("o1", "old", false), ums.StateDeactivated, ReasonDisabled)
	old.DeactivatedAt = cutoff.Add(-time.Hour)
	back := storedUser(dirUser("b1", "back", true), ums.StateDeactivated, ReasonNotInScope)
	back.DeactivatedAt = cutoff.Add(-time.Hour)
	recent := storedUser(dirUser("r1", "recent", false), ums.StateDeactivated, ReasonDisabled)
	recent.DeactivatedAt = cutoff.Add(time.Hour)
	for _, full := range []bool{false, true} {
		stored := []ums.User{old, back, recent}
		read := []ums.User{dirUser("b1", "back", true)} // came back: reactivated, not purged
		var (
			p   *Plan
			err error
		)
		if full {
			s := newFullStream(read, stored, now, nil, PageRules{}, 1)
			s.Purge(stored, cutoff)
			if p, err = finishFull(s, stored); err == nil {
				err = materializeErr(p)
			}
		} else {
			pl := NewDelta(stored, now, nil)
			pl.Add(read[0])
			pl.Purge(stored, cutoff)
			p, err = pl.Finish()
		}
		if err != nil {
			t.Fatal(err)
		}
		var purged []string
		for _, a := range p.Actions {
			if a.Kind == Purge {
				purged = append(purged, a.After.Anchor)
			}
		}
		if len(purged) != 1 || purged[0] != "o1" {
			t.Errorf("full=%v: purged %v, want [o1]", full, purged)
		}
		if p.Count(Reactivate) != 1 {
			t.Errorf("full=%v: %d reactivations, want 1", full, p.Count(Reactivate))
		}
		for _, a := range p.Actions {
			if a.After.Anchor == "o1" && a.Kind != Purge {
				t.Errorf("full=%v: a purged user is also written", full)
			}
		}
	}
}

func TestCheckSafety(t *testing.T) {
	plan := func(n int) *Plan {
		p := &Plan{}
		for range n {
			p.Actions = append(p.Actions, &Action{Kind: Deactivate})
		}
		p.Actions = append(p.Actions, &Action{Kind: Create}, &Action{Kind: Update})
		return p
	}
	tests := []struct {
		deactivate, active int
		limits             Limits
		err                string
	}{
		{0, 0, Limits{50, 10}, ""},
		{50, 1000, Limits{50, 10}, ""},
		{51, 1000, Limits{50, 10}, "would deactivate 51 of 1000 active users, more than sync.max_deactivations (50)"},
		{11, 100, Limits{50, 10}, "would deactivate 11 of 100 active users (11.0%), more than sync.max_deactivation_percent (10%)"},
		{10, 100, Limits{50, 10}, ""},
		{1, 3, Limits{50, 10}, "(33.3%)"},
		{1, 3, Limits{50, 0}, ""},
		{500, 500, Limits{0, 0}, ""},
	}
	for _, tt := range tests {
		err := plan(tt.deactivate).CheckSafety(tt.active, tt.limits)
		if tt.err == "" {
			if err != nil {
				t.Errorf("%d of %d with %+v: %v", tt.deactivate, tt.active, tt.limits, err)
			}
			continue
		}
		if !errors.Is(err, ErrMassDeactivation) || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("%d of %d with %+v: err %v, want %q", tt.deactivate, tt.active, tt.limits, err, tt.err)
		}
	}
}
