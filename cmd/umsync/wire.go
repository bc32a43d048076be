package main

import (
	"context"
	"errors"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/umsync/umsync/directory"
	"github.com/umsync/umsync/store"
	"github.com/umsync/umsync/sync/engine"
	"github.com/umsync/umsync/sync/plan"
	"github.com/umsync/umsync/ums"
)

// parts are the long-lived pieces a sync needs, wired together.
type parts struct {
	store  *store.Store
	dir    *directory.Client
	engine *engine.Engine
}

// wire opens the store, builds the directory client and the engine.
func wire(ctx context.Context, cfg *Config, log zerolog.Logger, reg prometheus.Registerer) (*parts, error) {
	st, err := store.Open(ctx, cfg.Store, log)
	if err != nil {
		return nil, err
	}
	dir, err := directory.New(cfg.Directory, log)
	if err != nil {
		st.Close()
		return nil, err
	}
	syncCfg := cfg.Sync
	syncCfg.LicenseSeats = cfg.License.Seats
	for _, r := range cfg.Extensions.Ranges {
		pr, _ := plan.ParseRange(r) // validated with the config
		syncCfg.ExtensionRanges = append(syncCfg.ExtensionRanges, pr)
	}
	syncCfg.ExtensionQuarantine = cfg.Extensions.Quarantine
	syncCfg.Limits = ums.Limits{ExtensionMin: cfg.Validation.ExtensionMinDigits, ExtensionMax: cfg.Validation.ExtensionMaxDigits}
	return &parts{store: st, dir: dir, engine: engine.New(syncCfg, dir, st, log, reg)}, nil
}

// close releases the directory connection, then the store (last).
func (p *parts) close() error {
	return errors.Join(p.dir.Close(), p.store.Close())
}
