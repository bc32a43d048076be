package api

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"

	"github.com/umsync/umsync/store"
)

// blockedStore holds the audit writer inside its first write until
// released, as a cycle's apply holds the store's write connection.
type blockedStore struct {
	mu      sync.Mutex
	first   sync.Once
	entered chan struct{}
	release chan struct{}
	calls   []store.APICall
	before  []time.Time
}

func (b *blockedStore) RecordAPICalls(_ context.Context, calls []store.APICall, before time.Time) error {
	b.first.Do(func() { // the first write holds the store until released
		close(b.entered)
		<-b.release
	})
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls = append(b.calls, calls...)
	b.before = append(b.before, before)
	return nil
}

// TestAuditDoesNotWaitForTheStore: while the store is busy, calls are
// queued without waiting, at most auditBuffer of them (the rest are
// counted as dropped); once the store is free, all queued calls land, in
// batches, with the old audit pruned by api.audit_retention.
func TestAuditDoesNotWaitForTheStore(t *testing.T) {
	st := &blockedStore{entered: make(chan struct{}), release: make(chan struct{})}
	dropped := prometheus.NewCounter(prometheus.CounterOpts{Name: "dropped"})
	a := newAuditor(st, func() time.Duration { return 48 * time.Hour }, dropped, zerolog.Nop())
	a.record(store.APICall{Actor: "api:first"})
	<-st.entered // the writer is in the store, holding the first call
	for range auditBuffer + 10 {
		a.record(store.APICall{Actor: "api:ums"}) // must not block
	}
	if got := testutil.ToFloat64(dropped); got != 10 {
		t.Errorf("dropped = %v, want 10 (the buffer holds %d)", got, auditBuffer)
	}
	close(st.release)
	a.Flush()
	st.mu.Lock()
	n, batches, first := len(st.calls), len(st.before), st.before[0]
	st.mu.Unlock()
	if n != auditBuffer+1 {
		t.Errorf("audited %d calls, want %d", n, auditBuffer+1)
	}
	if batches > 1+auditBuffer/256+1 {
		t.Errorf("%d writes for %d calls: not batched", batches, n)
	}
	if age := time.Since(first); age < 47*time.Hour || age > 49*time.Hour {
		t.Errorf("first write pruned before %v ago, want 48h", age)
	}
	a.Close()
}
