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

// DirectoryReader reads users from the directory: everyone in scope, what
// changed since a position, or some by anchor.
type DirectoryReader interface {
	State(ctx context.Context) (directory.ServerState, error)
	// Scope describes what is read (base DNs, filter, attributes); a
	// watermark is only valid for the scope it was taken with.
	Scope() string
	// ScopeGroupChanged tells whether the scope group's membership may
	// have changed since the watermark (a delta of users cannot see that).
	ScopeGroupChanged(ctx context.Context, st directory.ServerState, since int64) (bool, error)
	Users(ctx context.Context, st directory.ServerState, fn func(ums.User) error,
		skip func(dn string, err error)) (directory.Position, error)
	Changes(ctx context.Context, st directory.ServerState, since directory.Position, fn func(ums.User) error,
		gone func(directory.Gone) error, skip func(dn string, err error)) (directory.Position, error)
	// UsersByAnchor reads the users with these anchors that are in scope
	// now, and returns the anchors found.
	UsersByAnchor(ctx context.Context, st directory.ServerState, anchors []string, fn func(ums.User) error,
		skip func(dn string, err error)) (map[string]bool, error)
}

// UserStore reads the stored users a cycle plans against.
type UserStore interface {
	AllUsers(ctx context.Context) ([]ums.User, error)
	UsersByAnchor(ctx context.Context, anchors []string) ([]ums.User, error)
	DeactivatedBefore(ctx context.Context, cutoff time.Time) ([]ums.User, error)
}

// readResult is what a read leaves for planning.
type readResult struct {
	planner *plan.Planner
	pos     directory.Position // the watermark to store with the changes
	read    int
	stored  []ums.User // a full cycle's stored users (for the rules); nil for a delta
}

// readFull reads every user in scope and plans while reading: only changed
// users are kept. The directory delivers a user twice when it changed
// during the read; the planner keeps the later reading.
func (e *Engine) readFull(ctx context.Context, st directory.ServerState, start time.Time, log zerolog.Logger) (readResult, error) {
	stored, err := e.store.users.AllUsers(ctx)
	if err != nil {
		return readResult{}, staged(StageApply, err)
	}
	r := readResult{planner: plan.NewFull(stored, start.UTC(), e.fields), stored: stored}
	r.pos, err = e.dir.read.Users(ctx, st, func(u ums.User) error {
		r.read++
		e.readCount.Store(int64(r.read))
		r.planner.Add(u)
		return nil
	}, skipLogger(log))
	return r, staged(StageRead, err)
}

// readDelta reads what changed since the watermark and plans it against
// just those users' stored rows.
//
// replan are users an earlier cycle did not write because they changed
// while it ran: they are read again by anchor (the delta may not show
// them), and one not found in scope now is gone.
func (e *Engine) readDelta(ctx context.Context, st directory.ServerState, wm store.Watermark, replan []string,
	start time.Time, log zerolog.Logger) (readResult, error) {
	var (
		r       readResult
		changed []ums.User
		gone    []directory.Gone
		err     error
	)
	r.pos, err = e.dir.read.Changes(ctx, st, directory.Position{USN: wm.USN, Cookie: wm.Cookie}, func(u ums.User) error {
		changed = append(changed, u)
		return nil
	}, func(g directory.Gone) error {
		gone = append(gone, g)
		return nil
	}, skipLogger(log))
	if err == nil && len(replan) > 0 {
		err = e.readReplan(ctx, st, replan, &changed, &gone, log)
	}
	r.read = len(changed)
	if err != nil {
		return r, staged(StageRead, err)
	}
	anchors := make([]string, 0, len(changed)+len(gone))
	for _, u := range changed {
		anchors = append(anchors, u.Anchor)
	}
	for _, g := range gone {
		anchors = append(anchors, g.Anchor)
	}
	stored, err := e.store.users.UsersByAnchor(ctx, anchors)
	if err != nil {
		return r, staged(StageApply, err)
	}
	r.planner = plan.NewDelta(stored, start.UTC(), e.fields)
	for _, u := range changed {
		r.planner.Add(u)
	}
	for _, g := range gone {
		r.planner.Gone(g.Anchor, g.Deleted)
		log.Debug().Str("user_anchor", g.Anchor).Str("dn", g.DN).Bool("deleted", g.Deleted).Msg("changed object out of scope")
	}
	return r, nil
}

// readReplan adds the users of the replan list that the delta did not
// read to changed (in scope) or gone (not found in scope).
func (e *Engine) readReplan(ctx context.Context, st directory.ServerState, replan []string, changed *[]ums.User,
	gone *[]directory.Gone, log zerolog.Logger) error {
	read := make(map[string]bool, len(*changed)+len(*gone))
	for _, u := range *changed {
		read[u.Anchor] = true
	}
	for _, g := range *gone {
		read[g.Anchor] = true
	}
	var want []string
	for _, a := range replan {
		if !read[a] {
			want = append(want, a)
		}
	}
	found, err := e.dir.read.UsersByAnchor(ctx, st, want, func(u ums.User) error {
		*changed = append(*changed, u)
		return nil
	}, skipLogger(log))
	if err != nil {
		return err
	}
	for _, a := range want {
		if !found[a] {
			*gone = append(*gone, directory.Gone{Anchor: a})
		}
	}
	log.Debug().Int("users", len(want)).Msg("read again the users an earlier cycle could not write")
	return nil
}

func skipLogger(log zerolog.Logger) func(dn string, err error) {
	return func(dn string, err error) { log.Warn().Str("dn", dn).Err(err).Msg("directory entry skipped") }
}
