package main

import (
	"io"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
)

// newLogger builds the one logger every package gets a child of. Events
// come from several goroutines at once (a parallel read's connections, the
// scheduler, HTTP), so the writer is serialized: a file or pipe would
// otherwise get interleaved lines.
func newLogger(cfg LogConfig, w io.Writer) zerolog.Logger {
	w = zerolog.SyncWriter(w)
	level, err := zerolog.ParseLevel(cfg.Level)
	if err != nil {
		level = zerolog.InfoLevel
	}
	if cfg.Format == "console" {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.DateTime}
	}
	return zerolog.New(w).Level(level).With().Timestamp().Logger()
}

// dynamicLevel is log.level as a zerolog sampler, so that a reload can
// change it for every child logger at once (each copied the level it was
// made with): events below it are not even built.
type dynamicLevel struct{ level atomic.Int32 }

// newDynamicLevel starts at level (debug|info|warn|error; else info).
func newDynamicLevel(level string) *dynamicLevel {
	l := &dynamicLevel{}
	l.set(level)
	return l
}

// Sample lets events at or above the level through.
func (l *dynamicLevel) Sample(lvl zerolog.Level) bool { return lvl >= zerolog.Level(l.level.Load()) }

func (l *dynamicLevel) set(level string) {
	lvl, err := zerolog.ParseLevel(level)
	if err != nil {
		lvl = zerolog.InfoLevel
	}
	l.level.Store(int32(lvl))
}
