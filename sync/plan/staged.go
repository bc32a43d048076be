package plan

import (
	"fmt"
	"iter"
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

// licenseIndex is l's index in licenseStates ("" is none).
func licenseIndex(l ums.LicenseState) uint8 {
	if l == "" {
		l = ums.LicenseNone
	}
	return indexOf(licenseStates, l)
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
	f := fact{kind: indexOf(kinds, a.Kind), anchor: u.Anchor, sam: u.SAMAccountName, eligible: u.Eligible(),
		extension: u.Extension, firstSeen: nanos(u.FirstSeen), license: licenseIndex(u.License), since: nanos(u.LicenseSince),
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
func (p *Plan) Len() int { return len(p.Actions) + p.staged.Len() }

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
	for i < len(p.Actions) || j < p.staged.Len() {
		if j == p.staged.Len() || (i < len(p.Actions) && !factLess(p.staged.at(j), p.Actions[i])) {
			if err := inMemory(p.Actions[i]); err != nil {
				return err
			}
			i++
			continue
		}
		f := p.staged.at(j)
		j++
		if err := staged(f); err != nil {
			return err
		}
	}
	return nil
}

// factList holds the staged facts in chunks of factChunk. It grows
// without copying: one slice of 200,000 facts (21 MB) was copied each time
// it grew, the old array and the new one live at once, and that spike set
// the peak of a first sync.
type factList struct {
	chunks [][]fact
	n      int
}

const factChunk = 1024 // facts, about 100 KB

// Len is how many facts the list holds.
func (l *factList) Len() int { return l.n }

// at is the i-th fact.
func (l *factList) at(i int) *fact { return &l.chunks[i/factChunk][i%factChunk] }

// all yields each fact with its index, in order.
func (l *factList) all() iter.Seq2[int, *fact] {
	return func(yield func(int, *fact) bool) {
		for i := range l.n {
			if !yield(i, l.at(i)) {
				return
			}
		}
	}
}

// Set replaces the i-th fact.
func (l *factList) Set(i int, f fact) { *l.at(i) = f }

// Push adds f at the end.
func (l *factList) Push(f fact) {
	if l.n%factChunk == 0 {
		l.chunks = append(l.chunks, make([]fact, 0, factChunk))
	}
	c := &l.chunks[len(l.chunks)-1]
	*c = append(*c, f)
	l.n++
}

// keep drops the facts keep is false for, in place.
func (l *factList) keep(keep func(*fact) bool) {
	n := 0
	for _, f := range l.all() {
		if keep(f) {
			*l.at(n) = *f
			n++
		}
	}
	chunks := (n + factChunk - 1) / factChunk
	for i := n; i < chunks*factChunk && i < l.n; i++ {
		*l.at(i) = fact{} // let their strings go
	}
	clear(l.chunks[chunks:]) // and the chunks no longer used
	l.chunks = l.chunks[:chunks]
	if n%factChunk != 0 {
		last := &l.chunks[len(l.chunks)-1]
		*last = (*last)[:n%factChunk]
	}
	l.n = n
}

// sort orders the facts as a plan prints (kind, sAMAccountName, anchor).
func (l *factList) sort() { sort.Stable(factOrder{l}) }

type factOrder struct{ l *factList }

func (o factOrder) Len() int { return o.l.n }
func (o factOrder) Less(i, j int) bool {
	a, b := o.l.at(i), o.l.at(j)
	return less(a.Kind(), a.sam, a.anchor, b.Kind(), b.sam, b.anchor)
}
func (o factOrder) Swap(i, j int) { a, b := o.l.at(i), o.l.at(j); *a, *b = *b, *a }

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
