package plan

import (
	"cmp"
	"fmt"
	"slices"
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

// slot is a user as licenses ranks it: 32 bytes, with its names looked up
// (names) only to break ties. ApplyLicenses makes one for every user of a
// first sync; as a Seat each (120 bytes with its copied strings) that list
// was 23 MB at 200,000 users, the peak of the cycle.
type slot struct {
	since, firstSeen int64 // nanos
	ref              int32 // the user, in the numbering of whoever made the slots
	priority         int32
	license          uint8 // index in licenseStates
	eligible         bool
}

// names gives the sAMAccountName and anchor of the user behind a slot's
// ref.
type names func(ref int32) (sam, anchor string)

// seatSlot is s as a slot numbered ref.
func seatSlot(s Seat, ref int) slot {
	return slot{since: nanos(s.Since), firstSeen: nanos(s.FirstSeen), ref: int32(ref), priority: int32(s.Priority),
		license: licenseIndex(s.License), eligible: s.Eligible}
}

var activeIndex = licenseIndex(ums.LicenseActive)

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
func licenses(seats int, users []slot, name names, change func(u slot, to ums.LicenseState, reason string)) {
	set := func(u slot, to ums.LicenseState, reason string) {
		if licenseStates[u.license] != to {
			change(u, to, reason)
		}
	}
	// Partition in place: holders, then the waiting; the others leave.
	n := 0
	for _, u := range users {
		if !u.eligible {
			set(u, ums.LicenseNone, "not eligible (deactivated, out of scope or phantom)")
			continue
		}
		users[n] = u
		n++
	}
	eligible := users[:n]
	holders := 0
	for i, u := range eligible {
		if u.license == activeIndex {
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
		slices.SortFunc(held, func(a, b slot) int { // most recently activated first
			if c := cmp.Or(cmp.Compare(b.since, a.since), cmp.Compare(b.firstSeen, a.firstSeen)); c != 0 {
				return c
			}
			samA, _ := name(a.ref)
			samB, _ := name(b.ref)
			return cmp.Compare(samB, samA)
		})
		reason := fmt.Sprintf("seats reduced to %d: the most recently activated lose their seat first", seats)
		for _, u := range held[:excess] {
			set(u, ums.LicensePending, reason)
		}
		return // nobody waiting gets a seat
	}
	free := seats - len(held)
	slices.SortFunc(wait, func(a, b slot) int { return cmpWaiting(a, b, name) })
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
func cmpWaiting(a, b slot, name names) int {
	if c := cmp.Or(cmp.Compare(a.priority, b.priority), cmp.Compare(a.firstSeen, b.firstSeen)); c != 0 {
		return c
	}
	samA, anchorA := name(a.ref)
	samB, anchorB := name(b.ref)
	return cmp.Or(cmp.Compare(samA, samB), cmp.Compare(anchorA, anchorB))
}

// WaitOrder sorts users (those waiting for a seat: license pending) in the
// order the license cap gives them a seat as seats free: the one order
// the cap, `umsync license` and the status page show. priority ranks a
// user's settings profile as ApplyLicenses takes it (nil ranks all alike).
func WaitOrder(users []ums.User, priority func(profile string) int) {
	slots := make([]slot, len(users))
	for i := range users {
		u := &users[i]
		slots[i] = slot{firstSeen: nanos(u.FirstSeen), ref: int32(i)}
		if priority != nil {
			slots[i].priority = int32(priority(ums.ProfileOf(u.Settings)))
		}
	}
	name := func(ref int32) (string, string) { return users[ref].SAMAccountName, users[ref].Anchor }
	slices.SortFunc(slots, func(a, b slot) int { return cmpWaiting(a, b, name) })
	sorted := make([]ums.User, len(users))
	for i, s := range slots {
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
	// A slot's ref numbers the actions first, then the staged users, then
	// the seats outside.
	nActions, nStaged := len(p.Actions), p.staged.Len()
	name := func(ref int32) (string, string) {
		switch r := int(ref); {
		case r < nActions:
			return p.Actions[r].After.SAMAccountName, p.Actions[r].After.Anchor
		case r < nActions+nStaged:
			f := p.staged.at(r - nActions)
			return f.sam, f.anchor
		default:
			s := &outside[r-nActions-nStaged]
			return s.SAMAccountName, s.Anchor
		}
	}
	rank := func(profile string) int32 {
		if priority == nil {
			return 0
		}
		return int32(priority(profile))
	}
	list := make([]slot, 0, len(outside)+p.Len())
	for j, a := range p.Actions {
		if a.Kind == Purge {
			continue
		}
		u := &a.After
		list = append(list, slot{since: nanos(u.LicenseSince), firstSeen: nanos(u.FirstSeen), ref: int32(j),
			priority: rank(ums.ProfileOf(u.Settings)), license: licenseIndex(u.License), eligible: u.Eligible()})
	}
	for i, f := range p.staged.all() {
		if f.Kind() == Purge {
			continue
		}
		list = append(list, slot{since: f.since, firstSeen: f.firstSeen, ref: int32(nActions + i),
			priority: rank(f.profile), license: f.license, eligible: f.eligible})
	}
	for k, s := range outside {
		list = append(list, seatSlot(s, nActions+nStaged+k))
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
	licenses(seats, list, name, func(s slot, to ums.LicenseState, reason string) {
		if int(s.ref) >= nActions+nStaged {
			_, anchor := name(s.ref)
			adopt = append(adopt, anchor)
			return
		}
		why := slices.Index(reasons, reason)
		if why < 0 {
			why = len(reasons)
			reasons = append(reasons, reason)
		}
		changes = append(changes, change{s.ref, licenseIndex(to), uint16(why)})
	})
	if len(adopt) > 0 {
		slices.Sort(adopt)
		return adopt
	}
	p.d.now, p.d.reasons = now, reasons
	for _, c := range changes {
		if int(c.ref) >= nActions { // staged: Each applies it
			f := p.staged.at(int(c.ref) - nActions)
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
