package plan

import (
	"maps"
	"math"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/umsync/umsync/ums"
)

func TestAssignExtensions(t *testing.T) {
	mk := func(sam string, firstMin int, ext string, state ums.State) ums.User {
		u := dirUser("a-"+sam, sam, state == ums.StateActive)
		u.Extension, u.State = ext, state
		u.FirstSeen = now.Add(time.Duration(firstMin) * time.Minute)
		return u
	}
	ranges := []Range{{From: 2000, To: 2003}, {From: 2010, To: 2011}}
	stored := []ums.User{
		mk("has", 0, "2000", ums.StateActive),
		mk("old", 1, "", ums.StateActive),       // stored, needs one (full cycle)
		mk("gone", 0, "", ums.StateDeactivated), // deactivated: none
	}
	p := &Plan{}
	for _, u := range []ums.User{mk("new2", 9, "", ums.StateActive), mk("new1", 5, "", ums.StateActive),
		mk("new3", 9, "", ums.StateActive), mk("new4", 9, "", ums.StateActive), mk("new5", 9, "", ums.StateActive)} {
		p.Actions = append(p.Actions, &Action{Kind: Create, After: u})
	}
	taken := NewTaken(ranges)
	taken.Add("2000")
	taken.Add("2002") // in AD or quarantined
	free, short := p.AssignExtensions(taken, stored)
	got := map[string]string{}
	for _, a := range p.Actions {
		got[a.After.SAMAccountName] = a.After.Extension
		if a.After.Extension != "" && (len(a.Writes) != 1 || a.Writes[0].New != a.After.Extension ||
			a.After.BaseOf(ums.FieldExtension) != "") {
			t.Errorf("%s: writes %v base %q", a.After.SAMAccountName, a.Writes, a.After.BaseOf(ums.FieldExtension))
		}
	}
	// By first seen, then name: old (1), new1 (5), new2, new3, new4, new5 (9).
	want := map[string]string{"old": "2001", "new1": "2003", "new2": "2010", "new3": "2011", "new4": "", "new5": ""}
	for sam, ext := range want {
		if got[sam] != ext {
			t.Errorf("%s got %q, want %q (all: %v)", sam, got[sam], ext, got)
		}
	}
	if free != 0 || short != 2 {
		t.Errorf("free %d short %d, want 0 and 2", free, short)
	}
	for _, a := range p.Actions {
		if a.After.SAMAccountName == "new5" && (len(a.Problems) != 1 || a.Problems[0].Text != ProblemPoolExhausted) {
			t.Errorf("new5 problems %v", a.Problems)
		}
	}
	if _, ok := got["gone"]; ok {
		t.Error("a deactivated user got an extension")
	}
}

// TestTaken: the set keeps the pool's numbers only, as the pool writes
// them; anything else can never collide with a number it hands out.
func TestTaken(t *testing.T) {
	pool := []Range{{From: 0, To: 9}, {From: 2000, To: 2129}, {From: 2100, To: 2199}}
	for _, c := range []struct {
		name  string
		add   []string
		taken []int
		free  int // 10 + 130 + 100 in all
	}{
		{name: "nothing", free: 240},
		{name: "in the first range", add: []string{"0", "9"}, taken: []int{0, 9}, free: 238},
		{name: "across a word of bits", add: []string{"2063", "2064", "2099"}, taken: []int{2063, 2064, 2099}, free: 237},
		{name: "in two overlapping ranges (counted in each)", add: []string{"2100"}, taken: []int{2100}, free: 238},
		{name: "twice", add: []string{"2001", "2001"}, taken: []int{2001}, free: 239},
		{name: "outside the ranges", add: []string{"10", "1999", "2200", "99999999999"}, free: 240},
		{name: "not as the pool writes them", add: []string{"02001", "+2001", "2001 ", "20 01", "", "-1", "2001x",
			"9999999999999999999999"}, free: 240},
		{name: "more than an int holds", add: []string{"9223372036854775808", "18446744073709553615"}, free: 240},
	} {
		t.Run(c.name, func(t *testing.T) {
			taken := NewTaken(pool)
			for _, n := range c.add {
				taken.Add(n)
			}
			for n := range 2300 {
				want := slices.Contains(c.taken, n)
				if got := taken.has(n); got != want {
					t.Errorf("has(%d) = %v, want %v", n, got, want)
				}
			}
			if f := taken.free(); f != c.free {
				t.Errorf("free = %d, want %d", f, c.free)
			}
		})
	}
	// The largest numbers a range may hold (19 digits).
	top := NewTaken([]Range{{From: math.MaxInt - 2, To: math.MaxInt}})
	top.Add(strconv.Itoa(math.MaxInt - 2))
	top.Add(strconv.Itoa(math.MaxInt))
	if !top.has(math.MaxInt-2) || top.has(math.MaxInt-1) || !top.has(math.MaxInt) || top.free() != 1 {
		t.Errorf("19-digit numbers: has %v %v %v, free %d", top.has(math.MaxInt-2), top.has(math.MaxInt-1),
			top.has(math.MaxInt), top.free())
	}
}

// TestAssignExtensionsAtTheTopOfInt: a range that ends at the largest int
// hands out each of its numbers once, then none (n++ must not wrap round
// to negative numbers).
func TestAssignExtensionsAtTheTopOfInt(t *testing.T) {
	p := &Plan{}
	for _, sam := range []string{"a", "b", "c"} {
		u := dirUser("a-"+sam, sam, true)
		u.FirstSeen, u.Extension, u.State = now, "", ums.StateActive
		p.Actions = append(p.Actions, &Action{Kind: Create, After: u})
	}
	free, short := p.AssignExtensions(NewTaken([]Range{{From: math.MaxInt - 1, To: math.MaxInt}}), nil)
	got := map[string]string{}
	for _, a := range p.Actions {
		got[a.After.SAMAccountName] = a.After.Extension
	}
	want := map[string]string{"a": strconv.Itoa(math.MaxInt - 1), "b": strconv.Itoa(math.MaxInt), "c": ""}
	if !maps.Equal(got, want) || free != 0 || short != 1 {
		t.Errorf("got %v free %d short %d, want %v, 0 free, 1 short", got, free, short, want)
	}
}
