package plan

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/umsync/umsync/ums"
)

func seat(sam string, eligible bool, lic ums.LicenseState, sinceMin, firstMin, prio int) Seat {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := Seat{Anchor: "a-" + sam, SAMAccountName: sam, Eligible: eligible, License: lic,
		FirstSeen: t0.Add(time.Duration(firstMin) * time.Minute), Priority: prio}
	if lic == ums.LicenseActive {
		s.Since = t0.Add(time.Duration(sinceMin) * time.Minute)
	}
	return s
}

func TestLicenses(t *testing.T) {
	A, P, N := ums.LicenseActive, ums.LicensePending, ums.LicenseNone
	tests := []struct {
		name  string
		seats int
		users []Seat
		want  string // "sam:from>to" sorted as returned
	}{
		{"under the cap: all get a seat", 3,
			[]Seat{seat("b", true, N, 0, 2, 0), seat("a", true, N, 0, 1, 0)}, "a:none>active b:none>active"},
		{"first seen first, then name", 2,
			[]Seat{seat("c", true, N, 0, 1, 0), seat("b", true, N, 0, 1, 0), seat("a", true, N, 0, 2, 0)},
			"b:none>active c:none>active a:none>pending"},
		{"profile priority before first seen", 1,
			[]Seat{seat("old", true, N, 0, 1, 5), seat("vip", true, N, 0, 9, 1)}, "vip:none>active old:none>pending"},
		{"a held seat is kept even if others rank higher", 1,
			[]Seat{seat("holder", true, A, 5, 9, 9), seat("vip", true, P, 0, 1, 1)}, ""},
		{"a freed seat goes to the first pending", 2,
			[]Seat{seat("h1", false, A, 1, 1, 0), seat("h2", true, A, 2, 2, 0), seat("p2", true, P, 0, 4, 0), seat("p1", true, P, 0, 3, 0)},
			"h1:active>none p1:pending>active"},
		{"seats shrink: most recently activated lose theirs", 2,
			[]Seat{seat("s1", true, A, 1, 1, 0), seat("s3", true, A, 3, 3, 0), seat("s2", true, A, 2, 2, 0), seat("s4", true, A, 4, 0, 0)},
			"s4:active>pending s3:active>pending"},
		{"shrink ties: later first seen, then greater name lose first", 1,
			[]Seat{seat("x", true, A, 1, 1, 0), seat("y", true, A, 1, 1, 0), seat("z", true, A, 1, 0, 0)},
			"y:active>pending x:active>pending"},
		{"not eligible loses a pending place too", 1,
			[]Seat{seat("gone", false, P, 0, 1, 0), seat("here", true, N, 0, 2, 0)}, "gone:pending>none here:none>active"},
		{"no cap", 0,
			[]Seat{seat("a", true, P, 0, 1, 0), seat("b", true, N, 0, 1, 0), seat("c", false, A, 1, 1, 0)},
			"c:active>none a:pending>active b:none>active"},
		{"stable: nothing to change", 2,
			[]Seat{seat("a", true, A, 1, 1, 0), seat("b", true, A, 1, 1, 0), seat("c", true, P, 0, 1, 0)}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, c := range licenseChanges(tt.seats, tt.users) {
				got = append(got, fmt.Sprintf("%s:%s>%s", c.SAMAccountName, c.From, c.To))
				if c.Reason == "" {
					t.Errorf("%s: no reason", c.SAMAccountName)
				}
			}
			if s := strings.Join(got, " "); s != tt.want {
				t.Errorf("changes = %q, want %q", s, tt.want)
			}
		})
	}
}

// TestLicensesIsDeterministic: the read order of the users does not change
// who gets the seats.
func TestLicensesIsDeterministic(t *testing.T) {
	var users []Seat
	for i := range 15 {
		users = append(users, seat(fmt.Sprintf("u%02d", i), true, ums.LicenseNone, 0, i%4, 0))
	}
	first := licenseChanges(10, users)
	for k := range 5 {
		rev := make([]Seat, len(users))
		for i := range users {
			rev[(i*7+k)%len(users)] = users[i]
		}
		again := licenseChanges(10, rev)
		if fmt.Sprint(again) != fmt.Sprint(first) {
			t.Fatalf("order %d gave %v, want %v", k, again, first)
		}
	}
}

// TestApplyLicenses: the cap over a plan: stored users without an action
// get one, actions carry the new state and the reason, purged users and
// created ones are counted right, and nothing is lost when actions grow.
func TestApplyLicenses(t *testing.T) {
	var stored []ums.User
	for i := range 40 {
		u := storedUser(dirUser(fmt.Sprintf("s%02d", i), fmt.Sprintf("s%02d", i), true), ums.StateActive, "")
		u.License = ums.LicensePending
		stored = append(stored, u)
	}
	pl := NewDelta(stored, now, nil)
	pl.Add(dirUser("new1", "new1", true))
	p, _ := pl.Finish()
	applyLicenses(t, p, 30, stored, nil)
	active := 0
	for _, a := range p.Actions {
		if a.After.License == ums.LicenseActive {
			active++
			if a.License != "a seat is free" || !a.After.LicenseSince.Equal(now) {
				t.Errorf("%s: reason %q since %v", a.After.SAMAccountName, a.License, a.After.LicenseSince)
			}
		}
	}
	if active != 30 || len(p.Actions) != 31 { // 30 grants + the new user; the 10 still waiting do not change
		t.Errorf("%d active of %d actions, want 30 of 31", active, len(p.Actions))
	}
	if p.Actions[0].Kind != Create || p.Actions[0].After.License != ums.LicensePending {
		t.Errorf("the new user (first seen now, last in line): %s %s", p.Actions[0].Kind, p.Actions[0].After.License)
	}
}

// applyLicenses runs ApplyLicenses as the engine does: over the seats of
// the stored users, adopting the rows of those it must change and running
// again; the second run must adopt nothing more.
func applyLicenses(t *testing.T, p *Plan, seats int, stored []ums.User, priority func(profile string) int) {
	t.Helper()
	byAnchor := map[string]ums.User{}
	var facts []Seat
	for i := range stored {
		u := &stored[i]
		byAnchor[u.Anchor] = *u
		prio := 0
		if priority != nil {
			prio = priority(ums.ProfileOf(u.Settings))
		}
		facts = append(facts, Seat{Anchor: u.Anchor, SAMAccountName: u.SAMAccountName, Eligible: u.Eligible(),
			License: u.License, Since: u.LicenseSince, FirstSeen: u.FirstSeen, Priority: prio})
	}
	adopt := p.ApplyLicenses(seats, facts, now, priority)
	if adopt == nil {
		return
	}
	var rows []ums.User
	for _, a := range adopt {
		rows = append(rows, byAnchor[a])
	}
	p.Adopt(rows, now)
	if again := p.ApplyLicenses(seats, facts, now, priority); again != nil {
		t.Fatalf("ApplyLicenses after Adopt asks for %v again", again)
	}
}

// LicenseChange is one user's new license state and why.
type LicenseChange struct {
	Anchor, SAMAccountName string
	From, To               ums.LicenseState
	Reason                 string
}

// licenseChanges runs the seat cap over a copy of users and returns the
// changes.
func licenseChanges(seats int, users []Seat) []LicenseChange {
	slots := make([]slot, len(users))
	for i, u := range users {
		slots[i] = seatSlot(u, i)
	}
	name := func(ref int32) (string, string) { return users[ref].SAMAccountName, users[ref].Anchor }
	var out []LicenseChange
	licenses(seats, slots, name, func(s slot, to ums.LicenseState, reason string) {
		u := users[s.ref]
		out = append(out, LicenseChange{u.Anchor, u.SAMAccountName, u.License, to, reason})
	})
	return out
}

// TestWaitOrderIsTheCapsOrder: WaitOrder lists the users waiting in the
// order the cap hands them seats as seats free — found by the cap alone:
// with k seats, the user who gets a seat that k-1 seats did not give is
// the k-th.
func TestWaitOrderIsTheCapsOrder(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	type user struct {
		anchor, sam string
		prio, first int // priority; first seen, minutes after t0
	}
	for _, tt := range []struct {
		name  string
		users []user
		want  string // sAMAccountNames in wait order
	}{
		{"first seen, then name", []user{{"a1", "c", 0, 1}, {"a2", "b", 0, 1}, {"a3", "a", 0, 2}}, "b c a"},
		{"priority before first seen", []user{{"a1", "old", 2, 0}, {"a2", "vip", 0, 9}, {"a3", "mid", 1, 5}, {"a4", "none", 3, 0}},
			"vip mid old none"},
		{"same name: anchor", []user{{"a9", "x", 0, 1}, {"a1", "x", 0, 1}, {"a5", "w", 0, 1}}, "w x x"},
		{"anchor order is not wait order", []user{{"a1", "z", 1, 3}, {"a2", "y", 1, 2}, {"a3", "x", 0, 4}, {"a4", "w", 0, 4}},
			"w x y z"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var users []ums.User
			prio := map[string]int{}
			for _, u := range tt.users {
				users = append(users, ums.User{Anchor: u.anchor, SAMAccountName: u.sam, State: ums.StateActive, Enabled: true,
					License: ums.LicensePending, FirstSeen: t0.Add(time.Duration(u.first) * time.Minute),
					Settings: fmt.Sprintf("ums1;svc=fax;prof=p%d", u.prio)})
				prio[u.anchor] = u.prio
			}
			priority := func(profile string) int { // profile pN has priority N
				n, _ := strconv.Atoi(strings.TrimPrefix(profile, "p"))
				return n
			}

			var seats []Seat
			byAnchor := map[string]ums.User{}
			for _, u := range users {
				seats = append(seats, Seat{Anchor: u.Anchor, SAMAccountName: u.SAMAccountName, Eligible: true,
					License: ums.LicensePending, FirstSeen: u.FirstSeen, Priority: prio[u.Anchor]})
				byAnchor[u.Anchor] = u
			}
			var capOrder []string
			granted := map[string]bool{}
			for k := 1; k <= len(users); k++ {
				p := &Plan{}
				for _, a := range p.ApplyLicenses(k, seats, t0, priority) {
					if !granted[a] {
						granted[a] = true
						capOrder = append(capOrder, byAnchor[a].SAMAccountName+"/"+a)
					}
				}
			}

			WaitOrder(users, priority)
			var got, names []string
			for _, u := range users {
				got = append(got, u.SAMAccountName+"/"+u.Anchor)
				names = append(names, u.SAMAccountName)
			}
			if !slices.Equal(got, capOrder) {
				t.Errorf("WaitOrder = %v, the cap gives seats in order %v", got, capOrder)
			}
			if s := strings.Join(names, " "); s != tt.want {
				t.Errorf("WaitOrder = %q, want %q", s, tt.want)
			}
		})
	}
}
