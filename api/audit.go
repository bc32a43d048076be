package api

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/umsync/umsync/store"
)

// auditBuffer is how many calls wait for the audit writer; when it is
// full a call is counted in umsync_api_audit_dropped_total and not kept
// (the call itself is answered: an audit backlog must not stop the UMS).
const auditBuffer = 4096

// auditor writes the audit of API calls in the background, in batches: a
// call never waits for the store's one write connection, which a cycle's
// apply holds for a second or two at 50,000 users. Each batch also prunes
// calls older than api.audit_retention.
type auditor struct {
	store   AuditStore
	log     zerolog.Logger
	dropped prometheus.Counter
	keep    func() time.Duration
	ch      chan store.APICall
	flush   chan chan struct{}
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once
}

// AuditStore is what the auditor needs of the store.
type AuditStore interface {
	RecordAPICalls(ctx context.Context, calls []store.APICall, before time.Time) error
}

func newAuditor(st AuditStore, keep func() time.Duration, dropped prometheus.Counter, log zerolog.Logger) *auditor {
	a := &auditor{store: st, log: log, dropped: dropped, keep: keep, ch: make(chan store.APICall, auditBuffer),
		flush: make(chan chan struct{}), stop: make(chan struct{}), done: make(chan struct{})}
	go a.run()
	return a
}

// record queues c; it never blocks.
func (a *auditor) record(c store.APICall) {
	select {
	case a.ch <- c:
	default:
		a.dropped.Inc()
	}
}

func (a *auditor) run() {
	defer close(a.done)
	batch := make([]store.APICall, 0, 256)
	var pruned time.Time
	write := func() {
		if len(batch) == 0 {
			return
		}
		var before time.Time
		if now := time.Now(); now.Sub(pruned) > time.Hour { // prune at most once an hour
			before, pruned = now.Add(-a.keep()), now
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := a.store.RecordAPICalls(ctx, batch, before); err != nil {
			a.log.Error().Err(err).Int("calls", len(batch)).Msg("API calls not audited")
		}
		batch = batch[:0]
	}
	for {
		select {
		case c := <-a.ch:
			batch = append(batch, c)
			for len(batch) < cap(batch) { // take what else is waiting
				select {
				case c := <-a.ch:
					batch = append(batch, c)
					continue
				default:
				}
				break
			}
			write()
		case done := <-a.flush:
			a.drain(&batch)
			write()
			close(done)
		case <-a.stop:
			a.drain(&batch)
			write()
			return
		}
	}
}

// drain takes every queued call into batch.
func (a *auditor) drain(batch *[]store.APICall) {
	for {
		select {
		case c := <-a.ch:
			*batch = append(*batch, c)
		default:
			return
		}
	}
}

// Flush waits until every call answered so far is in the store.
func (a *auditor) Flush() {
	done := make(chan struct{})
	select {
	case a.flush <- done:
		<-done
	case <-a.done:
	}
}

// Close writes what is queued and stops the writer.
func (a *auditor) Close() {
	a.once.Do(func() { close(a.stop) })
	<-a.done
}
