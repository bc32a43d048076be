package plan

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/umsync/umsync/ums"
)

var update = flag.Bool("update", false, "rewrite golden files")

var (
	t0  = time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC)
	now = time.Date(2026, 11, 22, 9, 30, 0, 0, time.UTC)
)

func dirUser(anchor, sam string, enabled bool) ums.User {
	return ums.User{Anchor: anchor, DN: "CN=" + sam + ",OU=Staff,DC=example,DC=test", SAMAccountName: sam,
		GivenName: "G" + sam, Surname: "S" + sam, DisplayName: "G S " + sam, Mail: sam + "@example.test",
		Extension: "2000", FaxNumbers: []string{"+49891"}, Enabled: enabled}
}

func storedUser(d ums.User, state ums.State, reason string) ums.User {
	d.State, d.DeactivationReason, d.FirstSeen, d.UpdatedAt = state, reason, t0, t0
	if state == ums.StateDeactivated {
		d.DeactivatedAt = t0
	}
	return d
}

func TestFull(t *testing.T) {
	alice := dirUser("a1", "alice", true)
	bob := dirUser("b2", "bob", true)
	carol := dirUser("c3", "carol", true)
	aliceMoved := alice
	aliceMoved.DN = "CN=alice,OU=Sales,OU=Staff,DC=example,DC=test"
	aliceMoved.Mail = "alice.new@example.test"
	bobDisabled := bob
	bobDisabled.Enabled = false

	type want struct {
		kind   Kind
		anchor string
		state  ums.State
		reason string
	}
	tests := []struct {
		name      string
		dir       []ums.User
		stored    []ums.User
		want      []want
		unchanged int
		err       error
	}{
		{
			name: "new users are created, disabled ones deactivated",
			dir:  []ums.User{alice, bobDisabled},
			want: []want{{Create, "a1", ums.StateActive, ""}, {Create, "b2", ums.StateDeactivated, ReasonDisabled}},
		},
		{
			name:      "same values change nothing",
			dir:       []ums.User{alice, bob},
			stored:    []ums.User{storedUser(alice, ums.StateActive, ""), storedUser(bob, ums.StateActive, "")},
			unchanged: 2,
		},
		{
			name:      "a moved and renamed user is an update of the same anchor",
			dir:       []ums.User{aliceMoved, bob},
			stored:    []ums.User{storedUser(alice, ums.StateActive, ""), storedUser(bob, ums.StateActive, "")},
			want:      []want{{Update, "a1", ums.StateActive, ""}},
			unchanged: 1,
		},
		{
			name:      "disabled in AD deactivates",
			dir:       []ums.User{alice, bobDisabled},
			stored:    []ums.User{storedUser(alice, ums.StateActive, ""), storedUser(bob, ums.StateActive, "")},
			want:      []want{{Deactivate, "b2", ums.StateDeactivated, ReasonDisabled}},
			unchanged: 1,
		},
		{
			name:      "not read any more deactivates",
			dir:       []ums.User{alice},
			stored:    []ums.User{storedUser(alice, ums.StateActive, ""), storedUser(bob, ums.StateActive, "")},
			want:      []want{{Deactivate, "b2", ums.StateDeactivated, ReasonNotInScope}},
			unchanged: 1,
		},
		{
			name:      "already deactivated and still missing stays unchanged",
			dir:       []ums.User{alice},
			stored:    []ums.User{storedUser(alice, ums.StateActive, ""), storedUser(bob, ums.StateDeactivated, ReasonNotInScope)},
			unchanged: 2,
		},
		{
			name:   "re-enabled reactivates",
			dir:    []ums.User{bob},
			stored: []ums.User{storedUser(bobDisabled, ums.StateDeactivated, ReasonDisabled)},
			want:   []want{{Reactivate, "b2", ums.StateActive, ""}},
		},
		{
			name:   "back in scope reactivates",
			dir:    []ums.User{bob},
			stored: []ums.User{storedUser(bob, ums.StateDeactivated, ReasonNotInScope)},
			want:   []want{{Reactivate, "b2", ums.StateActive, ""}},
		},
		{
			name:   "back in scope but disabled changes the reason",
			dir:    []ums.User{bobDisabled},
			stored: []ums.User{storedUser(bobDisabled, ums.StateDeactivated, ReasonNotInScope)},
			want:   []want{{Update, "b2", ums.StateDeactivated, ReasonDisabled}},
		},
		{
			name:      "a user read twice counts once",
			dir:       []ums.User{alice, alice, carol},
			stored:    []ums.User{storedUser(alice, ums.StateActive, "")},
			want:      []want{{Create, "c3", ums.StateActive, ""}},
			unchanged: 1,
		},
		{
			name:      "a user read again after a change: the later reading wins",
			dir:       []ums.User{alice, carol, bob, bobDisabled},
			stored:    []ums.User{storedUser(alice, ums.StateActive, ""), storedUser(bob, ums.StateActive, "")},
			want:      []want{{Create, "c3", ums.StateActive, ""}, {Deactivate, "b2", ums.StateDeactivated, ReasonDisabled}},
			unchanged: 1,
		},
		{
			name:      "a change undone during the read plans nothing",
			dir:       []ums.User{aliceMoved, alice},
			stored:    []ums.User{storedUser(alice, ums.StateActive, "")},
			unchanged: 1,
		},
		{
			name:   "a new user read twice is created once, as read last",
			dir:    []ums.User{carol, aliceMoved, carol},
			stored: []ums.User{storedUser(alice, ums.StateActive, "")},
			want:   []want{{Create, "c3", ums.StateActive, ""}, {Update, "a1", ums.StateActive, ""}},
		},
		{
			name:   "empty read with users in the store is refused",
			stored: []ums.User{storedUser(alice, ums.StateActive, "")},
			err:    ErrEmptyRead,
		},
		{
			name: "empty read into an empty store is fine",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Full(tt.dir, tt.stored, now)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if err != nil {
				return
			}
			if len(p.Actions) != len(tt.want) {
				t.Fatalf("got %d actions %+v, want %d", len(p.Actions), p.Actions, len(tt.want))
			}
			for i, w := range tt.want {
				a := p.Actions[i]
				if a.Kind != w.kind || a.After.Anchor != w.anchor || a.After.State != w.state || a.After.DeactivationReason != w.reason {
					t.Errorf("action %d = %s %s %s %q, want %+v", i, a.Kind, a.After.Anchor, a.After.State, a.After.DeactivationReason, w)
				}
				if !a.After.UpdatedAt.Equal(now) {
					t.Errorf("action %d: UpdatedAt = %v, want now", i, a.After.UpdatedAt)
				}
				if a.Kind == Create && !a.After.FirstSeen.Equal(now) {
					t.Errorf("created user FirstSeen = %v, want now", a.After.FirstSeen)
				}
				if a.Kind != Create && !a.After.FirstSeen.Equal(t0) {
					t.Errorf("%s kept FirstSeen = %v, want %v", a.Kind, a.After.FirstSeen, t0)
				}
				if (a.After.State == ums.StateActive) != a.After.DeactivatedAt.IsZero() {
					t.Errorf("%s: state %s with DeactivatedAt %v", a.Kind, a.After.State, a.After.DeactivatedAt)
				}
			}
			if p.Unchanged != tt.unchanged {
				t.Errorf("Unchanged = %d, want %d", p.Unchanged, tt.unchanged)
			}
		})
	}
}

func TestUpdateCarriesDirectoryValues(t *testing.T) {
	alice := dirUser("a1", "alice", true)
	moved := alice
	moved.DN, moved.Mail, moved.FaxNumbers = "CN=alice,OU=Sales,DC=example,DC=test", "new@example.test", nil
	p, err := Full([]ums.User{moved}, []ums.User{storedUser(alice, ums.StateActive, "")}, now)
	if err != nil {
		t.Fatal(err)
	}
	got := p.Actions[0]
	if got.After.DN != moved.DN || got.After.Mail != moved.Mail || got.After.FaxNumbers != nil {
		t.Fatalf("After = %+v", got.After)
	}
	want := []ums.Change{
		{Field: ums.FieldDN, Old: alice.DN, New: moved.DN},
		{Field: ums.FieldMail, Old: alice.Mail, New: moved.Mail},
		{Field: ums.FieldFaxNumbers, Old: "+49891", New: ""},
	}
	if len(got.Changes) != len(want) {
		t.Fatalf("Changes = %v, want %v", got.Changes, want)
	}
	for i := range want {
		if got.Changes[i] != want[i] {
			t.Errorf("Changes[%d] = %v, want %v", i, got.Changes[i], want[i])
		}
	}
}

func TestWriteGolden(t *testing.T) {
	alice := dirUser("a1", "alice", true)
	bob := dirUser("b2", "bob", true)
	carol := dirUser("c3", "carol", true)
	dave := dirUser("d4", "dave", false)
	aliceNew := alice
	aliceNew.Surname = "Weiß"
	p, err := Full([]ums.User{aliceNew, carol, dave, dave},
		[]ums.User{storedUser(alice, ums.StateActive, ""), storedUser(bob, ums.StateActive, "")}, now)
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, p, "plan.golden")
}

// checkGolden compares p as a dry run prints it with testdata/name
// (go test -update rewrites it).
func checkGolden(t *testing.T, p *Plan, name string) {
	t.Helper()
	var buf bytes.Buffer
	if err := p.Write(&buf); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", name)
	if *update {
		os.WriteFile(golden, buf.Bytes(), 0o644)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Fatalf("plan output differs from %s:\n%s\nwant:\n%s", golden, buf.String(), want)
	}
}

// TestWriteTwoWayGolden: a dry run prints both directions: what the store
// takes from AD, what goes to AD, and the conflicts.
func TestWriteTwoWayGolden(t *testing.T) {
	rules := Rules{
		ums.FieldExtension: {Direction: Both, Policy: Manual},
		ums.FieldMobile:    {Direction: Both, Policy: Manual},
		ums.FieldSettings:  {Direction: ToDirectory},
	}
	alice := dirUser("a1", "alice", true)
	alice.Mobile, alice.Settings = "+491711", "ums1;svc=fax"
	bob := dirUser("b2", "bob", true)
	storedAlice := storedUser(alice, ums.StateActive, "")
	storedAlice.Edit(ums.FieldMobile, "+491722")                        // changed in umsync: goes to AD
	storedAlice.Edit(ums.FieldSettings, "ums1;vm=mailbox_only;svc=fax") // the UMS masters settings
	storedBob := storedUser(bob, ums.StateActive, "")
	storedBob.Edit(ums.FieldExtension, "2100") // umsync: 2100 …
	bobAD := bob
	bobAD.Extension = "2200" // … AD: 2200: a conflict
	bobAD.Department = "Vertrieb"
	pl := NewDelta([]ums.User{storedAlice, storedBob}, now, rules)
	pl.Add(alice)
	pl.Add(bobAD)
	p, err := pl.Finish()
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, p, "plan-two-way.golden")
	if p.Writes() != 2 || p.Conflicts() != 1 {
		t.Errorf("writes %d, conflicts %d; want 2 and 1", p.Writes(), p.Conflicts())
	}
}

func TestDeactivationsNamesUsers(t *testing.T) {
	p := &Plan{}
	for i := range 3 {
		p.Actions = append(p.Actions, &Action{Kind: Deactivate, After: ums.User{Anchor: fmt.Sprintf("a%d", i),
			SAMAccountName: fmt.Sprintf("u%d", i), DisplayName: "Name\r\n" + fmt.Sprint(i), DeactivationReason: ReasonDisabled}})
	}
	p.Actions = append(p.Actions, &Action{Kind: Deactivate, After: ums.User{Anchor: "a9", DeactivationReason: ReasonDeleted}},
		&Action{Kind: Update, After: ums.User{SAMAccountName: "kept"}})
	want := "Would deactivate:\n  u0 (Name0): disabled in directory\n  u1 (Name1): disabled in directory\n  … and 2 more (umsync sync --dry-run lists all)"
	if got := p.Deactivations(2); got != want {
		t.Errorf("Deactivations(2) =\n%s\nwant\n%s", got, want)
	}
	if got := p.Deactivations(10); !strings.Contains(got, "a9: deleted in directory") || strings.Contains(got, "kept") {
		t.Errorf("Deactivations(10) =\n%s", got)
	}
	if got := (&Plan{}).Deactivations(5); got != "" {
		t.Errorf("no deactivations: %q", got)
	}
}

// Full plans a full cycle as the engine does, through a Stream in pages
// of two users (so a user read twice may cross pages): each page with the
// stored rows of its users, then the active stored users not read.
func Full(dir []ums.User, stored []ums.User, now time.Time) (*Plan, error) {
	return fullIn(dir, stored, now, nil, 2)
}

func fullIn(dir []ums.User, stored []ums.User, now time.Time, rules Rules, page int) (*Plan, error) {
	s := newFullStream(dir, stored, now, rules, PageRules{}, page)
	p, err := finishFull(s, stored)
	if err == nil {
		err = materializeErr(p)
	}
	return p, err
}

// materializeErr is materialize for a helper without a *testing.T.
func materializeErr(p *Plan) error {
	var all []*Action
	if err := p.Each(func(a *Action) error { all = append(all, a); return nil }); err != nil {
		return err
	}
	p.Actions, p.staged = all, factList{}
	return nil
}

func newFullStream(dir []ums.User, stored []ums.User, now time.Time, rules Rules, pr PageRules, page int) *Stream {
	s := NewStream(now, rules, pr, &memShelf{})
	for len(dir) > 0 {
		n := min(page, len(dir))
		var rows []ums.User
		for _, u := range stored {
			for _, d := range dir[:n] {
				if d.Anchor == u.Anchor {
					rows = append(rows, u)
					break
				}
			}
		}
		if _, err := s.Page(rows, dir[:n]); err != nil {
			panic(err) // a memShelf does not fail
		}
		dir = dir[n:]
	}
	return s
}

// finishFull ends a full stream as the engine does: it tells s of the
// stored users, hands it the rows of those Unseen names, and finishes.
func finishFull(s *Stream, stored []ums.User) (*Plan, error) {
	for _, u := range stored {
		s.Stored(u.Anchor, u.State == ums.StateActive)
	}
	var gone []ums.User
	for _, a := range s.Unseen() {
		for _, u := range stored {
			if u.Anchor == a {
				gone = append(gone, u)
			}
		}
	}
	if err := s.Gone(gone); err != nil {
		return nil, err
	}
	return s.Finish()
}
