package main

import (
	"io"
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
