package plan

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/umsync/umsync/ums"
)

// Reasons a user is deactivated; they are stored and logged as they are.
const (
	ReasonDisabled   = "disabled in directory"
	ReasonNotInScope = "not found in directory scope"
	ReasonDeleted    = "deleted in directory"
)

// ErrEmptyRead refuses a cycle that read no users while the store has some.
var ErrEmptyRead = errors.New("directory returned 0 users but the store has users: refusing to deactivate everyone")

// Kind is what a cycle does to one user.
type Kind string

// The kinds of change, in the order a Plan prints them.
const (
	Create     Kind = "create"
	Update     Kind = "update"
	Reactivate Kind = "reactivate"
	Deactivate Kind = "deactivate"
	// Purge deletes a user deactivated longer than the retention period.
	Purge Kind = "purge"
)

// Action is one user's change: After is the row to write.
type Action struct {
	Kind    Kind
	After   ums.User
	Changes []ums.Change // for update and reactivate; for deactivate, what else changed
	// Writes are the fields to change in the directory (write-back).
	Writes []ums.FieldWrite
	// Conflicts are fields changed differently on both sides (manual
	// policy): neither side changes.
	Conflicts []ums.FieldConflict
	// Settled are two-way fields on which both sides agree now.
	Settled []ums.Field
	// License says why the user's license state changed ("" if it did not).
	License string
	// Problems are what is wrong with the user's fields: values read from
	// the directory that umsync cannot use (settings in an unknown format:
	// left as they are on both sides), rule violations (Validate), an
	// exhausted extension pool. They replace the user's recorded problems.
	Problems []ums.Problem
}

// Released are the extension numbers the action gives back: a purged
// user's, and the one a user had before its extension changed. They rest
// in quarantine before the pool hands them out again.
func (a *Action) Released() []string {
	var out []string
	if a.Kind == Purge && a.After.Extension != "" {
		out = append(out, a.After.Extension)
	}
	for _, c := range a.Changes {
		if c.Field == ums.FieldExtension && c.Old != "" {
			out = append(out, c.Old)
		}
	}
	return out
}

// Rules are the sync rules of the fields; a field without one comes from
// the directory.
type Rules map[ums.Field]Rule

// Get is f's rule.
func (r Rules) Get(f ums.Field) Rule {
	if rule, ok := r[f]; ok {
		return rule
	}
	return Rule{Direction: FromDirectory}
}

// Plan is everything a cycle would change.
type Plan struct {
	Actions   []*Action // pointers: a plan grows without copying them
	Read      int       // distinct users read from the directory
	Unchanged int

	// staged are the actions of a full cycle kept on the Shelf, as facts;
	// Each brings them back, finished with the rules' decisions.
	staged factList
	// labels name the staged deactivations for the safety alert, by anchor.
	labels map[string]string
	shelf  Shelf
	d      decisions
	// readUnchanged are the users a delta read and found unchanged: a
	// rule may still change them (RecountUnchanged).
	readUnchanged []string
	// full: a full plan over a store of stored users (RecountUnchanged).
	full   bool
	stored int
}

// Count returns how many actions are of kind k.
func (p *Plan) Count(k Kind) int {
	n := 0
	for _, a := range p.Actions {
		if a.Kind == k {
			n++
		}
	}
	for _, f := range p.staged.all() {
		if f.Kind() == k {
			n++
		}
	}
	return n
}

// RecountUnchanged sets Unchanged after the rules, whichever rule changed
// a user (the merge, a page rule, the license cap, the extension pool).
// Of a full plan: the stored users (as Stream.Stored counted them) that
// the plan leaves alone. Of a delta: the users read that no merge and no
// rule changed (a rule that changes a user read unchanged — a profile
// moved, a seat freed — takes it out).
func (p *Plan) RecountUnchanged() {
	if p.full {
		p.Unchanged = p.stored - (p.Len() - p.Count(Create))
		return
	}
	acted := p.Anchors()
	p.Unchanged = 0
	for _, a := range p.readUnchanged {
		if !acted[a] {
			p.Unchanged++
		}
	}
}

// Anchors is the set of users the plan acts on.
func (p *Plan) Anchors() map[string]bool {
	out := make(map[string]bool, p.Len())
	for _, a := range p.Actions {
		out[a.After.Anchor] = true
	}
	for _, f := range p.staged.all() {
		out[f.anchor] = true
	}
	return out
}

// Validate adds each user's rule violations (ums.Validate) to its action's
// problems (to a staged one's when Each fetches it).
func (p *Plan) Validate(l ums.Limits) {
	for _, a := range p.Actions {
		if a.Kind != Purge {
			a.Problems = append(a.Problems, ums.Validate(&a.After, l)...)
		}
	}
	p.d.limits = &l
}

// Writes counts the planned directory writes (of the staged actions:
// final once Each has run).
func (p *Plan) Writes() int {
	n := 0
	for _, a := range p.Actions {
		n += len(a.Writes)
	}
	for _, f := range p.staged.all() {
		n += int(f.writes)
	}
	return n
}

// Conflicts counts the conflicts found.
func (p *Plan) Conflicts() int {
	n := 0
	for _, a := range p.Actions {
		n += len(a.Conflicts)
	}
	for _, f := range p.staged.all() {
		n += int(f.conflicts)
	}
	return n
}

// Deactivations lists, for an admin, up to max users the plan deactivates
// with the reason: "Would deactivate: jdoe (Jürgen Müller): disabled in
// directory; … and 12 more".
func (p *Plan) Deactivations(max int) string {
	var all []string
	p.walk(func(a *Action) error {
		if a.Kind == Deactivate {
			u := &a.After
			all = append(all, ums.Label(u.SAMAccountName, ums.DisplayName(u.DisplayName, u.GivenName, u.Surname), u.Anchor)+
				": "+u.DeactivationReason)
		}
		return nil
	}, func(f *fact) error {
		if f.Kind() == Deactivate {
			all = append(all, p.labels[f.anchor])
		}
		return nil
	})
	if len(all) == 0 {
		return ""
	}
	out := "Would deactivate:\n  " + strings.Join(all[:min(max, len(all))], "\n  ")
	if len(all) > max {
		out += fmt.Sprintf("\n  … and %d more (umsync sync --dry-run lists all)", len(all)-max)
	}
	return out
}

// Planner builds the plan of a delta cycle while the directory is read:
// Add each user read as it arrives, Gone each changed object that left the
// scope, Purge the users whose retention ran out, then Finish. Only
// changed users are kept. (A full cycle plans page by page: Stream.)
type Planner struct {
	rules    Rules
	byAnchor map[string]*ums.User
	now      time.Time
	seen     map[string]int // anchor -> index in p.Actions, or -1 if unchanged
	p        Plan
}

// NewDelta starts a delta plan: stored holds (at least) the store's users
// among the changed objects; users not mentioned stay as they are.
func NewDelta(stored []ums.User, now time.Time, rules Rules) *Planner {
	byAnchor := make(map[string]*ums.User, len(stored))
	for i := range stored {
		byAnchor[stored[i].Anchor] = &stored[i]
	}
	return &Planner{rules: rules, byAnchor: byAnchor, now: now, seen: make(map[string]int, len(stored))}
}

// Add plans one user read from the directory. A user added again (it changed
// while the directory was read) replaces its earlier reading.
func (f *Planner) Add(d ums.User) {
	var (
		a       Action
		changed bool
	)
	if old, ok := f.byAnchor[d.Anchor]; ok {
		a, changed = updated(*old, d, f.now, f.rules)
	} else {
		a, changed = created(d, f.now, f.rules), true
	}
	f.put(d.Anchor, a, changed)
}

// put records the planned action of anchor, replacing an earlier one.
func (f *Planner) put(anchor string, a Action, changed bool) {
	record(f.seen, (*actionList)(&f.p.Actions), &f.p, anchor, &a, changed)
}

// entries are what record keeps the planned entries in: a planner's
// actions (actionList) or a stream's facts (factList).
type entries[T any] interface {
	Len() int
	Set(i int, v T)
	Push(v T)
}

// actionList is a planner's actions as entries.
type actionList []*Action

func (l *actionList) Len() int             { return len(*l) }
func (l *actionList) Set(i int, a *Action) { (*l)[i] = a }
func (l *actionList) Push(a *Action)       { *l = append(*l, a) }

// record puts v, the planned entry of anchor (an action, or a staged
// fact), in list, replacing the one of an earlier reading; changed false
// means the user is unchanged. seen maps each anchor read to its index in
// list, or -1 if unchanged; p counts the users read and unchanged. An
// entry emptied by a later reading is left as T's zero value (kept and
// Stream.Finish drop it).
func record[T any](seen map[string]int, list entries[T], p *Plan, anchor string, v T, changed bool) {
	prev, again := seen[anchor]
	switch {
	case !again:
		p.Read++
	case prev >= 0 && changed:
		list.Set(prev, v)
		return
	case prev >= 0: // changed before, back to the stored value now
		var zero T
		list.Set(prev, zero)
		seen[anchor] = -1
		p.Unchanged++
		return
	default: // unchanged before
		p.Unchanged--
	}
	if changed {
		seen[anchor] = list.Len()
		list.Push(v)
	} else {
		seen[anchor] = -1
		p.Unchanged++
	}
}

// Gone plans a changed directory object that is not in scope any more: a
// tombstone (deleted) or a user moved out of the base DNs. An active stored
// user is deactivated; objects the store does not know, and users already
// read in scope, are ignored.
func (f *Planner) Gone(anchor string, deleted bool) {
	if _, ok := f.seen[anchor]; ok {
		return
	}
	old, ok := f.byAnchor[anchor]
	if !ok || old.State != ums.StateActive {
		return
	}
	reason := ReasonNotInScope
	if deleted {
		reason = ReasonDeleted
	}
	f.seen[anchor] = len(f.p.Actions)
	f.p.Actions = append(f.p.Actions, &Action{Kind: Deactivate, After: deactivated(*old, reason, f.now)})
}

// Purge plans the deletion, for good, of users deactivated before cutoff
// (their retention has run out), unless this cycle read them again.
func (f *Planner) Purge(expired []ums.User, cutoff time.Time) { purge(f.seen, &f.p, expired, cutoff) }

func purge(seen map[string]int, p *Plan, expired []ums.User, cutoff time.Time) {
	for _, u := range expired {
		if _, ok := seen[u.Anchor]; ok || u.State != ums.StateDeactivated || !u.DeactivatedAt.Before(cutoff) {
			continue
		}
		seen[u.Anchor] = len(p.Actions)
		p.Actions = append(p.Actions, &Action{Kind: Purge, After: u})
	}
}

// Finish returns the plan.
func (f *Planner) Finish() (*Plan, error) {
	p := &Plan{}
	*p = f.p
	for a, i := range f.seen {
		if i < 0 {
			p.readUnchanged = append(p.readUnchanged, a)
		}
	}
	f.p, f.seen, f.byAnchor = Plan{}, nil, nil
	p.Actions = kept(p.Actions)
	sortActions(p.Actions)
	return p, nil
}

func created(d ums.User, now time.Time, rules Rules) Action {
	d.FirstSeen, d.UpdatedAt = now, now
	d.State, d.DeactivationReason, d.DeactivatedAt = ums.StateActive, "", time.Time{}
	d.License, d.LicenseSince = ums.LicenseNone, time.Time{} // the license cap decides
	// A new user's two-way fields start from the directory's values: the
	// store has no opinion yet.
	d.Base = nil // every base is the value read: they agree
	var problems []ums.Problem
	for _, f := range ums.Writable {
		if p := unusable(f, d.Get(f)); p != "" {
			problems = append(problems, ums.Problem{Field: f, Text: p})
			d.Set(f, "")
		}
	}
	if !d.Enabled {
		d = deactivated(d, ReasonDisabled, now)
	}
	return Action{Kind: Create, After: d, Problems: problems}
}

// unusable says why a directory value of f cannot be used ("" if it can):
// settings in a format this umsync does not read — perhaps a newer one —
// are neither taken nor overwritten.
func unusable(f ums.Field, v string) string {
	if f != ums.FieldSettings || v == "" {
		return ""
	}
	if _, err := ums.ParseSettings(v); err != nil {
		return fmt.Sprintf("settings left as they are: %v", err)
	}
	return ""
}

// updated merges the directory's view d into the stored user old: fields
// from the directory are taken, the others merged three-way (Merge).
func updated(old, d ums.User, now time.Time, rules Rules) (Action, bool) {
	next := old
	next.Base = slices.Clone(old.Base)
	next.DN, next.SAMAccountName, next.Enabled = d.DN, d.SAMAccountName, d.Enabled
	var a Action
	for _, f := range ums.Writable {
		r := rules.Get(f)
		dv := d.Get(f)
		if p := unusable(f, dv); p != "" {
			a.Problems = append(a.Problems, ums.Problem{Field: f, Text: p})
			continue
		}
		if r.Direction == FromDirectory {
			next.Set(f, dv)
			next.SetBase(f, dv) // drops a base left from a two-way rule
			continue
		}
		sv := old.Get(f)
		bv := old.BaseOf(f)
		m := Merge(r, dv, sv, Side{Value: bv, Known: true})
		next.Set(f, m.Store)
		if m.BaseSet {
			next.SetBase(f, m.Base)
			a.Settled = append(a.Settled, f)
		} else {
			next.SetBase(f, bv)
		}
		if m.WriteDirectory {
			a.Writes = append(a.Writes, ums.FieldWrite{Field: f, Old: dv, New: m.Store})
		}
		if m.Conflict {
			a.Conflicts = append(a.Conflicts, ums.FieldConflict{Field: f, Directory: dv, Store: sv, Base: bv, HasBase: true})
		}
	}
	a.Changes = old.Diff(&next)
	next.UpdatedAt = now
	a.After = next

	switch {
	case old.State == ums.StateActive && !d.Enabled:
		a.Kind, a.After = Deactivate, deactivated(next, ReasonDisabled, now)
	case old.State == ums.StateDeactivated && d.Enabled:
		a.After.State, a.After.DeactivationReason, a.After.DeactivatedAt = ums.StateActive, "", time.Time{}
		a.Kind = Reactivate
	case old.State == ums.StateDeactivated && old.DeactivationReason != ReasonDisabled:
		// Back in scope but still disabled: the reason changes.
		a.After.DeactivationReason = ReasonDisabled
		a.Kind = Update
	case len(a.Changes) > 0 || len(a.Writes) > 0 || len(a.Conflicts) > 0 || len(a.Problems) > 0 ||
		!slices.Equal(old.Base, next.Base):
		a.Kind = Update
	default:
		return Action{}, false
	}
	return a, true
}

func deactivated(u ums.User, reason string, now time.Time) ums.User {
	u.State, u.DeactivationReason, u.DeactivatedAt, u.UpdatedAt = ums.StateDeactivated, reason, now, now
	return u
}

var kindOrder = map[Kind]int{Create: 0, Update: 1, Reactivate: 2, Deactivate: 3, Purge: 4}

func sortActions(as []*Action) {
	sort.SliceStable(as, func(i, j int) bool {
		return less(as[i].Kind, as[i].After.SAMAccountName, as[i].After.Anchor, as[j].Kind, as[j].After.SAMAccountName, as[j].After.Anchor)
	})
}

// Write prints the plan for humans (dry-run): one line per user, one
// indented line per changed field, and a summary line.
func (p *Plan) Write(w io.Writer) error {
	var b strings.Builder
	err := p.Each(func(a *Action) error {
		writeAction(&b, a)
		if b.Len() < 1<<16 {
			return nil
		}
		_, err := io.WriteString(w, b.String())
		b.Reset()
		return err
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(&b, "read %d, create %d, update %d, reactivate %d, deactivate %d, purge %d, unchanged %d",
		p.Read, p.Count(Create), p.Count(Update), p.Count(Reactivate), p.Count(Deactivate), p.Count(Purge), p.Unchanged)
	if w, c := p.Writes(), p.Conflicts(); w > 0 || c > 0 {
		fmt.Fprintf(&b, "; to directory %d, conflicts %d", w, c)
	}
	b.WriteByte('\n')
	_, err = io.WriteString(w, b.String())
	return err
}

// writeAction prints one action: a line for the user, an indented line
// per changed field, write, license change, problem and conflict.
func writeAction(b *strings.Builder, a *Action) {
	u := a.After
	fmt.Fprintf(b, "%-10s %s (%s) %s", a.Kind, u.SAMAccountName, u.DisplayName, u.Anchor)
	if u.State == ums.StateDeactivated {
		fmt.Fprintf(b, " [deactivated: %s]", u.DeactivationReason)
	}
	b.WriteByte('\n')
	for _, c := range a.Changes {
		fmt.Fprintf(b, "           %s: %q -> %q\n", c.Field, c.Old, c.New)
	}
	for _, w := range a.Writes {
		fmt.Fprintf(b, "           to directory %s: %q -> %q\n", w.Field, w.Old, w.New)
	}
	if a.License != "" {
		fmt.Fprintf(b, "           license: %s (%s)\n", u.License, a.License)
	}
	for _, p := range a.Problems {
		fmt.Fprintf(b, "           problem %s: %s\n", p.Field, p.Text)
	}
	for _, c := range a.Conflicts {
		base := "none"
		if c.HasBase {
			base = fmt.Sprintf("%q", c.Base)
		}
		fmt.Fprintf(b, "           conflict %s: directory %q, store %q, base %s (manual: neither side changed)\n",
			c.Field, c.Directory, c.Store, base)
	}
}
