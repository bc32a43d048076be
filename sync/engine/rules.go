package engine

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/rs/zerolog"

	"github.com/umsync/umsync/directory"
	"github.com/umsync/umsync/store"
	"github.com/umsync/umsync/sync/plan"
	"github.com/umsync/umsync/ums"
)

// applyRules adds the UMS rules to a plan, in order: phantom users, the
// extension pool, settings profiles, the license cap (which ranks by
// profile), validation. all is every stored user of
// a full cycle (nil in a delta: fetched only if the license cap needs it).
func (e *Engine) applyRules(ctx context.Context, mode Mode, st directory.ServerState, wm store.Watermark,
	p *plan.Plan, all []ums.User, start time.Time, log zerolog.Logger) error {
	phantomFlips := 0
	members, err := e.dir.Phantoms(ctx, st)
	if err != nil {
		return staged(StageRead, err)
	}
	if members != nil || mode == ModeFull {
		stored, err := e.store.PhantomAnchors(ctx)
		if err != nil {
			return staged(StageApply, err)
		}
		var changed []string
		for a := range members {
			if !stored[a] {
				changed = append(changed, a)
			}
		}
		for a := range stored {
			if !members[a] {
				changed = append(changed, a)
			}
		}
		flip, err := e.store.UsersByAnchor(ctx, changed)
		if err != nil {
			return staged(StageApply, err)
		}
		phantomFlips = p.ApplyPhantoms(members, flip, start.UTC())
	}
	if e.extensionsDue(mode, p) {
		taken, err := e.store.TakenExtensions(ctx, start.Add(-e.ums.ExtensionQuarantine))
		if err != nil {
			return staged(StageApply, err)
		}
		used, err := e.dir.UsedValues(ctx, st, ums.FieldExtension)
		if err != nil {
			return staged(StageRead, err)
		}
		for n := range used {
			taken[n] = true
		}
		var also []ums.User
		if mode == ModeFull {
			also = all
		}
		free, short := p.AssignExtensions(e.ums.ExtensionRanges, taken, also)
		e.metrics.extensionsFree.Set(float64(free))
		e.metrics.extensionsShort.Set(float64(short))
		if short > 0 {
			log.Warn().Int("users_without", short).Msg("extension pool exhausted: users left without an extension (extensions.ranges)")
		}
	}
	if len(e.ums.Profiles) > 0 {
		if err := e.applyProfiles(ctx, mode, st, wm, p, all, start, log); err != nil {
			return err
		}
	}
	if phantomFlips > 0 || e.licenseDue(mode, wm, p) {
		if all == nil {
			if all, err = e.store.AllUsers(ctx); err != nil {
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

// activeUsers is how many users were active before the cycle, for the
// safety limits — asked of the store only when the plan deactivates anyone.
func (e *Engine) activeUsers(ctx context.Context, p *plan.Plan) (int, error) {
	if p.Count(plan.Deactivate) == 0 {
		return 0, nil
	}
	counts, err := e.store.CountByState(ctx)
	if err != nil {
		return 0, err
	}
	// The store still holds the state before this cycle.
	return counts[ums.StateActive], nil
}

// extensionsDue says whether this cycle hands out extensions: a pool is
// configured and someone active lacks one (a full cycle looks at everyone).
func (e *Engine) extensionsDue(mode Mode, p *plan.Plan) bool {
	if len(e.ums.ExtensionRanges) == 0 {
		return false
	}
	if mode == ModeFull {
		return true
	}
	for _, a := range p.Actions {
		if a.Kind != plan.Purge && a.After.Eligible() && a.After.Extension == "" {
			return true
		}
	}
	return false
}

// licenseDue says whether this cycle must run the license cap over all
// users: always in a full cycle; in a delta only when someone became or
// stopped being eligible, or the seat count changed since the last cycle.
func (e *Engine) licenseDue(mode Mode, wm store.Watermark, p *plan.Plan) bool {
	if mode == ModeFull || wm.LicenseSeats != e.ums.LicenseSeats {
		return true
	}
	for _, a := range p.Actions {
		switch a.Kind {
		case plan.Create, plan.Reactivate, plan.Deactivate, plan.Purge:
			return true
		}
	}
	return false
}

// applyProfiles computes the effective settings (plan.ApplyProfiles) of the
// users in the plan and of the stored users that need it: everyone in a
// full cycle or when the profiles changed since the last cycle; in a delta
// only those whose group membership now puts them in another profile than
// their settings name (membership changes do not touch the user entry, so
// every cycle asks the directory for each profile group's members).
func (e *Engine) applyProfiles(ctx context.Context, mode Mode, st directory.ServerState, wm store.Watermark,
	p *plan.Plan, all []ums.User, start time.Time, log zerolog.Logger) error {
	ps := plan.Profiles{List: e.ums.Profiles, VoicemailDigits: e.ums.VoicemailDigits,
		Members: make([]map[string]bool, len(e.ums.Profiles)),
		Write:   e.fields.Get(ums.FieldSettings).Direction != plan.FromDirectory}
	for i, pr := range e.ums.Profiles {
		if pr.Group == "" {
			continue
		}
		m, err := e.dir.Members(ctx, st, pr.Group)
		if err != nil {
			return staged(StageRead, fmt.Errorf("profile %s: %w", pr.Name, err))
		}
		ps.Members[i] = m
	}
	name := func(i int) string {
		if i < 0 {
			return ""
		}
		return e.ums.Profiles[i].Name
	}
	also := all
	var err error
	switch {
	case mode == ModeFull:
	case wm.Profiles != e.ums.profilesFingerprint():
		log.Info().Msg("settings profiles changed: computing every user's settings again")
		if also, err = e.store.AllUsers(ctx); err != nil {
			return staged(StageApply, err)
		}
	default:
		// Who moved: a user's stored profile against the one its groups
		// give it now. Users in the default profile are not listed.
		def := name(ps.Of(""))
		stored, err := e.store.ProfileAnchors(ctx, def)
		if err != nil {
			return staged(StageApply, err)
		}
		var moved []string
		for a, prof := range stored {
			if name(ps.Of(a)) != prof {
				moved = append(moved, a)
			}
		}
		for _, m := range ps.Members {
			for a := range m {
				if _, listed := stored[a]; !listed && name(ps.Of(a)) != def {
					moved = append(moved, a)
				}
			}
		}
		slices.Sort(moved)
		if also, err = e.store.UsersByAnchor(ctx, slices.Compact(moved)); err != nil {
			return staged(StageApply, err)
		}
	}
	if n := p.ApplyProfiles(ps, also, start.UTC()); n > 0 {
		log.Info().Int("users", n).Msg("settings computed from profiles changed")
	}
	return nil
}
