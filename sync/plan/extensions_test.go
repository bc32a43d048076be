package plan

import (
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
	taken := map[string]bool{"2000": true, "2002": true /* in AD or quarantined */}
	free, short := p.AssignExtensions(ranges, taken, stored)
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
