package plan

import (
	"fmt"
	"sort"
	"time"

	"github.com/umsync/umsync/ums"
)

// Seat is a user as the license cap sees it.
type Seat struct {
	Anchor         string
	SAMAccountName string
	// Eligible: active in the directory, in scope, not a phantom.
	Eligible bool
	License  ums.LicenseState
	// Since is when the user got the seat it holds (License active).
	Since     time.Time
	FirstSeen time.Time
	// Priority of the user's settings profile; lower goes first.
	Priority int
}

// LicenseChange is one user's new license state and why.
type LicenseChange struct {
	Anchor, SAMAccountName string
	From, To               ums.LicenseState
	Reason                 string
}

// Licenses applies the seat cap deterministically (ixi-UMS deactivates "the
// first users read out", which depends on read order):
//
//   - a user who is not eligible holds no license;
//   - an eligible user keeps a seat already held — unless there are more
//     holders than seats (the seats shrank): then the most recently
//     activated lose theirs first (ties: the later first seen, then the
//     greater sAMAccountName) and become pending;
//   - free seats go to the other eligible users by profile priority, then
//     the time they were first seen, then sAMAccountName;
//   - the rest wait as pending and get a seat when one frees.
//
// seats <= 0 means no cap: every eligible user is active. It returns the
// users whose state changes, in a stable order.
func Licenses(seats int, users []Seat) []LicenseChange {
	var out []LicenseChange
	change := func(u Seat, to ums.LicenseState, reason string) {
		if u.License != to {
			out = append(out, LicenseChange{u.Anchor, u.SAMAccountName, u.License, to, reason})
		}
	}
	var holders, waiting []Seat
	for _, u := range users {
		switch {
		case !u.Eligible:
			change(u, ums.LicenseNone, "not eligible (deactivated, out of scope or phantom)")
		case u.License == ums.LicenseActive:
			holders = append(holders, u)
		default:
			waiting = append(waiting, u)
		}
	}
	if seats <= 0 {
		for _, u := range waiting {
			change(u, ums.LicenseActive, "no license cap")
		}
		return out
	}
	if excess := len(holders) - seats; excess > 0 {
		sort.Slice(holders, func(i, j int) bool { // most recently activated first
			a, b := holders[i], holders[j]
			if !a.Since.Equal(b.Since) {
				return a.Since.After(b.Since)
			}
			if !a.FirstSeen.Equal(b.FirstSeen) {
				return a.FirstSeen.After(b.FirstSeen)
			}
			return a.SAMAccountName > b.SAMAccountName
		})
		for _, u := range holders[:excess] {
			change(u, ums.LicensePending, fmt.Sprintf("seats reduced to %d: the most recently activated lose their seat first", seats))
		}
		return out // nobody waiting gets a seat
	}
	free := seats - len(holders)
	sort.Slice(waiting, func(i, j int) bool {
		a, b := waiting[i], waiting[j]
		if a.Priority != b.Priority {
			return a.Priority < b.Priority
		}
		if !a.FirstSeen.Equal(b.FirstSeen) {
			return a.FirstSeen.Before(b.FirstSeen)
		}
		return a.SAMAccountName < b.SAMAccountName
	})
	for i, u := range waiting {
		if i < free {
			change(u, ums.LicenseActive, "a seat is free")
		} else {
			change(u, ums.LicensePending, fmt.Sprintf("all %d seats are taken", seats))
		}
	}
	return out
}

// ApplyLicenses runs the seat cap over current — every user in the store
// as this plan leaves it — and adds the changes to the plan: into a user's
// action, or as an update of its own. A user is eligible when active.
// now stamps the seats granted.
func (p *Plan) ApplyLicenses(seats int, current []ums.User, now time.Time) []LicenseChange {
	idx := make(map[string]int, len(p.Actions))
	for i, a := range p.Actions {
		idx[a.After.Anchor] = i
	}
	byAnchor := make(map[string]*ums.User, len(current))
	list := make([]Seat, 0, len(current))
	add := func(u *ums.User) {
		byAnchor[u.Anchor] = u
		lic := u.License
		if lic == "" {
			lic = ums.LicenseNone
		}
		list = append(list, Seat{Anchor: u.Anchor, SAMAccountName: u.SAMAccountName, Eligible: u.State == ums.StateActive,
			License: lic, Since: u.LicenseSince, FirstSeen: u.FirstSeen})
	}
	for i := range current {
		u := &current[i]
		if j, ok := idx[u.Anchor]; ok {
			if p.Actions[j].Kind == Purge {
				continue
			}
			u = &p.Actions[j].After
		}
		add(u)
	}
	for i := range p.Actions { // created in this cycle: not in the store yet
		if _, ok := byAnchor[p.Actions[i].After.Anchor]; !ok && p.Actions[i].Kind == Create {
			add(&p.Actions[i].After)
		}
	}
	changes := Licenses(seats, list)
	for _, c := range changes {
		set := func(u *ums.User) {
			u.License = c.To
			u.LicenseSince = time.Time{}
			if c.To == ums.LicenseActive {
				u.LicenseSince = now
			}
		}
		if j, ok := idx[c.Anchor]; ok {
			set(&p.Actions[j].After)
			p.Actions[j].License = c.Reason
			continue
		}
		u := *byAnchor[c.Anchor]
		set(&u)
		u.UpdatedAt = now
		p.Actions = append(p.Actions, Action{Kind: Update, After: u, License: c.Reason})
		idx[c.Anchor] = len(p.Actions) - 1
	}
	sortActions(p.Actions)
	return changes
}
