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
