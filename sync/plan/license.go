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
