package plan

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/umsync/umsync/ums"
)

// TestStreamPageSizeDoesNotMatter: the same read planned in pages of 1, 2,
// 3 … users, or all at once, gives the same plan — a user read twice
// across pages included.
func TestStreamPageSizeDoesNotMatter(t *testing.T) {
	alice, bob, carol := dirUser("a1", "alice", true), dirUser("b2", "bob", true), dirUser("c3", "carol", true)
	dave, erin := dirUser("d4", "dave", false), dirUser("e5", "erin", true)
	bobChanged := bob
	bobChanged.Department = "Sales"
	carolChanged := carol
	carolChanged.Mobile = "+4915112345678"
	stored := []ums.User{
		storedUser(alice, ums.StateActive, ""),
		storedUser(bob, ums.StateActive, ""),
		storedUser(carol, ums.StateActive, ""),
		storedUser(dave, ums.StateActive, ""),
		storedUser(dirUser("g7", "gone", true), ums.StateActive, ""),
		storedUser(dirUser("o8", "old", false), ums.StateDeactivated, ReasonDisabled),
	}
	read := []ums.User{alice, bobChanged, carol, dave, erin, bob, carolChanged} // bob back, carol changed late
	want := printed(t, read, stored, len(read), PageRules{})
	for page := 1; page < len(read); page++ {
		if got := printed(t, read, stored, page, PageRules{}); got != want {
			t.Errorf("pages of %d:\n%s\nall at once:\n%s", page, got, want)
		}
	}
	// With the page rules: alice becomes a phantom, carol's settings come
	// from a profile, whichever page they are read in.
	ps := testProfiles()
	ps.Members[0] = map[string]bool{"c3": true}
	rules := PageRules{Phantoms: map[string]bool{"a1": true}, Profiles: &ps}
	withRules := printed(t, read, stored, len(read), rules)
	for page := 1; page < len(read); page++ {
		if got := printed(t, read, stored, page, rules); got != withRules {
			t.Errorf("page rules, pages of %d:\n%s\nall at once:\n%s", page, got, withRules)
		}
	}
	for _, line := range []string{"update     alice", "settings: \"\" -> \"ums1;vm=phone_login;svc=fax,sms,voice;rings=4;prof=sales\""} {
		if !strings.Contains(withRules, line) {
			t.Errorf("plan with page rules lacks %q:\n%s", line, withRules)
		}
	}
	for _, line := range []string{"create     erin", "update     carol", "deactivate dave", "deactivate gone",
		"read 5, create 1, update 1, reactivate 0, deactivate 2, purge 0, unchanged 3"} {
		if !strings.Contains(want, line) {
			t.Errorf("plan lacks %q:\n%s", line, want)
		}
	}
}

func printed(t *testing.T, read, stored []ums.User, page int, rules PageRules) string {
	t.Helper()
	s := newFullStream(read, stored, now, nil, rules, page)
	p, err := finishFull(s, stored)
	if err != nil {
		t.Fatal(err)
	}
	if rules.Profiles != nil {
		p.ApplyProfiles(*rules.Profiles, nil, now)
	}
	var b strings.Builder
	if err := p.Write(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestStreamEmptyRead: a full read of nobody while the store has users is
// refused; into an empty store it is an empty plan.
func TestStreamEmptyRead(t *testing.T) {
	stored := []ums.User{storedUser(dirUser("a1", "alice", true), ums.StateDeactivated, ReasonDisabled)}
	if _, err := fullIn(nil, stored, now, nil, 1); !errors.Is(err, ErrEmptyRead) {
		t.Errorf("empty read over a store with a (deactivated) user: %v, want ErrEmptyRead", err)
	}
	if p, err := fullIn(nil, nil, now, nil, 1); err != nil || len(p.Actions) != 0 {
		t.Errorf("empty read into an empty store: %v, %v", p, err)
	}
}

// TestStreamPageRules: the rules applied to every user of a page, changed
// or not. Each case is one stored user read unchanged from the directory.
func TestStreamPageRules(t *testing.T) {
	inStep := func(u ums.User) ums.User { // settings as the staff profile makes them
		u.Settings = "ums1;svc=fax;prof=staff"
		return u
	}
	tests := []struct {
		name     string
		stored   ums.User
		phantoms map[string]bool
		profiles bool
		want     Kind // "" : not in the plan
		phantom  bool
	}{
		{name: "in step, no rules", stored: dirUser("a1", "alice", true)},
		{name: "joined the phantom group: marked", stored: dirUser("a1", "alice", true),
			phantoms: map[string]bool{"a1": true}, want: Update, phantom: true},
		{name: "phantom group gone: mark cleared", stored: func() ums.User { u := dirUser("a1", "alice", true); u.Phantom = true; return u }(),
			want: Update},
		{name: "settings from its profile already", stored: inStep(dirUser("a1", "alice", true)), profiles: true},
		{name: "profile's settings differ: joins the plan for ApplyProfiles", stored: dirUser("a1", "alice", true),
			profiles: true, want: Update},
		{name: "phantom: no profile", stored: func() ums.User { u := dirUser("a1", "alice", true); u.Phantom = true; return u }(),
			phantoms: map[string]bool{"a1": true}, profiles: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pr := PageRules{Phantoms: tt.phantoms}
			if tt.profiles {
				ps := testProfiles()
				pr.Profiles = &ps
			}
			read := tt.stored
			stored := storedUser(tt.stored, ums.StateActive, "")
			s := NewStream(now, nil, pr, &memShelf{})
			if n, _ := s.Page([]ums.User{stored}, []ums.User{read}); (n == 1) != (tt.want != "") {
				t.Errorf("Page says %d changed, want the user changed: %v", n, tt.want != "")
			}
			p, err := finishFull(s, []ums.User{stored})
			if err != nil {
				t.Fatal(err)
			}
			materialize(t, p)
			if tt.want == "" {
				if len(p.Actions) != 0 || p.Unchanged != 1 {
					t.Errorf("planned %d actions, unchanged %d; want the user left alone", len(p.Actions), p.Unchanged)
				}
				return
			}
			if len(p.Actions) != 1 || p.Actions[0].Kind != tt.want || p.Actions[0].After.Phantom != tt.phantom {
				t.Fatalf("actions %+v, want one %s with phantom %v", p.Actions, tt.want, tt.phantom)
			}
			if tt.profiles {
				if p.ApplyProfiles(*pr.Profiles, nil, now); p.Actions[0].After.Settings != "ums1;svc=fax;prof=staff" {
					t.Errorf("after ApplyProfiles: settings %q", p.Actions[0].After.Settings)
				}
			}
		})
	}
}

// TestApplyLicensesAdopts: a stored user outside the plan whose license
// must change is named, and nothing changes until its row is adopted.
func TestApplyLicensesAdopts(t *testing.T) {
	waiting := storedUser(dirUser("w1", "waiting", true), ums.StateActive, "")
	waiting.License = ums.LicensePending
	holder := storedUser(dirUser("h1", "holder", true), ums.StateActive, "")
	holder.License, holder.LicenseSince = ums.LicenseActive, t0
	gone := storedUser(dirUser("g1", "gone", true), ums.StateActive, "")
	gone.License, gone.LicenseSince = ums.LicenseActive, t0
	pl := NewDelta([]ums.User{gone}, now, nil)
	pl.Gone("g1", true) // deactivated in this plan: its seat frees
	p, _ := pl.Finish()
	seats := []Seat{
		{Anchor: "w1", SAMAccountName: "waiting", Eligible: true, License: ums.LicensePending, FirstSeen: t0},
		{Anchor: "h1", SAMAccountName: "holder", Eligible: true, License: ums.LicenseActive, Since: t0, FirstSeen: t0},
		{Anchor: "g1", SAMAccountName: "gone", Eligible: true, License: ums.LicenseActive, Since: t0, FirstSeen: t0}, // the plan's row wins
	}
	adopt := p.ApplyLicenses(2, seats, now, nil)
	if !slices.Equal(adopt, []string{"w1"}) {
		t.Fatalf("adopt %v, want [w1] (the freed seat goes to the waiting user)", adopt)
	}
	if p.Actions[0].After.License != ums.LicenseActive || p.Actions[0].License != "" {
		t.Fatalf("changed before the adoption: %+v", p.Actions[0])
	}
	p.Adopt([]ums.User{waiting}, now)
	if again := p.ApplyLicenses(2, seats, now, nil); again != nil {
		t.Fatalf("after Adopt: adopt %v", again)
	}
	got := map[string]ums.LicenseState{}
	for _, a := range p.Actions {
		got[a.After.SAMAccountName] = a.After.License
	}
	if len(p.Actions) != 2 || got["waiting"] != ums.LicenseActive || got["gone"] != ums.LicenseNone {
		t.Errorf("licenses %v in %d actions, want waiting active and gone none", got, len(p.Actions))
	}
}

// TestDropSeats: the users adopted whose rows are gone leave the seats.
func TestDropSeats(t *testing.T) {
	seats := []Seat{{Anchor: "a"}, {Anchor: "b"}, {Anchor: "c"}}
	tests := []struct {
		name  string
		adopt []string
		rows  []ums.User
		want  []string
	}{
		{name: "every row found: nothing dropped", adopt: []string{"a", "b"}, rows: []ums.User{{Anchor: "a"}, {Anchor: "b"}},
			want: []string{"a", "b", "c"}},
		{name: "one row gone", adopt: []string{"a", "b"}, rows: []ums.User{{Anchor: "a"}}, want: []string{"a", "c"}},
		{name: "all gone", adopt: []string{"a", "b", "c"}, want: nil},
		{name: "a seat not adopted stays", adopt: []string{"b"}, want: []string{"a", "c"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, s := range DropSeats(slices.Clone(seats), tt.adopt, tt.rows) {
				got = append(got, s.Anchor)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("kept %v, want %v", got, tt.want)
			}
		})
	}
}

// TestCountUnchanged: a user counts as unchanged only when no rule changed
// it — the merge, a page rule or a rule that adopted it later.
func TestCountUnchanged(t *testing.T) {
	a, b, c := dirUser("a1", "alice", true), dirUser("b2", "bob", true), dirUser("c3", "carol", true)
	stored := []ums.User{storedUser(a, ums.StateActive, ""), storedUser(b, ums.StateActive, ""), storedUser(c, ums.StateActive, "")}
	s := newFullStream([]ums.User{a, b, c, dirUser("d4", "dave", true)}, stored, now, nil,
		PageRules{Phantoms: map[string]bool{"b2": true}}, 2) // bob changes by a page rule, dave is new
	p, err := finishFull(s, stored)
	if err != nil {
		t.Fatal(err)
	}
	p.Adopt([]ums.User{stored[2]}, now) // carol: the license cap changes her after the read
	p.RecountUnchanged()
	if p.Unchanged != 1 || p.Read != 4 {
		t.Errorf("read %d, unchanged %d; want 4 read and only alice unchanged", p.Read, p.Unchanged)
	}
}

// TestRecountUnchanged: a delta counts a user read unchanged once, and
// not at all when a rule changes it after the read (the merge's count
// said unchanged for both carol and the user a rule adopted).
func TestRecountUnchanged(t *testing.T) {
	a, b, c := dirUser("a1", "alice", true), dirUser("b2", "bob", true), dirUser("c3", "carol", true)
	stored := []ums.User{storedUser(a, ums.StateActive, ""), storedUser(b, ums.StateActive, ""), storedUser(c, ums.StateActive, "")}
	bobMoved := b
	bobMoved.Department = "Sales"
	pl := NewDelta(stored, now, nil)
	for _, u := range []ums.User{a, bobMoved, c, c} { // carol read twice
		pl.Add(u)
	}
	p, err := pl.Finish()
	if err != nil {
		t.Fatal(err)
	}
	if p.Unchanged != 2 {
		t.Fatalf("after the merge: unchanged %d, want alice and carol", p.Unchanged)
	}
	p.Adopt([]ums.User{stored[2]}, now) // a rule changes carol after the read
	p.RecountUnchanged()
	if p.Unchanged != 1 || p.Read != 3 {
		t.Errorf("read %d, unchanged %d; want 3 read and only alice unchanged", p.Read, p.Unchanged)
	}
}

// TestGoneUsersAreStaged: the active stored users a full read did not see
// are deactivated onto the shelf, as the read's changes are — none is held
// in memory, however many the read missed — with the phantom mark of the
// page rules; deactivated and read users are left alone, and the safety
// alert names them.
func TestGoneUsersAreStaged(t *testing.T) {
	var stored, read []ums.User
	for i := range 12 {
		d := dirUser(fmt.Sprintf("a%02d", i), fmt.Sprintf("u%02d", i), true)
		state := ums.StateActive
		if i >= 10 {
			state = ums.StateDeactivated // not active: not deactivated again
		}
		stored = append(stored, storedUser(d, state, ""))
		if i < 3 {
			read = append(read, d)
		}
	}
	s := newFullStream(read, stored, now, nil, PageRules{Phantoms: map[string]bool{"a05": true}}, 2)
	p, err := finishFull(s, stored)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Actions) != 0 || s.Held() != 0 {
		t.Fatalf("%d actions held in memory, want all staged", len(p.Actions))
	}
	if n := p.Count(Deactivate); n != 7 || p.Unchanged != 5 {
		t.Errorf("%d deactivated, %d unchanged; want 7 (a03..a09), 5 (the 3 read, the 2 deactivated before)", n, p.Unchanged)
	}
	if got := p.Deactivations(2); !strings.Contains(got, "u03 (G S u03): not found in directory scope") || !strings.Contains(got, "and 5 more") {
		t.Errorf("safety alert %q", got)
	}
	materialize(t, p)
	for _, a := range p.Actions {
		u := a.After
		if a.Kind != Deactivate || u.State != ums.StateDeactivated || u.DeactivationReason != ReasonNotInScope {
			t.Errorf("%s: %s %s %q", u.Anchor, a.Kind, u.State, u.DeactivationReason)
		}
		if u.Phantom != (u.Anchor == "a05") {
			t.Errorf("%s: phantom %v", u.Anchor, u.Phantom)
		}
	}
}
