package plan

import (
	"strings"
	"testing"

	"github.com/umsync/umsync/ums"
)

func TestMerge(t *testing.T) {
	from := Rule{Direction: FromDirectory}
	to := Rule{Direction: ToDirectory}
	manual := Rule{Direction: Both, Policy: Manual}
	dirWins := Rule{Direction: Both, Policy: DirectoryWins}
	storeWins := Rule{Direction: Both, Policy: StoreWins}
	known := func(v string) Side { return Side{Value: v, Known: true} }
	none := Side{}

	takeDir := func(v string) Merged { return Merged{Store: v, Base: v, BaseSet: true} }
	write := func(v string) Merged { return Merged{Store: v, WriteDirectory: true} }
	unchanged := func(v string) Merged { return Merged{Store: v} }
	conflict := func(store string) Merged { return Merged{Store: store, Conflict: true} }

	tests := []struct {
		name       string
		rule       Rule
		dir, store string
		base       Side
		want       Merged
	}{
		// from_directory: AD masters.
		{"from: equal, base current", from, "a", "a", known("a"), unchanged("a")},
		{"from: AD changed", from, "b", "a", known("a"), takeDir("b")},
		{"from: store edited, AD wins anyway", from, "a", "x", known("a"), takeDir("a")},
		{"from: new user", from, "a", "", none, takeDir("a")},
		{"from: AD cleared", from, "", "a", known("a"), takeDir("")},
		// to_directory: umsync masters.
		{"to: equal", to, "a", "a", known("a"), unchanged("a")},
		{"to: store changed", to, "a", "b", known("a"), write("b")},
		{"to: AD changed, store value goes back", to, "x", "a", known("a"), write("a")},
		{"to: AD empty", to, "", "a", none, write("a")},
		{"to: first sight, equal: base set", to, "a", "a", none, takeDir("a")},
		// both: three-way.
		{"both: equal, base current", manual, "a", "a", known("a"), unchanged("a")},
		{"both: the same change on both sides", manual, "b", "b", known("a"), takeDir("b")},
		{"both: only AD changed", manual, "b", "a", known("a"), takeDir("b")},
		{"both: only the store changed", manual, "a", "b", known("a"), write("b")},
		{"both: store cleared the value", manual, "a", "", known("a"), write("")},
		{"both: AD cleared the value", manual, "", "a", known("a"), takeDir("")},
		{"both: new user takes AD's value", manual, "a", "", none, takeDir("a")},
		{"both: no base, AD empty: write the store's", manual, "", "a", none, write("a")},
		{"both: no base, both set differently: manual", manual, "a", "b", none, conflict("b")},
		{"both: no base, both set differently: directory wins", dirWins, "a", "b", none, takeDir("a")},
		{"both: no base, both set differently: store wins", storeWins, "a", "b", none, write("b")},
		{"both: both changed: manual conflict", manual, "b", "c", known("a"), conflict("c")},
		{"both: both changed: directory wins", dirWins, "b", "c", known("a"), takeDir("b")},
		{"both: both changed: store wins", storeWins, "b", "c", known("a"), write("c")},
		{"both: one cleared, other changed: manual", manual, "", "c", known("a"), conflict("c")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.rule.Validate(); err != nil {
				t.Fatal(err)
			}
			if got := Merge(tt.rule, tt.dir, tt.store, tt.base); got != tt.want {
				t.Errorf("Merge(dir %q, store %q, base %+v) = %+v, want %+v", tt.dir, tt.store, tt.base, got, tt.want)
			}
		})
	}
}

func TestRuleValidate(t *testing.T) {
	for _, tt := range []struct {
		r   Rule
		err string
	}{
		{Rule{Direction: "sideways"}, `direction must be from_directory, to_directory or both, got "sideways"`},
		{Rule{Direction: Both}, `policy must be directory_wins, store_wins or manual, got ""`},
		{Rule{Direction: Both, Policy: "coin_flip"}, `got "coin_flip"`},
	} {
		if err := tt.r.Validate(); err == nil || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("%+v: %v, want %q", tt.r, err, tt.err)
		}
	}
}

// TestUnreadableSettingsAreLeftAlone: settings in a format this umsync
// cannot read (another version, garbage) are a problem for that user; the
// field is neither taken into the store nor overwritten in AD.
func TestUnreadableSettingsAreLeftAlone(t *testing.T) {
	rules := Rules{ums.FieldSettings: {Direction: ToDirectory}}
	d := dirUser("a1", "alice", true)
	d.Settings = "ums2;vm=phone_login;hologram=on"
	p, _ := fullIn([]ums.User{d}, nil, now, rules, 1)
	a := p.Actions[0]
	if a.After.Settings != "" || len(a.Problems) != 1 || !strings.Contains(a.Problems[0].Text, `version "ums2"`) {
		t.Errorf("new user: settings %q, problems %v", a.After.Settings, a.Problems)
	}
	stored := storedUser(dirUser("a1", "alice", true), ums.StateActive, "")
	stored.Settings = "ums1;svc=fax"
	stored.SetBase(ums.FieldSettings, "ums1;svc=fax")
	pl := NewDelta([]ums.User{stored}, now, rules)
	pl.Add(d)
	p, _ = pl.Finish()
	a = p.Actions[0]
	if a.After.Settings != "ums1;svc=fax" || len(a.Writes) != 0 || len(a.Problems) != 1 {
		t.Errorf("known user: settings %q, writes %v, problems %v", a.After.Settings, a.Writes, a.Problems)
	}
}
