package plan

import (
	"fmt"
	"slices"
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

	ref int // ApplyLicenses' index of the user
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
	licenses(seats, slices.Clone(users), func(u Seat, to ums.LicenseState, reason string) {
		out = append(out, LicenseChange{u.Anchor, u.SAMAccountName, u.License, to, reason})
	})
	return out
}

// licenses calls change for every user whose state changes (see Licenses).
// It reorders users in place.
func licenses(seats int, users []Seat, change func(u Seat, to ums.LicenseState, reason string)) {
	set := func(u Seat, to ums.LicenseState, reason string) {
		if u.License != to {
			change(u, to, reason)
		}
	}
	// Partition in place: holders, then the waiting; the others leave.
	n := 0
	for _, u := range users {
		if !u.Eligible {
			set(u, ums.LicenseNone, "not eligible (deactivated, out of scope or phantom)")
			continue
		}
		users[n] = u
		n++
	}
	eligible := users[:n]
	holders := 0
	for i, u := range eligible {
		if u.License == ums.LicenseActive {
			eligible[i], eligible[holders] = eligible[holders], eligible[i]
			holders++
		}
	}
	held, wait := eligible[:holders], eligible[holders:]
	if seats <= 0 {
		for _, u := range wait {
			set(u, ums.LicenseActive, "no license cap")
		}
		return
	}
	if excess := len(held) - seats; excess > 0 {
		sort.Slice(held, func(i, j int) bool { // most recently activated first
			a, b := held[i], held[j]
			if !a.Since.Equal(b.Since) {
				return a.Since.After(b.Since)
			}
			if !a.FirstSeen.Equal(b.FirstSeen) {
				return a.FirstSeen.After(b.FirstSeen)
			}
			return a.SAMAccountName > b.SAMAccountName
		})
		reason := fmt.Sprintf("seats reduced to %d: the most recently activated lose their seat first", seats)
		for _, u := range held[:excess] {
			set(u, ums.LicensePending, reason)
		}
		return // nobody waiting gets a seat
	}
	free := seats - len(held)
	sort.Slice(wait, func(i, j int) bool {
		a, b := wait[i], wait[j]
		if a.Priority != b.Priority {
			return a.Priority < b.Priority
		}
		if !a.FirstSeen.Equal(b.FirstSeen) {
			return a.FirstSeen.Before(b.FirstSeen)
		}
		return a.SAMAccountName < b.SAMAccountName
	})
	taken := fmt.Sprintf("all %d seats are taken", seats)
	for i, u := range wait {
		if i < free {
			set(u, ums.LicenseActive, "a seat is free")
		} else {
			set(u, ums.LicensePending, taken)
		}
	}
}

// ApplyLicenses runs the seat cap over current — every user in the store
// as this plan leaves it — and adds the changes to the plan: into a user's
// action, or as an update of its own. A user is eligible when active.
// now stamps the seats granted; priority ranks the users waiting for a
// seat (lower first; nil ranks all alike), by their settings profile.
func (p *Plan) ApplyLicenses(seats int, current []ums.User, now time.Time, priority func(u *ums.User) int) {
	if seats <= 0 {
		p.applyNoCap(current, now)
		return
	}
	// refs[i] is the user behind seat i: action j's After, or a stored user
	// (u, with action -1).
	type ref struct {
		u      *ums.User
		action int
	}
	var idx map[string]int
	if len(current) > 0 {
		idx = make(map[string]int, len(p.Actions))
		for i, a := range p.Actions {
			idx[a.After.Anchor] = i
		}
	}
	refs := make([]ref, 0, len(current)+len(p.Actions))
	list := make([]Seat, 0, len(current)+len(p.Actions))
	add := func(u *ums.User, action int) {
		lic := u.License
		if lic == "" {
			lic = ums.LicenseNone
		}
		prio := 0
		if priority != nil {
			prio = priority(u)
		}
		list = append(list, Seat{SAMAccountName: u.SAMAccountName, Eligible: u.Eligible(),
			License: lic, Since: u.LicenseSince, FirstSeen: u.FirstSeen, Priority: prio, ref: len(refs)})
		refs = append(refs, ref{u, action})
	}
	inCurrent := 0
	for i := range current {
		if j, ok := idx[current[i].Anchor]; ok {
			inCurrent++
			if p.Actions[j].Kind != Purge {
				add(&p.Actions[j].After, j)
			}
			continue
		}
		add(&current[i], -1)
	}
	if inCurrent < len(p.Actions) { // created in this cycle: not in the store yet
		seen := make(map[string]bool, len(current))
		for i := range current {
			seen[current[i].Anchor] = true
		}
		for j := range p.Actions {
			if p.Actions[j].Kind == Create && !seen[p.Actions[j].After.Anchor] {
				add(&p.Actions[j].After, j)
			}
		}
	}
	licenses(seats, list, func(s Seat, to ums.LicenseState, reason string) {
		r := refs[s.ref]
		if r.action < 0 {
			next := *r.u
			next.UpdatedAt = now
			p.Actions = append(p.Actions, &Action{Kind: Update, After: next})
			r.action = len(p.Actions) - 1
		}
		// By index: appending may have moved the actions.
		u := &p.Actions[r.action].After
		u.License, u.LicenseSince = to, time.Time{}
		if to == ums.LicenseActive {
			u.LicenseSince = now
		}
		p.Actions[r.action].License = reason
	})
	sortActions(p.Actions)
}

// applyNoCap is ApplyLicenses without a cap: every eligible user holds a
// license, nobody waits. It needs no ranking, so it builds nothing of the
// size of the directory (a first sync of 50,000 users grants 50,000).
func (p *Plan) applyNoCap(current []ums.User, now time.Time) {
	want := func(u *ums.User) (ums.LicenseState, string) {
		if u.Eligible() {
			return ums.LicenseActive, "no license cap"
		}
		return ums.LicenseNone, "not eligible (deactivated, out of scope or phantom)"
	}
	set := func(u *ums.User, a *Action) {
		to, reason := want(u)
		if u.License == to || (u.License == "" && to == ums.LicenseNone) {
			return
		}
		u.License, u.LicenseSince = to, time.Time{}
		if to == ums.LicenseActive {
			u.LicenseSince = now
		}
		a.License = reason
	}
	acted := make(map[string]bool, len(p.Actions))
	for i := range p.Actions {
		a := p.Actions[i]
		acted[a.After.Anchor] = true
		if a.Kind != Purge {
			set(&a.After, a)
		}
	}
	for i := range current {
		u := current[i]
		if acted[u.Anchor] {
			continue
		}
		if to, _ := want(&u); u.License == to || (u.License == "" && to == ums.LicenseNone) {
			continue
		}
		u.UpdatedAt = now
		p.Actions = append(p.Actions, &Action{Kind: Update, After: u})
		set(&p.Actions[len(p.Actions)-1].After, p.Actions[len(p.Actions)-1])
	}
	sortActions(p.Actions)
}

// ApplyPhantoms marks the planned users that are members of the phantom
// group, and adds an update for each user in flip (stored users outside
// the plan whose membership changed). It returns how many users changed
// their phantom flag.
func (p *Plan) ApplyPhantoms(members map[string]bool, flip []ums.User, now time.Time) int {
	n := 0
	inPlan := make(map[string]bool, len(p.Actions))
	for _, a := range p.Actions {
		inPlan[a.After.Anchor] = true
		if a.Kind == Purge {
			continue
		}
		if a.After.Phantom != members[a.After.Anchor] {
			a.After.Phantom = members[a.After.Anchor]
			n++
		}
	}
	for _, u := range flip {
		if inPlan[u.Anchor] || u.Phantom == members[u.Anchor] {
			continue
		}
		u.Phantom, u.UpdatedAt = members[u.Anchor], now
		p.Actions = append(p.Actions, &Action{Kind: Update, After: u,
			Changes: []ums.Change{{Field: "phantom", Old: fmt.Sprint(!u.Phantom), New: fmt.Sprint(u.Phantom)}}})
		n++
	}
	sortActions(p.Actions)
	return n
}
