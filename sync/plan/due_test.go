package plan

import (
	"slices"
	"testing"

	"github.com/umsync/umsync/ums"
)

// action is a planned action of kind k for a user of the test directory.
func action(k Kind, anchor string, edit func(u *ums.User), changes ...ums.Field) *Action {
	u := storedUser(dirUser(anchor, anchor, true), ums.StateActive, "")
	if k == Deactivate || k == Purge {
		u.State = ums.StateDeactivated
	}
	if edit != nil {
		edit(&u)
	}
	a := &Action{Kind: k, After: u}
	for _, f := range changes {
		a.Changes = append(a.Changes, ums.Change{Field: f, Old: "old", New: "new"})
	}
	return a
}

func planOf(as ...*Action) *Plan { return &Plan{Actions: as} }

func set(anchors ...string) map[string]bool {
	m := make(map[string]bool, len(anchors))
	for _, a := range anchors {
		m[a] = true
	}
	return m
}

func TestPhantomsDue(t *testing.T) {
	for _, tt := range []struct {
		name             string
		configured, full bool
		want             bool
	}{
		{name: "no group, delta: nothing to compare", want: false},
		{name: "no group, full: clears marks left from a removed group", full: true, want: true},
		{name: "group, delta", configured: true, want: true},
		{name: "group, full", configured: true, full: true, want: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := PhantomsDue(tt.configured, tt.full); got != tt.want {
				t.Errorf("PhantomsDue(%v, %v) = %v, want %v", tt.configured, tt.full, got, tt.want)
			}
		})
	}
}

func TestPhantomFlips(t *testing.T) {
	for _, tt := range []struct {
		name            string
		members, stored map[string]bool
		want            []string
	}{
		{name: "none configured, none stored", want: nil},
		{name: "in step: no flip", members: set("a", "b"), stored: set("a", "b"), want: nil},
		{name: "joined the phantom group", members: set("a", "b"), stored: set("a"), want: []string{"b"}},
		{name: "left the phantom group", members: set("a"), stored: set("a", "b"), want: []string{"b"}},
		{name: "group removed: every stored mark flips", members: nil, stored: set("c", "a"), want: []string{"a", "c"}},
		{name: "first sync with a group: every member flips", members: set("z", "y"), stored: nil, want: []string{"y", "z"}},
		{name: "both ways at once, sorted", members: set("d", "a"), stored: set("a", "b"), want: []string{"b", "d"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := PhantomFlips(tt.members, tt.stored); !slices.Equal(got, tt.want) {
				t.Errorf("PhantomFlips = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestExtensionsDue(t *testing.T) {
	pool := []Range{{From: 2000, To: 2099}}
	noExt := func(u *ums.User) { u.Extension = "" }
	phantom := func(u *ums.User) { u.Extension, u.Phantom = "", true }
	for _, tt := range []struct {
		name string
		pool []Range
		full bool
		p    *Plan
		want bool
	}{
		{name: "no pool, full", full: true, p: planOf(), want: false},
		{name: "no pool, someone lacks one", p: planOf(action(Create, "a", noExt)), want: false},
		{name: "pool, full, nothing planned: looks at everyone", pool: pool, full: true, p: planOf(), want: true},
		{name: "pool, idle delta", pool: pool, p: planOf(), want: false},
		{name: "pool, delta, everyone has one", pool: pool, p: planOf(action(Create, "a", nil), action(Update, "b", nil)), want: false},
		{name: "pool, delta, a new user lacks one", pool: pool, p: planOf(action(Create, "a", noExt)), want: true},
		{name: "pool, delta, an update lost its number", pool: pool, p: planOf(action(Update, "a", noExt)), want: true},
		{name: "deactivated user needs none", pool: pool, p: planOf(action(Deactivate, "a", noExt)), want: false},
		{name: "purged user needs none", pool: pool, p: planOf(action(Purge, "a", noExt)), want: false},
		{name: "phantom needs none", pool: pool, p: planOf(action(Update, "a", phantom)), want: false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := ExtensionsDue(tt.pool, tt.full, tt.p); got != tt.want {
				t.Errorf("ExtensionsDue = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestProfileMoves(t *testing.T) {
	// Profiles in order: sales (group), support (group), staff (default).
	ps := &Profiles{
		List: ums.Profiles{{Name: "sales", Group: "CN=Sales"}, {Name: "support", Group: "CN=Support"}, {Name: "staff"}},
	}
	for _, tt := range []struct {
		name    string
		members []map[string]bool // sales, support
		stored  map[string]string // anchor → profile, default profile left out
		want    []string
	}{
		{name: "in step: nobody moved", members: []map[string]bool{set("a"), set("b")},
			stored: map[string]string{"a": "sales", "b": "support"}, want: nil},
		{name: "joined a group from the default profile", members: []map[string]bool{set("a", "n"), nil},
			stored: map[string]string{"a": "sales"}, want: []string{"n"}},
		{name: "left every group: back to the default", members: []map[string]bool{set(), set()},
			stored: map[string]string{"a": "sales"}, want: []string{"a"}},
		{name: "from one group to another", members: []map[string]bool{set(), set("a")},
			stored: map[string]string{"a": "sales"}, want: []string{"a"}},
		{name: "in two groups: the first profile wins, no move", members: []map[string]bool{set("a"), set("a")},
			stored: map[string]string{"a": "sales"}, want: nil},
		{name: "added to an earlier group: moves up", members: []map[string]bool{set("a"), set("a")},
			stored: map[string]string{"a": "support"}, want: []string{"a"}},
		{name: "member of two groups listed once", members: []map[string]bool{set("x"), set("x")},
			stored: map[string]string{}, want: []string{"x"}},
		{name: "sorted", members: []map[string]bool{set("c", "b"), set("a")},
			stored: map[string]string{}, want: []string{"a", "b", "c"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ps := *ps
			ps.Members = append(tt.members, nil)
			if got := ProfileMoves(&ps, tt.stored); !slices.Equal(got, tt.want) {
				t.Errorf("ProfileMoves = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestProfilesDefault(t *testing.T) {
	for _, tt := range []struct {
		name string
		list ums.Profiles
		want string
	}{
		{name: "last profile without a group", list: ums.Profiles{{Name: "sales", Group: "CN=Sales"}, {Name: "staff"}}, want: "staff"},
		{name: "every profile has a group", list: ums.Profiles{{Name: "sales", Group: "CN=Sales"}}, want: ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ps := &Profiles{List: tt.list, Members: make([]map[string]bool, len(tt.list))}
			if got := ps.Default(); got != tt.want {
				t.Errorf("Default() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLicenseDue(t *testing.T) {
	for _, tt := range []struct {
		name               string
		full               bool
		seatsBefore, seats int
		phantomFlips       int
		p                  *Plan
		want               bool
	}{
		{name: "full cycle, nothing planned", full: true, seatsBefore: 10, seats: 10, p: planOf(), want: true},
		{name: "idle delta", seatsBefore: 10, seats: 10, p: planOf(), want: false},
		{name: "seat count changed", seatsBefore: 10, seats: 12, p: planOf(), want: true},
		{name: "cap removed", seatsBefore: 10, seats: 0, p: planOf(), want: true},
		{name: "a phantom mark flipped", seatsBefore: 10, seats: 10, phantomFlips: 1, p: planOf(), want: true},
		{name: "updates only", seatsBefore: 10, seats: 10, p: planOf(action(Update, "a", nil, ums.FieldMail)), want: false},
		{name: "a user came", seatsBefore: 10, seats: 10, p: planOf(action(Create, "a", nil)), want: true},
		{name: "a user came back", seatsBefore: 10, seats: 10, p: planOf(action(Reactivate, "a", nil)), want: true},
		{name: "a user was deactivated", seatsBefore: 10, seats: 10, p: planOf(action(Deactivate, "a", nil)), want: true},
		{name: "a user was purged", seatsBefore: 10, seats: 10, p: planOf(action(Purge, "a", nil)), want: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := LicenseDue(tt.full, tt.seatsBefore, tt.seats, tt.phantomFlips, tt.p); got != tt.want {
				t.Errorf("LicenseDue = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestNumbersMoved(t *testing.T) {
	for _, tt := range []struct {
		name string
		p    *Plan
		want bool
	}{
		{name: "empty plan", p: planOf(), want: false},
		{name: "an update of other fields", p: planOf(action(Update, "a", nil, ums.FieldMail, ums.FieldDisplayName)), want: false},
		{name: "an update without changes (a write or a conflict only)", p: planOf(action(Update, "a", nil)), want: false},
		{name: "extension changed", p: planOf(action(Update, "a", nil, ums.FieldExtension)), want: true},
		{name: "mobile changed", p: planOf(action(Update, "a", nil, ums.FieldMobile)), want: true},
		{name: "fax numbers changed", p: planOf(action(Update, "a", nil, ums.FieldFaxNumbers)), want: true},
		{name: "alias numbers changed", p: planOf(action(Update, "a", nil, ums.FieldAliasNumbers)), want: true},
		{name: "a user came", p: planOf(action(Create, "a", nil)), want: true},
		{name: "a user came back", p: planOf(action(Reactivate, "a", nil)), want: true},
		{name: "a user was deactivated", p: planOf(action(Deactivate, "a", nil)), want: true},
		{name: "a user was purged", p: planOf(action(Purge, "a", nil)), want: true},
		{name: "one move among plain updates", p: planOf(action(Update, "a", nil, ums.FieldMail),
			action(Update, "b", nil, ums.FieldMobile)), want: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.p.NumbersMoved(); got != tt.want {
				t.Errorf("NumbersMoved = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSafetyDue(t *testing.T) {
	for _, tt := range []struct {
		name string
		p    *Plan
		want bool
	}{
		{name: "empty plan", p: planOf(), want: false},
		{name: "creates and updates only", p: planOf(action(Create, "a", nil), action(Update, "b", nil)), want: false},
		{name: "purges only (already deactivated)", p: planOf(action(Purge, "a", nil)), want: false},
		{name: "a deactivation", p: planOf(action(Update, "b", nil), action(Deactivate, "a", nil)), want: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.p.SafetyDue(); got != tt.want {
				t.Errorf("SafetyDue = %v, want %v", got, tt.want)
			}
		})
	}
}
