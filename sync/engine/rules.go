package engine

import (
	"context"
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
	// UsedValues are the values a field has anywhere in the directory.
	UsedValues(ctx context.Context, st directory.ServerState, f ums.Field) (map[string]bool, error)
}

// RuleStore gives the rules compact projections of the store instead of
// every row: phantom marks, profile names, numbers taken, counts.
type RuleStore interface {
	PhantomAnchors(ctx context.Context) (map[string]bool, error)
	ProfileAnchors(ctx context.Context, except string) (map[string]string, error)
	TakenExtensions(ctx context.Context, restingSince time.Time) (map[string]bool, error)
	CountByState(ctx context.Context) (map[ums.State]int, error)
}

// applyRules adds the UMS rules to a plan, in order: phantom users, the
// extension pool, settings profiles, the license cap (which ranks by
// profile), validation. For each rule the engine gathers the facts that
// sync/plan's decisions take (store and directory queries, only those the
// plan makes due) and lets plan decide and apply. all is every stored user
// of a full cycle (nil in a delta: fetched only if a rule needs it).
func (e *Engine) applyRules(ctx context.Context, mode Mode, st directory.ServerState, wm store.Watermark,
	p *plan.Plan, all []ums.User, start time.Time, log zerolog.Logger) error {
	full := mode == ModeFull
	flips, err := e.applyPhantoms(ctx, full, st, p, start)
	if err != nil {
		return err
	}
	if plan.ExtensionsDue(e.ums.ExtensionRanges, full, p) {
		var also []ums.User // a delta hands out numbers to the users in the plan only
		if full {
			also = all
		}
		if err := e.assignExtensions(ctx, st, p, also, start, log); err != nil {
			return err
		}
	}
	if len(e.ums.Profiles) > 0 {
		if err := e.applyProfiles(ctx, mode, st, wm, p, all, start, log); err != nil {
			return err
		}
	}
	if plan.LicenseDue(full, wm.LicenseSeats, e.ums.LicenseSeats, flips, p) {
		if all == nil {
			if all, err = e.store.users.AllUsers(ctx); err != nil {
				return staged(StageApply, err)
			}
		}
		var priority func(*ums.User) int
		if len(e.ums.Profiles) > 0 {
			priority = func(u *ums.User) int { return e.ums.Profiles.Priority(ums.ProfileOf(u.Settings)) }
		}
		p.ApplyLicenses(e.ums.LicenseSeats, all, start.UTC(), priority)
	}
	p.Validate(e.ums.Limits)
	return nil
}

// applyPhantoms gathers the phantom group's members and the store's marks,
// and the stored users whose mark flipped (plan.PhantomFlips); it returns
// how many users' marks changed.
func (e *Engine) applyPhantoms(ctx context.Context, full bool, st directory.ServerState, p *plan.Plan,
	start time.Time) (int, error) {
	members, err := e.dir.facts.Phantoms(ctx, st)
	if err != nil {
		return 0, staged(StageRead, err)
	}
	if !plan.PhantomsDue(members != nil, full) {
		return 0, nil
	}
	stored, err := e.store.rules.PhantomAnchors(ctx)
	if err != nil {
		return 0, staged(StageApply, err)
	}
	flip, err := e.store.users.UsersByAnchor(ctx, plan.PhantomFlips(members, stored))
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
	taken, err := e.store.rules.TakenExtensions(ctx, start.Add(-e.ums.ExtensionQuarantine))
	if err != nil {
		return staged(StageApply, err)
	}
	used, err := e.dir.facts.UsedValues(ctx, st, ums.FieldExtension)
	if err != nil {
		return staged(StageRead, err)
	}
	for n := range used {
		taken[n] = true
	}
	free, short := p.AssignExtensions(e.ums.ExtensionRanges, taken, also)
	e.metrics.extensionsFree.Set(float64(free))
	e.metrics.extensionsShort.Set(float64(short))
	if short > 0 {
		log.Warn().Int("users_without", short).Msg("extension pool exhausted: users left without an extension (extensions.ranges)")
	}
	return nil
}

// applyProfiles computes the effective settings (plan.ApplyProfiles) of the
// users in the plan and of the stored users that need it: everyone in a
// full cycle or when the profiles changed since the last cycle; in a delta
// only those plan.ProfileMoves names (membership changes do not touch the
// user entry, so every cycle asks the directory for each profile group's
// members).
func (e *Engine) applyProfiles(ctx context.Context, mode Mode, st directory.ServerState, wm store.Watermark,
	p *plan.Plan, all []ums.User, start time.Time, log zerolog.Logger) error {
	ps := plan.Profiles{List: e.ums.Profiles, VoicemailDigits: e.ums.VoicemailDigits,
		Members: make([]map[string]bool, len(e.ums.Profiles)),
		Write:   e.fields.Get(ums.FieldSettings).Direction != plan.FromDirectory}
	for i, pr := range e.ums.Profiles {
		if pr.Group == "" {
			continue
		}
		m, err := e.dir.facts.Members(ctx, st, pr.Group)
		if err != nil {
			return staged(StageRead, fmt.Errorf("profile %s: %w", pr.Name, err))
		}
		ps.Members[i] = m
	}
	also := all
	var err error
	switch {
	case mode == ModeFull:
	case wm.Profiles != e.ums.profilesFingerprint():
		log.Info().Msg("settings profiles changed: computing every user's settings again")
		if also, err = e.store.users.AllUsers(ctx); err != nil {
			return staged(StageApply, err)
		}
	default:
		// Users in the default profile are not listed.
		stored, err := e.store.rules.ProfileAnchors(ctx, ps.Default())
		if err != nil {
			return staged(StageApply, err)
		}
		if also, err = e.store.users.UsersByAnchor(ctx, plan.ProfileMoves(&ps, stored)); err != nil {
			return staged(StageApply, err)
		}
	}
	if n := p.ApplyProfiles(ps, also, start.UTC()); n > 0 {
		log.Info().Int("users", n).Msg("settings computed from profiles changed")
	}
	return nil
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
