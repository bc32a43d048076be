package engine

import (
	"context"
	"time"

	"github.com/rs/zerolog"

	"github.com/umsync/umsync/directory"
	"github.com/umsync/umsync/store"
	"github.com/umsync/umsync/sync/plan"
	"github.com/umsync/umsync/ums"
)

// applyRules adds the UMS rules to a plan, in order: phantom users, the
// extension pool, the license cap, validation. all is every stored user of
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
		taken, err := e.store.TakenExtensions(ctx, start.Add(-e.cfg.ExtensionQuarantine))
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
		free, short := p.AssignExtensions(e.cfg.ExtensionRanges, taken, also)
		e.metrics.extensionsFree.Set(float64(free))
		e.metrics.extensionsShort.Set(float64(short))
		if short > 0 {
			log.Warn().Int("users_without", short).Msg("extension pool exhausted: users left without an extension (extensions.ranges)")
		}
	}
	if phantomFlips > 0 || e.licenseDue(mode, wm, p) {
		if all == nil {
			if all, err = e.store.AllUsers(ctx); err != nil {
				return staged(StageApply, err)
			}
		}
		p.ApplyLicenses(e.cfg.LicenseSeats, all, start.UTC())
	}
	p.Validate(e.cfg.Limits)
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
	if len(e.cfg.ExtensionRanges) == 0 {
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
	if mode == ModeFull || wm.LicenseSeats != e.cfg.LicenseSeats {
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
