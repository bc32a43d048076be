package engine

import "context"

// FlushWrites drains the due directory writes outside a cycle, for tests
// whose directory cannot be read (a cycle drains them after its commit).
func (e *Engine) FlushWrites(ctx context.Context) error {
	if !e.running.TryLock() {
		return ErrBusy
	}
	defer e.running.Unlock()
	e.flushWrites(ctx, e.log)
	return nil
}

// OnPage tells fn, after each page of a full read, how many full user
// rows the planner held for it (a test seam: the bound on memory).
func OnPage(e *Engine, fn func(held int)) { e.onPage = fn }
