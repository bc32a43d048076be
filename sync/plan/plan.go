package plan

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/umsync/umsync/ums"
)

// Reasons a user is deactivated; they are stored and logged as they are.
const (
	ReasonDisabled   = "disabled in directory"
	ReasonNotInScope = "not found in directory scope"
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
)

// Action is one user's change: After is the row to write.
type Action struct {
	Kind    Kind
	After   ums.User
	Changes []ums.Change // for update and reactivate; for deactivate, what else changed
}

// Plan is everything a cycle would change.
type Plan struct {
	Actions   []Action
	Read      int // users read from the directory (after removing duplicates)
	Unchanged int
	// Duplicates lists anchors the directory returned more than once (e.g.
	// overlapping base DNs); the first occurrence was used.
	Duplicates []string
}

// Count returns how many actions are of kind k.
func (p *Plan) Count(k Kind) int {
	n := 0
	for _, a := range p.Actions {
		if a.Kind == k {
			n++
		}
	}
	return n
}

// Users returns the rows to write.
func (p *Plan) Users() []ums.User {
	out := make([]ums.User, len(p.Actions))
	for i, a := range p.Actions {
		out[i] = a.After
	}
	return out
}

// Full reconciles a complete read of the directory with the store: every
// store user not read is out of scope. now stamps the changed rows.
func Full(dir []ums.User, stored []ums.User, now time.Time) (*Plan, error) {
	if len(dir) == 0 && len(stored) > 0 {
		return nil, ErrEmptyRead
	}
	byAnchor := make(map[string]*ums.User, len(stored))
	for i := range stored {
		byAnchor[stored[i].Anchor] = &stored[i]
	}
	p := &Plan{}
	seen := make(map[string]bool, len(dir))
	for _, d := range dir {
		if seen[d.Anchor] {
			p.Duplicates = append(p.Duplicates, d.Anchor)
			continue
		}
		seen[d.Anchor] = true
		p.Read++
		old, ok := byAnchor[d.Anchor]
		if !ok {
			p.Actions = append(p.Actions, created(d, now))
			continue
		}
		if a, changed := updated(*old, d, now); changed {
			p.Actions = append(p.Actions, a)
		} else {
			p.Unchanged++
		}
	}
	for i := range stored {
		s := stored[i]
		if seen[s.Anchor] {
			continue
		}
		if s.State == ums.StateDeactivated {
			p.Unchanged++
			continue
		}
		p.Actions = append(p.Actions, Action{Kind: Deactivate, After: deactivated(s, ReasonNotInScope, now)})
	}
	sortActions(p.Actions)
	return p, nil
}

func created(d ums.User, now time.Time) Action {
	d.FirstSeen, d.UpdatedAt = now, now
	d.State, d.DeactivationReason, d.DeactivatedAt = ums.StateActive, "", time.Time{}
	if !d.Enabled {
		d = deactivated(d, ReasonDisabled, now)
	}
	return Action{Kind: Create, After: d}
}

// updated merges the directory's view d into the stored user old.
func updated(old, d ums.User, now time.Time) (Action, bool) {
	changes := old.Diff(&d)
	next := old
	next.DN, next.SAMAccountName, next.GivenName, next.Surname = d.DN, d.SAMAccountName, d.GivenName, d.Surname
	next.DisplayName, next.Mail, next.Department, next.Extension = d.DisplayName, d.Mail, d.Department, d.Extension
	next.Phone, next.Mobile, next.FaxNumbers, next.Enabled = d.Phone, d.Mobile, d.FaxNumbers, d.Enabled
	next.UpdatedAt = now

	switch {
	case old.State == ums.StateActive && !d.Enabled:
		return Action{Kind: Deactivate, After: deactivated(next, ReasonDisabled, now), Changes: changes}, true
	case old.State == ums.StateDeactivated && d.Enabled:
		next.State, next.DeactivationReason, next.DeactivatedAt = ums.StateActive, "", time.Time{}
		return Action{Kind: Reactivate, After: next, Changes: changes}, true
	case old.State == ums.StateDeactivated && old.DeactivationReason != ReasonDisabled:
		// Back in scope but still disabled: the reason changes.
		next.DeactivationReason = ReasonDisabled
		return Action{Kind: Update, After: next, Changes: changes}, true
	case len(changes) > 0:
		return Action{Kind: Update, After: next, Changes: changes}, true
	}
	return Action{}, false
}

func deactivated(u ums.User, reason string, now time.Time) ums.User {
	u.State, u.DeactivationReason, u.DeactivatedAt, u.UpdatedAt = ums.StateDeactivated, reason, now, now
	return u
}

var kindOrder = map[Kind]int{Create: 0, Update: 1, Reactivate: 2, Deactivate: 3}

func sortActions(as []Action) {
	sort.SliceStable(as, func(i, j int) bool {
		if kindOrder[as[i].Kind] != kindOrder[as[j].Kind] {
			return kindOrder[as[i].Kind] < kindOrder[as[j].Kind]
		}
		if as[i].After.SAMAccountName != as[j].After.SAMAccountName {
			return as[i].After.SAMAccountName < as[j].After.SAMAccountName
		}
		return as[i].After.Anchor < as[j].After.Anchor
	})
}

// Write prints the plan for humans (dry-run): one line per user, one
// indented line per changed field, and a summary line.
func (p *Plan) Write(w io.Writer) error {
	var b strings.Builder
	for _, a := range p.Actions {
		u := a.After
		fmt.Fprintf(&b, "%-10s %s (%s) %s", a.Kind, u.SAMAccountName, u.DisplayName, u.Anchor)
		if u.State == ums.StateDeactivated {
			fmt.Fprintf(&b, " [deactivated: %s]", u.DeactivationReason)
		}
		b.WriteByte('\n')
		for _, c := range a.Changes {
			fmt.Fprintf(&b, "           %s: %q -> %q\n", c.Field, c.Old, c.New)
		}
	}
	for _, d := range p.Duplicates {
		fmt.Fprintf(&b, "duplicate  %s (read more than once; first kept)\n", d)
	}
	fmt.Fprintf(&b, "read %d, create %d, update %d, reactivate %d, deactivate %d, unchanged %d\n",
		p.Read, p.Count(Create), p.Count(Update), p.Count(Reactivate), p.Count(Deactivate), p.Unchanged)
	_, err := io.WriteString(w, b.String())
	return err
}
