package engine_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/umsync/umsync/directory"
	"github.com/umsync/umsync/store"
	"github.com/umsync/umsync/sync/engine"
	"github.com/umsync/umsync/ums"
)

// rowCounter is the store with a count of the full user rows each call
// hands the engine: the largest answer shows whether a cycle asked for
// the whole store.
type rowCounter struct {
	*store.Store
	mu      sync.Mutex
	largest int
	calls   map[string]int // method -> largest answer
}

func (c *rowCounter) saw(method string, rows int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.largest = max(c.largest, rows)
	c.calls[method] = max(c.calls[method], rows)
}

func (c *rowCounter) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.largest, c.calls = 0, map[string]int{}
}

func (c *rowCounter) AllUsers(ctx context.Context) ([]ums.User, error) {
	us, err := c.Store.AllUsers(ctx)
	c.saw("AllUsers", len(us))
	return us, err
}

func (c *rowCounter) UsersByAnchor(ctx context.Context, anchors []string) ([]ums.User, error) {
	us, err := c.Store.UsersByAnchor(ctx, anchors)
	c.saw("UsersByAnchor", len(us))
	return us, err
}

func (c *rowCounter) UsersWithoutExtension(ctx context.Context) ([]ums.User, error) {
	us, err := c.Store.UsersWithoutExtension(ctx)
	c.saw("UsersWithoutExtension", len(us))
	return us, err
}

func (c *rowCounter) DeactivatedBefore(ctx context.Context, cutoff time.Time) ([]ums.User, error) {
	us, err := c.Store.DeactivatedBefore(ctx, cutoff)
	c.saw("DeactivatedBefore", len(us))
	return us, err
}

func (c *rowCounter) UserPages(ctx context.Context, size int, fn func([]ums.User) error) error {
	return c.Store.UserPages(ctx, size, func(page []ums.User) error {
		c.saw("UserPages", len(page))
		return fn(page)
	})
}

// TestFullSyncHoldsAPageOfRows: a full sync of 2,000 users with a page
// size of 50 plans a page at a time. Into an empty store (2,000 created)
// as against a store in step, the planner never holds more than the page
// read and its stored rows (100 rows): the changed users wait on the
// stage file. No store call answers with more than a page of rows (or the
// users that changed): the cycle never holds every user's row.
func TestFullSyncHoldsAPageOfRows(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	const users, page = 2000, 50
	dns := r.lab.AddUsers(t, r.ou, r.sam+"bnd", users)
	r.sync.PageSize = page
	r.ums.LicenseSeats = users - 100 // the cap ranks everyone: over compact seats, not rows
	counter := &rowCounter{Store: r.store, calls: map[string]int{}}
	cfg := r.lab.Config(r.ou)
	cfg.PageSize = page
	dir, err := directory.New(cfg, zerolog.New(zerolog.NewTestWriter(t)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dir.Close() })
	e := engine.New(r.sync, r.ums, dir, counter, zerolog.New(zerolog.NewTestWriter(t)), r.reg)
	var (
		mu    sync.Mutex
		held  int
		pages int
	)
	engine.OnPage(e, func(n int) {
		mu.Lock()
		defer mu.Unlock()
		held, pages = max(held, n), pages+1
	})
	full := func(stage string, created, changed int) {
		t.Helper()
		mu.Lock()
		held, pages = 0, 0
		mu.Unlock()
		counter.reset()
		res, err := e.Cycle(context.Background(), engine.Options{Mode: engine.ModeFull})
		if err != nil {
			t.Fatalf("%s: %v", stage, err)
		}
		if res.Run.Read != users || res.Run.Created != created || res.Run.Updated != changed {
			t.Fatalf("%s: read %d created %d updated %d, want %d, %d and %d", stage, res.Run.Read, res.Run.Created,
				res.Run.Updated, users, created, changed)
		}
		mu.Lock()
		defer mu.Unlock()
		if pages < users/page {
			t.Errorf("%s: planned %d pages, want at least %d", stage, pages, users/page)
		}
		if limit := 2 * page; held > limit {
			t.Errorf("%s: the planner held %d full rows at once, want at most %d (a page and its stored rows)",
				stage, held, limit)
		}
		if limit := max(page, changed); counter.largest > limit {
			t.Errorf("%s: the store answered with up to %d rows in one call (%v), want at most %d", stage,
				counter.largest, counter.calls, limit)
		}
	}

	full("first sync into an empty store", users, 0)
	if n := len(r.users(t)); n != users {
		t.Fatalf("first sync stored %d users, want %d", n, users)
	}
	full("nightly full sync, nothing changed", 0, 0)
	for i := range 7 {
		r.lab.Modify(t, dns[i*250], "department", fmt.Sprintf("Bounded %d", i))
	}
	full("full sync, 7 changed", 0, 7)
}
