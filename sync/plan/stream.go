package plan

import (
	"time"

	"github.com/umsync/umsync/ums"
)

// Stream plans a full cycle page by page, while the directory is read:
// each Page brings a page of users read and the stored rows of those
// users, plans them against each other, applies the rules that need only
// the user itself (PageRules) and puts what changed on the Shelf, keeping
// a fact of it. An unchanged user leaves nothing behind but its anchor in
// the seen set, so a full cycle of 50,000 users holds one page of rows at
// a time, never the whole store, however many of them change.
//
// After the read, Stored is told of every stored user, Unseen names the
// active ones the cycle did not read, and Gone deactivates them onto the
// shelf as the engine fetches their rows a page at a time. The
// rules that rank everyone (the license cap, the extension pool) run on
// the finished plan over compact facts (fact, Seat, and the rows Adopt
// brings in).
type Stream struct {
	rules Rules
	now   time.Time
	page  PageRules
	shelf Shelf
	seen  map[string]int // anchor -> index in p.staged, or -1 if unchanged
	p     Plan
	// stored counts the stored users, unseen the active ones not read
	// (Stored).
	stored int
	unseen []string
}

// PageRules are the rules a full cycle applies to every user it reads,
// changed or not, with the user's row in hand.
type PageRules struct {
	// Phantoms are the users in scope marked phantom; nil clears every
	// mark (no phantom group).
	Phantoms map[string]bool
	// Profiles compute the effective settings (nil: no profiles).
	Profiles *Profiles
}

// NewStream starts a full plan; now stamps the changed rows. The changed
// users go to shelf; the plan keeps a fact of each.
func NewStream(now time.Time, rules Rules, page PageRules, shelf Shelf) *Stream {
	return &Stream{rules: rules, now: now, page: page, shelf: shelf, seen: map[string]int{}}
}

// Page plans the users read (in read order; a user read again replaces its
// earlier reading) against stored, the store's rows of them (those it
// has; any order), and puts the changed ones on the shelf. It returns how
// many users of the page changed; an error is the shelf's.
func (s *Stream) Page(stored, read []ums.User) (int, error) {
	pp := NewDelta(stored, s.now, s.rules)
	for _, d := range read {
		pp.Add(d)
	}
	p := &pp.p
	p.Actions = kept(p.Actions)
	inPlan := make(map[string]bool, len(p.Actions))
	for _, a := range p.Actions {
		inPlan[a.After.Anchor] = true
	}
	// The stored rows of the users the merge left alone: the page rules
	// may still change them (a phantom mark, a profile's settings).
	var rest []ums.User
	for i := range stored {
		if _, read := pp.seen[stored[i].Anchor]; read && !inPlan[stored[i].Anchor] {
			rest = append(rest, stored[i])
		}
	}
	p.ApplyPhantoms(s.page.Phantoms, rest, s.now)
	if ps := s.page.Profiles; ps != nil {
		// Profiles are applied once, to the finished plan (after the
		// extension pool, whose numbers the digit rule reads): here the
		// users they will change only join the plan.
		var due []ums.User
		for i := range rest {
			u := rest[i]
			u.Phantom = s.page.Phantoms[u.Anchor]
			if ps.Due(&u) {
				due = append(due, u)
			}
		}
		p.Adopt(due, s.now)
	}
	changed := make(map[string]*Action, len(p.Actions))
	for _, a := range p.Actions {
		changed[a.After.Anchor] = a
	}
	for anchor := range pp.seen {
		if err := s.put(anchor, changed[anchor]); err != nil {
			return 0, err
		}
	}
	return len(changed), nil
}

// put records the action a of anchor (nil: unchanged), on the shelf and
// as a fact, as record does for an action in memory: a later reading
// replaces an earlier one.
func (s *Stream) put(anchor string, a *Action) error {
	var f fact
	if a != nil {
		var err error
		if f, err = s.shelve(a); err != nil {
			return err
		}
	}
	record(s.seen, &s.p.staged, &s.p, anchor, f, a != nil)
	return nil
}

// Purge plans the deletion, for good, of users deactivated before cutoff
// (their retention has run out), unless this cycle read them again.
func (s *Stream) Purge(expired []ums.User, cutoff time.Time) { purge(s.seen, &s.p, expired, cutoff) }

// Held is how many actions the stream holds in memory besides a page
// (none during the read: the changed users are on the shelf).
func (s *Stream) Held() int { return len(s.p.Actions) }

// Stored tells the stream, after the read, of one stored user and whether
// it is active; the engine tells it of every stored user as the store
// lists them, so no map of the whole store is ever built.
func (s *Stream) Stored(anchor string, active bool) {
	s.stored++
	if _, ok := s.seen[anchor]; !ok && active {
		s.unseen = append(s.unseen, anchor)
	}
}

// Unseen lists the active stored users (of those Stored was told of) that
// the cycle did not read: they are out of scope now, and the engine
// fetches their rows for Gone.
func (s *Stream) Unseen() []string { return s.unseen }

// Gone deactivates as out of scope the users of rows (the rows of Unseen,
// which the engine fetches a page at a time): each goes to the shelf, as a
// changed user read does, with the phantom mark of the page rules. A user
// read, or not active, is left alone. An error is the shelf's.
func (s *Stream) Gone(rows []ums.User) error {
	for _, u := range rows {
		if _, ok := s.seen[u.Anchor]; ok || u.State != ums.StateActive {
			continue
		}
		a := &Action{Kind: Deactivate, After: deactivated(u, ReasonNotInScope, s.now)}
		a.After.Phantom = s.page.Phantoms[u.Anchor]
		f, err := s.shelve(a)
		if err != nil {
			return err
		}
		s.seen[u.Anchor] = s.p.staged.Len()
		s.p.staged.Push(f)
	}
	return nil
}

// shelve puts a on the shelf and returns its fact.
func (s *Stream) shelve(a *Action) (fact, error) {
	ref, err := s.shelf.Put(a)
	if err != nil {
		return fact{}, err
	}
	if s.p.labels == nil {
		s.p.labels = map[string]string{}
	}
	return factOf(a, s.page.Profiles, ref, s.p.labels), nil
}

// Finish returns the plan: the users read that changed and the users
// Gone deactivated (staged), the purges (in memory). A read of 0 users
// while the store holds some (as Stored counted them) is refused. Every
// stored user the plan does not act on counts as unchanged
// (RecountUnchanged; the engine counts again after the rules).
func (s *Stream) Finish() (*Plan, error) {
	p := &Plan{}
	*p = s.p
	s.p, s.seen, s.unseen = Plan{}, nil, nil // a plan of 50,000 must not keep the seen set alive
	if p.Read == 0 && s.stored > 0 {
		return nil, ErrEmptyRead
	}
	p.shelf = s.shelf
	p.staged.keep(func(f *fact) bool { return f.kind != 0 })
	p.full, p.stored = true, s.stored
	p.RecountUnchanged()
	sortActions(p.Actions)
	p.staged.sort()
	return p, nil
}

// kept drops the actions emptied by a later reading of their user.
func kept(actions []*Action) []*Action {
	out := actions[:0]
	for _, a := range actions {
		if a != nil {
			out = append(out, a)
		}
	}
	return out
}
