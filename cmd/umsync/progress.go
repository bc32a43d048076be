package main

import (
	"context"
	"io"
	"os"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/schollz/progressbar/v3"

	"github.com/umsync/umsync/store"
	"github.com/umsync/umsync/sync/engine"
)

// isTerminal says whether w is a terminal (progress bars only go there).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}

// lastFullRead is how many users the last successful full cycle read (0:
// none on record): the bar's total, for the ETA.
func lastFullRead(ctx context.Context, st *store.Store) int {
	runs, err := st.Runs(ctx, 200)
	if err != nil {
		return 0
	}
	for _, r := range runs {
		if r.Mode == string(engine.ModeFull) && r.Result == store.ResultSuccess {
			return r.Read
		}
	}
	return 0
}

// showProgress draws a bar on w while e runs a full read: users read,
// rate, and the ETA against total (the previous full run's count; without
// one, a counter). It returns a func that stops and clears it.
func showProgress(w io.Writer, e *engine.Engine, total int, every time.Duration) func() {
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		var bar *progressbar.ProgressBar
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-stop:
				if bar != nil {
					bar.Finish()
					io.WriteString(w, "\n")
				}
				return
			case <-t.C:
			}
			n, running := e.FullReadProgress()
			if !running {
				continue
			}
			if bar == nil {
				max := int64(total)
				if max <= 0 {
					max = -1 // unknown: a spinner with a count
				}
				bar = progressbar.NewOptions64(max, progressbar.OptionSetWriter(w), progressbar.OptionSetDescription("reading AD"),
					progressbar.OptionShowCount(), progressbar.OptionShowIts(), progressbar.OptionSetItsString("users"),
					progressbar.OptionSetPredictTime(true), progressbar.OptionThrottle(100*time.Millisecond),
					progressbar.OptionSetWidth(30), progressbar.OptionClearOnFinish())
			}
			if max := bar.GetMax64(); max > 0 && int64(n) > max {
				bar.ChangeMax64(int64(n))
			}
			bar.Set(n)
		}
	}()
	return func() { close(stop); <-done }
}
