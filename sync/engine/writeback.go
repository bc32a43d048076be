package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rs/zerolog"

	"github.com/umsync/umsync/directory"
	"github.com/umsync/umsync/internal/crashpoint"
	"github.com/umsync/umsync/store"
	"github.com/umsync/umsync/ums"
)

// DirectoryWriter writes back to the directory.
type DirectoryWriter interface {
	// WriteField changes one field of one user in the directory, with the
	// old value as precondition.
	WriteField(ctx context.Context, anchor string, f ums.Field, old, new string) error
}

// WriteOutbox is the store's outbox of directory writes.
type WriteOutbox interface {
	PendingWrites(ctx context.Context, now time.Time, limit int) ([]store.DirectoryWrite, error)
	FinishWrite(ctx context.Context, w store.DirectoryWrite, status, reason string, now time.Time) error
	RetryWrite(ctx context.Context, w store.DirectoryWrite, reason string, next, now time.Time) error
}

// writeRetried is the `result` label of a write attempt that failed and is
// retried later; the other results are the statuses the write ends in.
const writeRetried = "retried"

// writeResults are the bounded values of the `result` label.
var writeResults = []string{store.WriteDone, store.WriteRejected, store.WriteFailed, writeRetried}

// writeBatch is how many due writes one round takes from the outbox.
const writeBatch = 100

// flushWrites drains the due directory writes of the outbox, after a cycle
// committed. Each is one modify with its precondition: done moves the base
// (no echo: the next delta sees its own write as agreed), rejected waits for
// the next cycle to re-read and re-plan the user, a permanent failure is
// recorded and counted, anything else is retried with backoff.
func (e *Engine) flushWrites(ctx context.Context, log zerolog.Logger) {
	// The gauges and each write's outcome are recorded even when ctx ends
	// (serve shutting down): a write AD took but the outbox did not record
	// would be sent again, against a precondition that no longer holds.
	defer e.refreshOutboxGauges(context.WithoutCancel(ctx), log)
	for ctx.Err() == nil {
		now := e.now()
		ws, err := e.store.outbox.PendingWrites(ctx, now, writeBatch)
		if err != nil {
			log.Error().Err(err).Msg("could not read the directory write outbox")
			return
		}
		for _, w := range ws {
			if ctx.Err() != nil {
				return
			}
			e.write(ctx, log, w)
		}
		if len(ws) < writeBatch {
			return
		}
	}
}

func (e *Engine) write(ctx context.Context, log zerolog.Logger, w store.DirectoryWrite) {
	ev := func(l *zerolog.Event) *zerolog.Event {
		return l.Int64("write_id", w.ID).Str("user_anchor", w.Anchor).Str("field", string(w.Field))
	}
	crashpoint.Hit("engine.write-before")
	err := e.dir.write.WriteField(ctx, w.Anchor, w.Field, w.Old, w.New)
	if err == nil {
		crashpoint.Hit("engine.write-after") // AD has it, the outbox does not know yet
	} else if ctx.Err() != nil {
		// Stopped, not failed: the write stays pending, no attempt
		// counted; the next flush sends it again, its precondition decides.
		ev(log.Info()).Msg("directory write interrupted; it stays pending")
		return
	}
	ctx = context.WithoutCancel(ctx) // the outcome is recorded, whatever ends ctx now
	now := e.now()
	status, reason := store.WriteDone, ""
	switch {
	case err == nil:
		ev(log.Info()).Str("old", w.Old).Str("new", w.New).Msg("directory written")
	case errors.Is(err, directory.ErrPrecondition):
		status, reason = store.WriteRejected, err.Error()
		ev(log.Warn()).Err(err).Msg("directory write rejected: the value changed in the directory; the next cycle re-reads the user")
	case directory.IsPermanent(err) || w.Attempts+1 >= e.cfg.WriteAttempts:
		status, reason = store.WriteFailed, err.Error()
		ev(log.Error()).Err(err).Int("attempts", w.Attempts+1).Msg("directory write failed for good")
		e.alert(ctx, log, "writes", fmt.Sprintf("A write to AD failed for good: field %s of user %s: %v\n"+
			"See umsync runs --writes failed (further failures within the hour are not mailed).", w.Field,
			ums.Label(w.SAMAccountName, w.DisplayName, w.Anchor), err), false)
	default:
		next := now.Add(backoff(w.Attempts, e.cfg.WriteRetryMax))
		ev(log.Warn()).Err(err).Time("next_attempt", next).Msg("directory write failed; will retry")
		e.metrics.writes.WithLabelValues(writeRetried).Inc()
		if err := e.store.outbox.RetryWrite(ctx, w, err.Error(), next, now); err != nil {
			ev(log.Error()).Err(err).Msg("could not schedule the retry")
		}
		return
	}
	e.metrics.writes.WithLabelValues(status).Inc()
	if err := e.store.outbox.FinishWrite(ctx, w, status, reason, now); err != nil {
		ev(log.Error()).Err(err).Msg("could not record the directory write")
	}
}

// backoff is 1 s, 2 s, 4 s … after each failed attempt, at most max.
func backoff(attempts int, max time.Duration) time.Duration {
	d := time.Second << min(attempts, 20)
	return min(d, max)
}

func (e *Engine) refreshOutboxGauges(ctx context.Context, log zerolog.Logger) {
	counts, err := e.store.status.CountWrites(ctx)
	if err != nil {
		log.Warn().Err(err).Msg("could not count directory writes")
		return
	}
	e.metrics.writesPending.Set(float64(counts[store.WritePending]))
	n, err := e.store.status.CountOpenConflicts(ctx)
	if err != nil {
		log.Warn().Err(err).Msg("could not count conflicts")
		return
	}
	e.metrics.conflictsOpen.Set(float64(n))
}
