package plan

import (
	"slices"
	"strings"

	"github.com/umsync/umsync/ums"
)

// The decisions below tell the engine which facts a cycle must gather
// (and which rules must run) for a finished plan. Each takes what the
// engine gathered as values and does no I/O; each is cheap when nothing
// changed, so an idle delta asks the store and the directory for nothing
// it does not need.

// PhantomsDue says whether a cycle compares the phantom marks in the
// directory with the store's: when a phantom group is configured, and in
// every full cycle (which clears the marks when the group was removed).
func PhantomsDue(configured, full bool) bool {
	return configured || full
}

// PhantomFlips lists, sorted, the users whose phantom mark in the
// directory (members) differs from the store's (stored): the stored users
// outside the plan that ApplyPhantoms must update.
func PhantomFlips(members, stored map[string]bool) []string {
	var flips []string
	for a := range members {
		if !stored[a] {
			flips = append(flips, a)
		}
	}
	for a := range stored {
		if !members[a] {
			flips = append(flips, a)
		}
	}
	slices.Sort(flips)
	return flips
}

// ExtensionsDue says whether a cycle hands out extensions: a pool is
// configured and someone active in the plan lacks one; a full cycle looks
// at everyone, so it always runs the pool.
func ExtensionsDue(pool []Range, full bool, p *Plan) bool {
	if len(pool) == 0 {
		return false
	}
	if full {
		return true
	}
	for _, a := range p.Actions {
		if a.Kind != Purge && a.After.Eligible() && a.After.Extension == "" {
			return true
		}
	}
	return false // a plan with staged users is a full one
}

// Default is the name of the profile of a user in no profile group (""
// when every profile has a group).
func (ps *Profiles) Default() string {
	return ps.name(ps.Of(""))
}

// intern returns the config's string for a profile's name (a clone of
// name if no profile has it), so a fact does not keep the user's
// settings, which name came out of, alive.
func (ps *Profiles) intern(name string) string {
	for i := range ps.List {
		if ps.List[i].Name == name {
			return ps.List[i].Name
		}
	}
	return strings.Clone(name)
}

func (ps *Profiles) name(i int) string {
	if i < 0 {
		return ""
	}
	return ps.List[i].Name
}

// ProfileMoves lists, sorted, the users whose group membership now puts
// them in another profile than the one their stored settings name — the
// users a delta must compute the settings of, besides those in the plan
// (membership changes do not touch the user entry). stored maps each
// stored user not in the default profile to its profile's name; a member
// of a profile group missing there was in the default profile.
func ProfileMoves(ps *Profiles, stored map[string]string) []string {
	def := ps.Default()
	var moved []string
	for a, prof := range stored {
		if ps.name(ps.Of(a)) != prof {
			moved = append(moved, a)
		}
	}
	for _, m := range ps.Members {
		for a := range m {
			if _, listed := stored[a]; !listed && ps.name(ps.Of(a)) != def {
				moved = append(moved, a)
			}
		}
	}
	slices.Sort(moved)
	return slices.Compact(moved)
}

// LicenseDue says whether a cycle runs the license cap over all users:
// always in a full cycle; in a delta when the seat count changed since the
// last cycle (seatsBefore, stored with the watermark), when a phantom mark
// flipped (phantomFlips), or when someone came, went, was reactivated or
// deactivated.
func LicenseDue(full bool, seatsBefore, seats, phantomFlips int, p *Plan) bool {
	if full || seatsBefore != seats || phantomFlips > 0 {
		return true
	}
	for _, a := range p.Actions {
		switch a.Kind {
		case Create, Reactivate, Deactivate, Purge:
			return true
		}
	}
	return false
}

// numberFields are the fields whose numbers must be unique among active
// users.
var numberFields = []ums.Field{ums.FieldExtension, ums.FieldMobile, ums.FieldFaxNumbers, ums.FieldAliasNumbers}

// NumbersMoved says whether a number that must be unique among active
// users (extension, mobile, fax and alias numbers) may have changed hands
// in this plan — a user came, went or changed one of them — so that the
// store must look for duplicates again.
func (p *Plan) NumbersMoved() bool {
	for _, a := range p.Actions {
		if a.numbersMoved() {
			return true
		}
	}
	for _, f := range p.staged.all() {
		if f.numbersMoved {
			return true
		}
	}
	return len(p.d.extension) > 0
}

// SafetyDue says whether the safety limits must look at this plan: only a
// plan that deactivates someone can break them, so only then does the
// engine count the users active before the cycle for CheckSafety.
func (p *Plan) SafetyDue() bool {
	return p.Count(Deactivate) > 0
}
