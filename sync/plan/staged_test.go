package plan

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/umsync/umsync/ums"
)

// TestStagedRulesDecideAsInMemory: a full plan's changed users wait on the
// shelf as facts while the rules that rank everyone decide (extension
// pool, profiles, license cap, validation), and each is finished when
// Each fetches it. Over random directories and stores, that gives the
// same printed plan and the same mails as running the rules over every
// action in memory (materialized before the rules, as a delta does).
func TestStagedRulesDecideAsInMemory(t *testing.T) {
	for seed := range uint64(300) {
		rng := rand.New(rand.NewPCG(seed, 7))
		read, stored, members := randomDomain(rng)
		ps := testProfiles()
		ps.Members[0] = members
		pr := PageRules{Phantoms: map[string]bool{}, Profiles: &ps}
		for _, u := range read {
			if rng.IntN(8) == 0 {
				pr.Phantoms[u.Anchor] = true
			}
		}
		seats := rng.IntN(len(stored) + 3) // 0: no cap
		page := 1 + rng.IntN(4)

		inMemory := rulesApplied(t, read, stored, pr, seats, page, true)
		staged := rulesApplied(t, read, stored, pr, seats, page, false)
		if inMemory != staged {
			t.Fatalf("seed %d (seats %d, page %d): staged plan differs\nstaged:\n%s\nin memory:\n%s", seed, seats, page, staged, inMemory)
		}
	}
}

// rulesApplied plans a full cycle through a Stream, applies the rules as
// the engine does and prints the plan and its mails; materialized brings
// every action into memory before the rules run.
func rulesApplied(t *testing.T, read, stored []ums.User, pr PageRules, seats, page int, materialized bool) string {
	t.Helper()
	s := newFullStream(read, stored, now, nil, pr, page)
	p, err := finishFull(s, stored)
	if err != nil {
		t.Fatal(err)
	}
	if materialized {
		materialize(t, p)
	}
	inPlan := p.Anchors()
	var also []ums.User // the stored users without an extension, as UsersWithoutExtension gives them
	taken := NewTaken([]Range{{From: 2000, To: 2000 + len(stored)/2}})
	for _, u := range stored {
		if u.Extension != "" {
			taken.Add(u.Extension)
		} else if !inPlan[u.Anchor] && u.Eligible() {
			also = append(also, u)
		}
	}
	p.AssignExtensions(taken, also)
	p.ApplyProfiles(*pr.Profiles, nil, now)
	applyLicenses(t, p, seats, stored, pr.Profiles.List.Priority)
	p.Validate(ums.Limits{ExtensionMin: 4, ExtensionMax: 4})
	var b strings.Builder
	var mails []string
	if err := p.Each(func(a *Action) error {
		for _, m := range a.Mails(true, now) {
			mails = append(mails, m.Key)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := p.Write(&b); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(&b, "numbers moved %v\nmails %v\n%s", p.NumbersMoved(), mails, p.Deactivations(3))
	return b.String()
}

// randomDomain is a small store and a directory read of it: users changed,
// disabled, new, gone, with and without extensions, licenses and
// settings; members are the first profile's group.
func randomDomain(rng *rand.Rand) (read, stored []ums.User, members map[string]bool) {
	members = map[string]bool{}
	licenses := []ums.LicenseState{ums.LicenseNone, ums.LicenseActive, ums.LicensePending}
	n := 3 + rng.IntN(10)
	for i := range n {
		d := dirUser(fmt.Sprintf("a%02d", i), fmt.Sprintf("u%02d", rng.IntN(n)), rng.IntN(5) > 0) // names may repeat
		if rng.IntN(3) == 0 {
			d.Extension = ""
		} else {
			d.Extension = fmt.Sprint(2000 + rng.IntN(n))
		}
		if rng.IntN(3) == 0 {
			members[d.Anchor] = true
		}
		if rng.IntN(4) > 0 { // stored
			state := ums.StateActive
			if rng.IntN(5) == 0 {
				state = ums.StateDeactivated
			}
			u := storedUser(d, state, ReasonDisabled)
			u.FirstSeen = t0.Add(-time.Duration(rng.IntN(5)) * time.Hour)
			u.License = licenses[rng.IntN(3)]
			if u.License == ums.LicenseActive {
				u.LicenseSince = t0
			}
			if rng.IntN(2) == 0 {
				u.Settings = "ums1;svc=fax;prof=staff"
			}
			stored = append(stored, u)
		}
		switch rng.IntN(5) {
		case 0: // gone from the directory
			continue
		case 1:
			d.Department = "changed"
		}
		read = append(read, d)
	}
	if len(read) == 0 {
		read = append(read, dirUser("new", "new", true))
	}
	rng.Shuffle(len(read), func(i, j int) { read[i], read[j] = read[j], read[i] }) // read order is the directory's
	return read, stored, members
}

// TestFactList: the chunked list keeps its facts in order across chunk
// boundaries through Set, keep (which drops the emptied ones) and sort
// (in print order).
func TestFactList(t *testing.T) {
	var l factList
	const n = 3*factChunk + 7
	for i := range n {
		l.Push(fact{anchor: fmt.Sprintf("a%05d", i), sam: fmt.Sprintf("s%03d", (n-i)%500), kind: uint8(1 + i%3)})
	}
	if l.Len() != n || l.at(n-1).anchor != fmt.Sprintf("a%05d", n-1) || len(l.chunks) != 4 {
		t.Fatalf("after %d pushes: len %d, %d chunks, last %q", n, l.Len(), len(l.chunks), l.at(l.Len()-1).anchor)
	}
	l.Set(factChunk, fact{}) // emptied by a later reading
	var want []string
	for i := range n {
		if i%5 == 0 {
			l.at(i).kind = 0
		}
		if f := l.at(i); f.kind != 0 {
			want = append(want, f.anchor)
		}
	}
	l.keep(func(f *fact) bool { return f.kind != 0 })
	var got []string
	for i := range l.Len() {
		got = append(got, l.at(i).anchor)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("keep: %d facts %v…, want %d %v…", len(got), got[:3], len(want), want[:3])
	}
	if len(l.chunks) != (len(want)+factChunk-1)/factChunk {
		t.Errorf("keep left %d chunks for %d facts", len(l.chunks), len(want))
	}
	l.Push(fact{anchor: "new", sam: "s000", kind: 1}) // the list goes on after keep
	if f := l.at(l.Len() - 1); f.anchor != "new" {
		t.Fatalf("pushed after keep, the last fact is %+v", *f)
	}
	l.sort()
	for i := 1; i < l.Len(); i++ {
		a, b := l.at(i-1), l.at(i)
		if less(b.Kind(), b.sam, b.anchor, a.Kind(), a.sam, a.anchor) {
			t.Fatalf("not sorted at %d: %+v before %+v", i, *a, *b)
		}
	}
	if l.Len() != len(want)+1 {
		t.Errorf("sort changed the length: %d", l.Len())
	}
}
