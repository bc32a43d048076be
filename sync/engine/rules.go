package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rs/zerolog"

	"github.com/umsync/umsync/directory"
	"github.com/umsync/umsync/store"
	"github.com/umsync/umsync/sync/plan"
	"github.com/umsync/umsync/ums"
)

// DirectoryFacts answers the rules' questions of the directory: group
// memberships and the values in use.
type DirectoryFacts interface {
	// Phantoms are the users in scope marked phantom (nil: none configured).
	Phantoms(ctx context.Context, st directory.ServerState) (map[string]bool, error)
	// Members are the users in scope in a group (nested included).
	Members(ctx context.Context, st directory.ServerState, group string) (map[string]bool, error)
	// UsedValues calls add with each value a field has anywhere in the
	// directory (a value may come more than once).
	UsedValues(ctx context.Context, st directory.ServerState, f ums.Field, add func(value string)) error
}

// RuleStore gives the rules compact projections of the store instead of
// every row: phantom marks, profile names, seats, numbers taken, counts —
// and the rows of the few users a rule changes.
type RuleStore interface {
	PhantomAnchors(ctx context.Context) (map[string]bool, error)
	ProfileAnchors(ctx context.Context, except string) (map[string]string, error)
	// EachSeat calls fn with each user the license cap ranks (only those
	// whose license is wrong, when wrongOnly).
	EachSeat(ctx context.Context, wrongOnly bool, fn func(store.SeatFact)) error
	UsersWithoutExtension(ctx context.Context) ([]ums.User, error)
	TakenExtensions(ctx context.Context, restingSince time.Time, add func(number string)) error
	CountByState(ctx context.Context) (map[ums.State]int, error)
}

// groups are the directory's group memberships a cycle's rules read,
// gathered before the directory read: a full cycle applies them page by
// page.
type groups struct {
	phantoms map[string]bool // nil: no phantom group configured
	profiles *plan.Profiles  // nil: no profiles
}

// pageRules are the rules a full cycle applies to every page it reads.
func (g groups) pageRules() plan.PageRules {
	return plan.PageRules{Phantoms: g.phantoms, Profiles: g.profiles}
}

// gather reads the phantom group's and each profile group's members (a
// membership change does not touch the user entry, so every cycle asks).
func (e *Engine) gather(ctx context.Context, c *cycle) error {
	var err error
	if c.groups.phantoms, err = e.dir.facts.Phantoms(ctx, c.st); err != nil {
		return staged(StageRead, err)
	}
	if len(e.ums.Profiles) == 0 {
		return nil
	}
	ps := &plan.Profiles{List: e.ums.Profiles, VoicemailDigits: e.ums.VoicemailDigits,
		Members: make([]map[string]bool, len(e.ums.Profiles)),
		Write:   e.fields.Get(ums.FieldSettings).Direction != plan.FromDirectory}
	for i, pr := range e.ums.Profiles {
		if pr.Group == "" {
			continue
		}
		if ps.Members[i], err = e.dir.facts.Members(ctx, c.st, pr.Group); err != nil {
			return staged(StageRead, fmt.Errorf("profile %s: %w", pr.Name, err))
		}
	}
	c.groups.profiles = ps
	return nil
}

// applyRules adds the UMS rules to a plan, in order: phantom users, the
// extension pool, settings profiles, the license cap (which ranks by
// profile), validation. For each rule the engine gathers the facts that
// sync/plan's decisions take — compact projections, and the rows of only
// the users a rule changes — and lets plan decide and apply.
func (e *Engine) applyRules(ctx context.Context, c *cycle, p *plan.Plan) error {
	full := c.mode == ModeFull
	flips, err := e.applyPhantoms(ctx, full, c.groups.phantoms, p, c.start)
	if err != nil {
		return err
	}
	if plan.ExtensionsDue(e.ums.ExtensionRanges, full, p) {
		var also []ums.User // a delta hands out numbers to the users in the plan only
		if full {
			if also, err = e.store.rules.UsersWithoutExtension(ctx); err != nil {
				return staged(StageApply, err)
			}
		}
		if err := e.assignExtensions(ctx, c.st, p, also, c.start, c.log); err != nil {
			return err
		}
	}
	if c.groups.profiles != nil {
		if err := e.applyProfiles(ctx, c, p); err != nil {
			return err
		}
	}
	if plan.LicenseDue(full, c.wm.LicenseSeats, e.ums.LicenseSeats, flips, p) {
		if err := e.applyLicenses(ctx, p, c.start); err != nil {
			return err
		}
	}
	p.Validate(e.ums.Limits)
	return nil
}

// applyPhantoms compares the phantom group's members with the store's
// marks, and updates the stored users whose mark flipped
// (plan.PhantomFlips); it returns how many users' marks changed.
func (e *Engine) applyPhantoms(ctx context.Context, full bool, members map[string]bool, p *plan.Plan,
	start time.Time) (int, error) {
	if !plan.PhantomsDue(members != nil, full) {
		return 0, nil
	}
	stored, err := e.store.rules.PhantomAnchors(ctx)
	if err != nil {
		return 0, staged(StageApply, err)
	}
	// A full cycle's pages marked the users read; only the others' rows
	// are fetched.
	inPlan := p.Anchors()
	var want []string
	for _, a := range plan.PhantomFlips(members, stored) {
		if !inPlan[a] {
			want = append(want, a)
		}
	}
	flip, err := e.store.users.UsersByAnchor(ctx, want)
	if err != nil {
		return 0, staged(StageApply, err)
	}
	return p.ApplyPhantoms(members, flip, start.UTC()), nil
}

// assignExtensions gathers the numbers taken (in the store, resting in
// quarantine, anywhere in the directory) and runs the extension pool over
// the plan and also.
func (e *Engine) assignExtensions(ctx context.Context, st directory.ServerState, p *plan.Plan, also []ums.User,
	start time.Time, log zerolog.Logger) error {
	taken := plan.NewTaken(e.ums.ExtensionRanges) // a bit per number of the pool
	if err := e.store.rules.TakenExtensions(ctx, start.Add(-e.ums.ExtensionQuarantine), taken.Add); err != nil {
		return staged(StageApply, err)
	}
	if err := e.dir.facts.UsedValues(ctx, st, ums.FieldExtension, taken.Add); err != nil {
		return staged(StageRead, err)
	}
	free, short := p.AssignExtensions(taken, also)
	e.metrics.extensionsFree.Set(float64(free))
	e.metrics.extensionsShort.Set(float64(short))
	if short > 0 {
		log.Warn().Int("users_without", short).Msg("extension pool exhausted: users left without an extension (extensions.ranges)")
	}
	return nil
}

// applyProfiles computes the effective settings (plan.ApplyProfiles) of the
// users in the plan and of the stored users that need it. A full cycle's
// pages brought in every user read whose settings change; when the
// profiles changed since the last cycle, a delta pages through the store
// for them; otherwise a delta looks at the users plan.ProfileMoves names
// (their group membership changed).
func (e *Engine) applyProfiles(ctx context.Context, c *cycle, p *plan.Plan) error {
	ps := c.groups.profiles
	now := c.start.UTC()
	var also []ums.User
	switch {
	case c.mode == ModeFull:
	case c.wm.Profiles != e.ums.profilesFingerprint():
		c.log.Info().Msg("settings profiles changed: computing every user's settings again")
		inPlan := p.Anchors()
		var due []ums.User // only the users whose settings change: they join the plan anyway
		if err := e.store.users.UserPages(ctx, e.pageSize(), func(page []ums.User) error {
			for i := range page {
				if !inPlan[page[i].Anchor] && ps.Due(&page[i]) {
					due = append(due, page[i])
				}
			}
			return nil
		}); err != nil {
			return staged(StageApply, err)
		}
		p.Adopt(due, now)
	default:
		// Users in the default profile are not listed.
		stored, err := e.store.rules.ProfileAnchors(ctx, ps.Default())
		if err != nil {
			return staged(StageApply, err)
		}
		if also, err = e.store.users.UsersByAnchor(ctx, plan.ProfileMoves(ps, stored)); err != nil {
			return staged(StageApply, err)
		}
	}
	if n := p.ApplyProfiles(*ps, also, now); n > 0 {
		c.log.Info().Int("users", n).Msg("settings computed from profiles changed")
	}
	return nil
}

// applyLicenses runs the license cap over the plan and the store's seats
// (compact facts); the stored users whose license changes are fetched and
// adopted into the plan, then the cap runs again and applies.
func (e *Engine) applyLicenses(ctx context.Context, p *plan.Plan, start time.Time) error {
	var priority func(profile string) int
	if len(e.ums.Profiles) > 0 {
		priority = e.ums.Profiles.Priority
	}
	// Without a cap nobody is ranked: only the users whose license is
	// wrong are listed.
	var seats []plan.Seat
	if err := e.store.rules.EachSeat(ctx, e.ums.LicenseSeats <= 0, func(f store.SeatFact) {
		s := plan.Seat{Anchor: f.Anchor, SAMAccountName: f.SAMAccountName, Eligible: f.Eligible,
			License: f.License, Since: f.Since, FirstSeen: f.FirstSeen}
		if priority != nil {
			s.Priority = priority(f.Profile)
		}
		seats = append(seats, s)
	}); err != nil {
		return staged(StageApply, err)
	}
	now := start.UTC()
	// A user may change in the store between the facts and its row: then
	// the second run asks for more. Three rounds settle any such race.
	for range 3 {
		adopt := p.ApplyLicenses(e.ums.LicenseSeats, seats, now, priority)
		if adopt == nil {
			return nil
		}
		rows, err := e.store.users.UsersByAnchor(ctx, adopt)
		if err != nil {
			return staged(StageApply, err)
		}
		p.Adopt(rows, now)
		if len(rows) < len(adopt) { // deleted since (an import): they hold no seat now
			seats = plan.DropSeats(seats, adopt, rows)
		}
	}
	return staged(StagePlan, errors.New("license cap: the store kept changing under the plan; the next cycle tries again"))
}

// activeUsers is how many users were active before the cycle, for the
// safety limits — asked of the store only when plan.SafetyDue.
func (e *Engine) activeUsers(ctx context.Context, p *plan.Plan) (int, error) {
	if !p.SafetyDue() {
		return 0, nil
	}
	counts, err := e.store.rules.CountByState(ctx)
	if err != nil {
		return 0, err
	}
	// The store still holds the state before this cycle.
	return counts[ums.StateActive], nil
}
