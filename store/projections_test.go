package store

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/umsync/umsync/ums"
)

// TestProjectionsAgreeWithRows: the projections a full cycle plans over
// agree with the rows they stand for, over every state × phantom ×
// license × extension: EachSeat's Eligible is ums.User.Eligible, every
// user holding or waiting for a seat is listed (with no cap, exactly those
// whose license is wrong), UsersWithoutExtension are the eligible
// users without one, UserPages visits every user once, EachAnchorState every
// anchor with its state.
func TestProjectionsAgreeWithRows(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	t0 := time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC)
	var users []*ums.User
	i := 0
	for _, st := range []ums.State{ums.StateActive, ums.StateDeactivated} {
		for _, ph := range []bool{false, true} {
			for _, lic := range []ums.LicenseState{ums.LicenseNone, ums.LicenseActive, ums.LicensePending} {
				for _, ext := range []string{"", "2000"} {
					i++
					u := &ums.User{Anchor: fmt.Sprintf("00000000-0000-0000-0000-%012d", i), SAMAccountName: fmt.Sprintf("u%02d", i),
						DN: fmt.Sprintf("CN=u%02d,DC=x", i), State: st, Phantom: ph, License: lic, Enabled: st == ums.StateActive,
						FirstSeen: t0, UpdatedAt: t0, Settings: "ums1;prof=sales"}
					if ext != "" {
						u.Extension = fmt.Sprint(2000 + i)
					}
					if lic == ums.LicenseActive {
						u.LicenseSince = t0
					}
					if st == ums.StateDeactivated {
						u.DeactivationReason, u.DeactivatedAt = "x", t0
					}
					users = append(users, u)
				}
			}
		}
	}
	if _, err := s.ApplyCycle(ctx, CycleWrite{Users: users, Run: Run{Mode: "full", StartedAt: t0}}); err != nil {
		t.Fatal(err)
	}
	byAnchor := map[string]SeatFact{}
	if err := s.EachSeat(ctx, false, func(f SeatFact) { byAnchor[f.Anchor] = f }); err != nil {
		t.Fatal(err)
	}
	wrong := map[string]bool{}
	if err := s.EachSeat(ctx, true, func(f SeatFact) { wrong[f.Anchor] = true }); err != nil {
		t.Fatal(err)
	}
	noExt, err := s.UsersWithoutExtension(ctx)
	if err != nil {
		t.Fatal(err)
	}
	without := map[string]bool{}
	for _, u := range noExt {
		without[u.Anchor] = true
	}
	states := map[string]bool{}
	if err := s.EachAnchorState(ctx, func(a string, active bool) { states[a] = active }); err != nil {
		t.Fatal(err)
	}
	paged := map[string]int{}
	if err := s.UserPages(ctx, 5, func(page []ums.User) error {
		for _, u := range page {
			paged[u.Anchor]++
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		f, listed := byAnchor[u.Anchor]
		if want := u.Eligible() || u.License != ums.LicenseNone; listed != want {
			t.Errorf("%s (%s phantom %v %s): in SeatFacts %v, want %v", u.SAMAccountName, u.State, u.Phantom, u.License, listed, want)
		}
		if listed && (f.Eligible != u.Eligible() || f.License != u.License || !f.Since.Equal(u.LicenseSince) || !f.FirstSeen.Equal(u.FirstSeen) || f.Profile != "sales") {
			t.Errorf("%s: fact %+v, row %+v", u.SAMAccountName, f, u)
		}
		want := u.License != ums.LicenseNone // not eligible: any license is wrong
		if u.Eligible() {
			want = u.License != ums.LicenseActive
		}
		if wrong[u.Anchor] != want {
			t.Errorf("%s (%s phantom %v %s): listed with no cap %v, want %v", u.SAMAccountName, u.State, u.Phantom, u.License,
				wrong[u.Anchor], want)
		}
		if want := u.Eligible() && u.Extension == ""; without[u.Anchor] != want {
			t.Errorf("%s: without extension %v, want %v", u.SAMAccountName, without[u.Anchor], want)
		}
		if active, ok := states[u.Anchor]; !ok || active != (u.State == ums.StateActive) {
			t.Errorf("%s: EachAnchorState %v %v", u.SAMAccountName, active, ok)
		}
		if paged[u.Anchor] != 1 {
			t.Errorf("%s: paged %d times", u.SAMAccountName, paged[u.Anchor])
		}
	}
	if len(states) != len(users) || len(paged) != len(users) {
		t.Errorf("states %d, paged %d, want %d", len(states), len(paged), len(users))
	}
}
