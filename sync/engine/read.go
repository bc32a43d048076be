package engine

import (
	"context"
	"slices"
	"time"

	"github.com/rs/zerolog"

	"github.com/umsync/umsync/directory"
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

// UserStore reads the stored users a cycle plans against: those of a page
// or of a delta by anchor, the ones a rule changes, never the whole store
// at once.
type UserStore interface {
	UsersByAnchor(ctx context.Context, anchors []string) ([]ums.User, error)
	// EachAnchorState calls fn with every stored user and whether it is
	// active.
	EachAnchorState(ctx context.Context, fn func(anchor string, active bool)) error
	DeactivatedBefore(ctx context.Context, cutoff time.Time) ([]ums.User, error)
	// UserPages calls fn with every stored user, size at a time.
	UserPages(ctx context.Context, size int, fn func([]ums.User) error) error
}

// readResult is what a read leaves for planning: a delta's planner, or a
// full cycle's stream with the store's users it did not read.
type readResult struct {
	delta  *plan.Planner
	stream *plan.Stream
	pos    directory.Position // the watermark to store with the changes
	read   int
}

// finish plans the purge of the users whose retention ran out (expired)
// and returns the plan.
func (r *readResult) finish(expired []ums.User, cutoff time.Time) (*plan.Plan, error) {
	if r.stream != nil {
		r.stream.Purge(expired, cutoff)
		return r.stream.Finish()
	}
	r.delta.Purge(expired, cutoff)
	return r.delta.Finish()
}

// DefaultPageSize is how many users a full cycle plans at a time when
// Config.PageSize is not set.
const DefaultPageSize = 500

// readFull reads every user in scope and plans page by page while reading
// (plan.Stream): a page of entries, the stored rows of those users, the
// page rules; only changed users are kept, on a file (fileShelf) with a
// compact fact of each in memory. The store is asked on a
// goroutine of its own while the directory delivers the next page (one
// page is queued; the directory waits only when the planner is a page
// behind). The directory calls fn one entry at a time. The
// directory delivers a user twice when it changed during the read; the
// later reading wins. After the read, the active stored users not read
// are fetched a page at a time and staged as deactivated: out of scope.
func (e *Engine) readFull(ctx context.Context, c *cycle) (readResult, error) {
	var r readResult
	shelf, err := newFileShelf(e.cfg.StageDir)
	if err != nil {
		return r, staged(StageApply, err)
	}
	c.shelf = shelf
	r.stream = plan.NewStream(c.start.UTC(), e.fields, c.groups.pageRules(), shelf)
	size := e.pageSize()
	parent := ctx
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	pages := make(chan []ums.User, 1)
	planned := make(chan error, 1)
	go func() { planned <- e.planPages(ctx, r.stream, pages, cancel) }()
	batch := make([]ums.User, 0, size)
	r.pos, err = e.dir.read.Users(ctx, c.st, func(u ums.User) error {
		r.read++
		e.readCount.Store(int64(r.read))
		if batch = append(batch, u); len(batch) < size {
			return nil
		}
		select {
		case pages <- batch:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
		batch = make([]ums.User, 0, size)
		return nil
	}, skipLogger(c.log))
	if err == nil && len(batch) > 0 {
		pages <- batch
	}
	close(pages)
	perr := <-planned
	switch {
	case parent.Err() != nil: // shutdown: the store did not fail
		return r, staged(StageRead, parent.Err())
	case perr != nil:
		return r, staged(StageApply, perr)
	case err != nil:
		return r, staged(StageRead, err)
	}
	if err := e.store.users.EachAnchorState(ctx, r.stream.Stored); err != nil {
		return r, staged(StageApply, err)
	}
	if r.read == 0 {
		return r, nil // refused in the plan step (plan.ErrEmptyRead) if the store has users: fetch nobody
	}
	// The users not read are deactivated (out of scope) a page at a time,
	// onto the shelf: a read that missed most of the store holds no more
	// of their rows than a page (the safety limits then refuse the plan).
	for unseen := range slices.Chunk(r.stream.Unseen(), e.pageSize()) {
		rows, err := e.store.users.UsersByAnchor(ctx, unseen)
		if err != nil {
			return r, staged(StageApply, err)
		}
		if err := r.stream.Gone(rows); err != nil {
			return r, staged(StageApply, err)
		}
	}
	return r, nil
}

// pageSize is how many users a full cycle plans at a time.
func (e *Engine) pageSize() int {
	if e.cfg.PageSize > 0 {
		return e.cfg.PageSize
	}
	return DefaultPageSize
}

// planPages plans each page sent on pages against the stored rows of its
// users, until pages is closed. A store error cancels the read; the pages
// still sent are drained.
func (e *Engine) planPages(ctx context.Context, s *plan.Stream, pages <-chan []ums.User, cancel context.CancelCauseFunc) error {
	var failed error
	anchors := []string{}
	for page := range pages {
		if failed != nil {
			continue
		}
		anchors = anchors[:0]
		for _, u := range page {
			anchors = append(anchors, u.Anchor)
		}
		stored, err := e.store.users.UsersByAnchor(ctx, anchors)
		if err != nil {
			failed = err
			cancel(err)
			continue
		}
		if _, err := s.Page(stored, page); err != nil {
			failed = err
			cancel(err)
			continue
		}
		if e.onPage != nil {
			e.onPage(len(stored) + len(page) + s.Held())
		}
	}
	return failed
}

// readDelta reads what changed since the watermark and plans it against
// just those users' stored rows.
//
// replan are users an earlier cycle did not write because they changed
// while it ran: they are read again by anchor (the delta may not show
// them), and one not found in scope now is gone.
func (e *Engine) readDelta(ctx context.Context, c *cycle) (readResult, error) {
	st, log := c.st, c.log
	var (
		r       readResult
		changed []ums.User
		gone    []directory.Gone
		err     error
	)
	r.pos, err = e.dir.read.Changes(ctx, st, directory.Position{USN: c.wm.USN, Cookie: c.wm.Cookie}, func(u ums.User) error {
		changed = append(changed, u)
		return nil
	}, func(g directory.Gone) error {
		gone = append(gone, g)
		return nil
	}, skipLogger(log))
	if err == nil && len(c.replan) > 0 {
		err = e.readReplan(ctx, st, c.replan, &changed, &gone, log)
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
	r.delta = plan.NewDelta(stored, c.start.UTC(), e.fields)
	for _, u := range changed {
		r.delta.Add(u)
	}
	for _, g := range gone {
		r.delta.Gone(g.Anchor, g.Deleted)
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
