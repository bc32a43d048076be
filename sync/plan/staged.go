package plan

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/umsync/umsync/ums"
)

// Shelf keeps a full cycle's actions out of memory while the plan is made
// (the engine's is a 0600 file that lives as long as the cycle): Put
// stores one and says where, Get brings it back as it was put. The plan
// calls it and does no I/O of its own, as Write calls an io.Writer.
type Shelf interface {
	Put(a *Action) (ref int, err error)
	Get(ref int) (*Action, error)
}

// fact is a staged action (on the Shelf) as the rules that rank everyone
// see it: enough to decide the extension pool, the license cap and the
// safety limits. Each fetches the action and finishes it with what the
// rules decided. It is kept small, as a full cycle holds one per changed
// user (104 bytes and its strings; 192 with time.Time and ints, measured
// as 11.5 MB live at 50,000 created users): times as Unix nanoseconds,
// kind and license as a byte, a deactivation's label in Plan.labels.
type fact struct {
	anchor, sam, extension string
	// profile is the settings profile the user has once the profiles are
	// applied (the license cap ranks by it); a name of the config's, not
	// a piece of the user's settings that would keep them alive.
	profile          string
	firstSeen, since int64 // UnixNano; 0 is the zero time
	// writes and conflicts count the action's directory writes and
	// conflicts: as staged until Each has finished it, then final.
	writes, conflicts int32
	ref               int32 // where the Shelf keeps it
	kind              uint8 // index in kinds; 0: emptied by a later reading
	license           uint8 // index in licenseStates
	// licenseTo is what the license cap decided (1 + index in
	// licenseStates; 0: nothing), for the reason decisions.reasons[licenseWhy]:
	// kept here, not in a map by anchor, since without a cap every user
	// created gets one (3.5 MB as a map at 50,000).
	licenseTo  uint8
	licenseWhy uint16
	eligible   bool
	// numbersMoved: the action creates, (de)activates or renumbers a user.
	numbersMoved bool
	// settingsDue: the profiles will change its settings (counted by
	// ApplyProfiles; Each applies them).
	settingsDue bool
}

var (
	kinds         = []Kind{"", Create, Update, Reactivate, Deactivate, Purge}
	licenseStates = []ums.LicenseState{ums.LicenseNone, ums.LicensePending, ums.LicenseActive}
)

func (f *fact) Kind() Kind                { return kinds[f.kind] }
func (f *fact) License() ums.LicenseState { return licenseStates[f.license] }
func (f *fact) FirstSeen() time.Time      { return fromNanos(f.firstSeen) }
func (f *fact) Since() time.Time          { return fromNanos(f.since) }
func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

func indexOf[T comparable](list []T, v T) uint8 {
	for i, x := range list {
		if x == v {
			return uint8(i)
		}
	}
	panic(fmt.Sprintf("plan: %v is not one of %v", v, list))
}

// licenseChange is what the license cap decided for one user.
type licenseChange struct {
	to     ums.LicenseState
	reason string
}

// decisions are what the rules decided for the staged actions; Each
// applies them to each action as it is fetched, in the order the rules
// ran: extension, profile settings, license, validation.
type decisions struct {
	extension map[string]string // anchor -> the number given
	short     map[string]bool   // anchors the pool had no number for
	profiles  *Profiles
	reasons   []string // the license cap's reasons, each once (fact.licenseWhy)
	limits    *ums.Limits
	now       time.Time
}

func (d *decisions) giveExtension(anchor, n string) {
	if d.extension == nil {
		d.extension = map[string]string{}
	}
	d.extension[anchor] = n
}

func (d *decisions) poolShort(anchor string) {
	if d.short == nil {
		d.short = map[string]bool{}
	}
	d.short[anchor] = true
}

// factOf is a's fact; ps (nil: no profiles) tells the profile it will
// have. A deactivation's label goes to labels.
func factOf(a *Action, ps *Profiles, ref int, labels map[string]string) fact {
	u := &a.After
	lic := u.License
	if lic == "" {
		lic = ums.LicenseNone
	}
	f := fact{kind: indexOf(kinds, a.Kind), anchor: u.Anchor, sam: u.SAMAccountName, eligible: u.Eligible(),
		extension: u.Extension, firstSeen: nanos(u.FirstSeen), license: indexOf(licenseStates, lic), since: nanos(u.LicenseSince),
		numbersMoved: a.numbersMoved(), writes: int32(len(a.Writes)), conflicts: int32(len(a.Conflicts)), ref: int32(ref)}
	profile := ums.ProfileOf(u.Settings)
	if ps != nil {
		// The digit rule reads the extension the pool may still give;
		// the profile does not depend on it.
		if enc, problems, ok := ps.effective(u); ok && (enc != u.Settings || len(problems) > 0) {
			profile, f.settingsDue = ums.ProfileOf(enc), enc != u.Settings
		}
		profile = ps.intern(profile)
	} else if profile != "" {
		profile = strings.Clone(profile)
	}
	f.profile = profile
	if a.Kind == Deactivate {
		labels[u.Anchor] = ums.Label(u.SAMAccountName, ums.DisplayName(u.DisplayName, u.GivenName, u.Surname), u.Anchor) +
			": " + u.DeactivationReason
	}
	return f
}

// finish applies the rules' decisions to a staged action, as the rules
// applied them to the actions in memory.
func (d *decisions) finish(a *Action, f *fact) {
	anchor := a.After.Anchor
	if n, ok := d.extension[anchor]; ok {
		a.edit(ums.FieldExtension, n, true)
	}
	if d.short[anchor] {
		a.Problems = append(a.Problems, ums.Problem{Field: ums.FieldExtension, Text: ProblemPoolExhausted})
	}
	if d.profiles != nil && a.Kind != Purge {
		d.profiles.apply(a)
	}
	if f.licenseTo > 0 {
		a.setLicense(licenseChange{licenseStates[f.licenseTo-1], d.reasons[f.licenseWhy]}, d.now)
	}
	if d.limits != nil && a.Kind != Purge {
		a.Problems = append(a.Problems, ums.Validate(&a.After, *d.limits)...)
	}
}

// setLicense gives the action's user the license c decided.
func (a *Action) setLicense(c licenseChange, now time.Time) {
	u := &a.After
	u.License, u.LicenseSince = c.to, time.Time{}
	if c.to == ums.LicenseActive {
		u.LicenseSince = now
	}
	a.License = c.reason
}

// Len is how many users the plan acts on, staged or in memory.
func (p *Plan) Len() int { return len(p.Actions) + len(p.staged) }

// Each calls fn with every action of the plan, in the order a plan prints
// (kind, sAMAccountName, anchor): the actions in memory as they are, the
// staged ones fetched from the shelf and finished with the rules'
// decisions. The Writes and Conflicts of each fact are final afterwards.
func (p *Plan) Each(fn func(*Action) error) error {
	return p.walk(fn, func(f *fact) error {
		a, err := p.shelf.Get(int(f.ref))
		if err != nil {
			return err
		}
		p.d.finish(a, f)
		f.writes, f.conflicts = int32(len(a.Writes)), int32(len(a.Conflicts))
		return fn(a)
	})
}

// walk calls inMemory and staged in the order a plan prints, merging the
// actions in memory (sorted by the rules) with the staged facts.
func (p *Plan) walk(inMemory func(*Action) error, staged func(*fact) error) error {
	i, j := 0, 0 // both sorted: the actions by the rules, the facts by Stream.Finish
	for i < len(p.Actions) || j < len(p.staged) {
		if j == len(p.staged) || (i < len(p.Actions) && !factLess(&p.staged[j], p.Actions[i])) {
			if err := inMemory(p.Actions[i]); err != nil {
				return err
			}
			i++
			continue
		}
		f := &p.staged[j]
		j++
		if err := staged(f); err != nil {
			return err
		}
	}
	return nil
}

// factLess orders a fact before an action as sortActions would.
func factLess(f *fact, a *Action) bool {
	return less(f.Kind(), f.sam, f.anchor, a.Kind, a.After.SAMAccountName, a.After.Anchor)
}

func less(k1 Kind, sam1, anchor1 string, k2 Kind, sam2, anchor2 string) bool {
	if kindOrder[k1] != kindOrder[k2] {
		return kindOrder[k1] < kindOrder[k2]
	}
	if sam1 != sam2 {
		return sam1 < sam2
	}
	return anchor1 < anchor2
}

func sortFacts(fs []fact) {
	sort.SliceStable(fs, func(i, j int) bool {
		return less(fs[i].Kind(), fs[i].sam, fs[i].anchor, fs[j].Kind(), fs[j].sam, fs[j].anchor)
	})
}

// numbersMoved: the action creates, (de)activates, purges or changes a
// number that must be unique among active users.
func (a *Action) numbersMoved() bool {
	if a.Kind != Update {
		return true
	}
	for _, c := range a.Changes {
		for _, f := range numberFields {
			if c.Field == f {
				return true
			}
		}
	}
	return false
}
