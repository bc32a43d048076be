package plan

import (
	"cmp"
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

// licenses applies the seat cap deterministically (ixi-UMS deactivates "the
// first users read out", which depends on read order):
//
//   - a user who is not eligible holds no license;
//   - an eligible user keeps a seat already held — unless there are more
//     holders than seats (the seats shrank): then the most recently
//     activated lose theirs first (ties: the later first seen, then the
//     greater sAMAccountName) and become pending;
//   - free seats go to the other eligible users in wait order
//     (cmpWaiting: profile priority, then the time they were first seen,
//     then sAMAccountName);
//   - the rest wait as pending and get a seat when one frees.
//
// seats <= 0 means no cap: every eligible user is active. It calls change
// for every user whose state changes, in a stable order, and reorders
// users in place.
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
	slices.SortFunc(wait, cmpWaiting)
	taken := fmt.Sprintf("all %d seats are taken", seats)
	for i, u := range wait {
		if i < free {
			set(u, ums.LicenseActive, "a seat is free")
		} else {
			set(u, ums.LicensePending, taken)
		}
	}
}

// cmpWaiting is the wait order, in which the eligible users without a
// seat get a free one: profile priority (lower first), then the time they
// were first seen (earlier first), then sAMAccountName, then anchor (two
// stored users may share a sAMAccountName).
func cmpWaiting(a, b Seat) int {
	return cmp.Or(cmp.Compare(a.Priority, b.Priority), a.FirstSeen.Compare(b.FirstSeen),
		cmp.Compare(a.SAMAccountName, b.SAMAccountName), cmp.Compare(a.Anchor, b.Anchor))
}

// WaitOrder sorts users (those waiting for a seat: license pending) in the
// order the license cap gives them a seat as seats free: the one order
// the cap, `umsync license` and the status page show. priority ranks a
// user's settings profile as ApplyLicenses takes it (nil ranks all alike).
func WaitOrder(users []ums.User, priority func(profile string) int) {
	seats := make([]Seat, len(users))
	for i := range users {
		u := &users[i]
		seats[i] = Seat{Anchor: u.Anchor, SAMAccountName: u.SAMAccountName, FirstSeen: u.FirstSeen, ref: i}
		if priority != nil {
			seats[i].Priority = priority(ums.ProfileOf(u.Settings))
		}
	}
	slices.SortFunc(seats, cmpWaiting)
	sorted := make([]ums.User, len(users))
	for i, s := range seats {
		sorted[i] = users[s.ref]
	}
	copy(users, sorted)
}

// ApplyLicenses runs the seat cap over the users of the plan and outside:
// the stored users the plan does not act on, as compact seats (the ones
// eligible or holding a license; a seat of a user in the plan is ignored).
// The changes go into the users' actions. When a user outside the plan
// must change, it changes nothing and returns those users' anchors,
// sorted: the caller fetches their rows, adds them (Adopt) and calls it
// again, so a full cycle holds the rows of only the users whose license
// changes. A user is eligible when active and not a phantom. now stamps
// the seats granted; priority ranks the users of the plan waiting for a
// seat (lower first; nil ranks all alike; outside seats carry theirs).
func (p *Plan) ApplyLicenses(seats int, outside []Seat, now time.Time, priority func(profile string) int) (adopt []string) {
	outside = p.notActedOn(outside)
	list := make([]Seat, 0, len(outside)+p.Len())
	refs := make([]int, 0, cap(list)) // action index behind each seat; -1 outside the plan, -2-i staged p.staged[i]
	rank := func(profile string) int {
		if priority == nil {
			return 0
		}
		return priority(profile)
	}
	for j, a := range p.Actions {
		if a.Kind == Purge {
			continue
		}
		u := &a.After
		lic := u.License
		if lic == "" {
			lic = ums.LicenseNone
		}
		list = append(list, Seat{Anchor: u.Anchor, SAMAccountName: u.SAMAccountName, Eligible: u.Eligible(),
			License: lic, Since: u.LicenseSince, FirstSeen: u.FirstSeen, Priority: rank(ums.ProfileOf(u.Settings)), ref: len(refs)})
		refs = append(refs, j)
	}
	for i := range p.staged {
		f := &p.staged[i]
		if f.Kind() == Purge {
			continue
		}
		list = append(list, Seat{Anchor: f.anchor, SAMAccountName: f.sam, Eligible: f.eligible,
			License: f.License(), Since: f.Since(), FirstSeen: f.FirstSeen(), Priority: rank(f.profile), ref: len(refs)})
		refs = append(refs, -2-i) // staged: -2 - its index in p.staged
	}
	for _, s := range outside {
		if s.License == "" {
			s.License = ums.LicenseNone
		}
		s.ref = len(refs)
		list = append(list, s)
		refs = append(refs, -1)
	}
	// Without a cap every user created changes: a change is 8 bytes, its
	// reason an index in reasons.
	type change struct {
		ref int32
		to  uint8 // index in licenseStates
		why uint16
	}
	var (
		changes []change
		reasons []string
	)
	licenses(seats, list, func(s Seat, to ums.LicenseState, reason string) {
		if refs[s.ref] == -1 {
			adopt = append(adopt, s.Anchor)
			return
		}
		why := slices.Index(reasons, reason)
		if why < 0 {
			why = len(reasons)
			reasons = append(reasons, reason)
		}
		changes = append(changes, change{int32(refs[s.ref]), indexOf(licenseStates, to), uint16(why)})
	})
	if len(adopt) > 0 {
		slices.Sort(adopt)
		return adopt
	}
	p.d.now, p.d.reasons = now, reasons
	for _, c := range changes {
		if c.ref <= -2 { // staged: Each applies it
			f := &p.staged[-2-c.ref]
			f.licenseTo, f.licenseWhy = c.to+1, c.why
			continue
		}
		p.Actions[c.ref].setLicense(licenseChange{licenseStates[c.to], reasons[c.why]}, now)
	}
	return nil
}

// notActedOn returns the seats of outside whose users the plan does not
// act on (the plan ranks those with what it makes of them). The set it
// looks them up in is made of the smaller side: a first sync acts on
// everyone, a nightly one on a few.
func (p *Plan) notActedOn(outside []Seat) []Seat {
	if len(outside) <= p.Len() {
		at := make(map[string]int, len(outside))
		for i := range outside {
			at[outside[i].Anchor] = i
		}
		drop := make([]bool, len(outside))
		p.walk(func(a *Action) error {
			if i, ok := at[a.After.Anchor]; ok {
				drop[i] = true
			}
			return nil
		}, func(f *fact) error {
			if i, ok := at[f.anchor]; ok {
				drop[i] = true
			}
			return nil
		})
		var out []Seat
		for i := range outside {
			if !drop[i] {
				out = append(out, outside[i])
			}
		}
		return out
	}
	inPlan := p.Anchors()
	var out []Seat
	for _, s := range outside {
		if !inPlan[s.Anchor] {
			out = append(out, s)
		}
	}
	return out
}

// DropSeats returns seats without the users of adopt whose rows were not
// found (rows): deleted since their seat was read (an import), they hold
// none now and are not ranked.
func DropSeats(seats []Seat, adopt []string, rows []ums.User) []Seat {
	gone := make(map[string]bool, len(adopt))
	for _, a := range adopt {
		gone[a] = true
	}
	for _, u := range rows {
		delete(gone, u.Anchor)
	}
	return slices.DeleteFunc(seats, func(s Seat) bool { return gone[s.Anchor] })
}

// Adopt adds an update without changes for each stored user in rows that
// the plan does not act on yet, for a rule to change (ApplyLicenses).
func (p *Plan) Adopt(rows []ums.User, now time.Time) {
	if len(rows) == 0 {
		return
	}
	inPlan := p.Anchors()
	for _, u := range rows {
		if !inPlan[u.Anchor] {
			u.UpdatedAt = now
			p.Actions = append(p.Actions, &Action{Kind: Update, After: u})
		}
	}
	sortActions(p.Actions)
}

// ApplyPhantoms marks the planned users that are members of the phantom
// group, and adds an update for each user in flip (stored users outside
// the plan whose membership changed). It returns how many users changed
// their phantom flag.
func (p *Plan) ApplyPhantoms(members map[string]bool, flip []ums.User, now time.Time) int {
	n := 0
	inPlan := p.Anchors() // the staged users were marked when their page was planned
	for _, a := range p.Actions {
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
