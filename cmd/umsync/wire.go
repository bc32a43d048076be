package main

import (
	"context"
	"errors"
	"path/filepath"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/umsync/umsync/api"
	"github.com/umsync/umsync/directory"
	"github.com/umsync/umsync/store"
	"github.com/umsync/umsync/sync/engine"
)

// parts are the long-lived pieces a sync needs, wired together.
type parts struct {
	lock   *store.WriterLock // nil for a dry run: it writes nothing
	store  *store.Store
	dir    *directory.Client
	engine *engine.Engine
	// dirMetrics are shared by the directory clients a reload builds.
	dirMetrics *directory.Metrics
}

// wire takes the store's writer lock as role (none when role is "": a dry
// run writes nothing), opens the store, builds the directory client and
// the engine.
func wire(ctx context.Context, cfg *Config, log zerolog.Logger, reg prometheus.Registerer, role string) (*parts, error) {
	var lock *store.WriterLock
	if role != "" {
		var err error
		if lock, err = store.LockWriter(cfg.Store.Path, role); err != nil {
			return nil, err
		}
	}
	st, err := store.Open(ctx, cfg.Store, log)
	if err != nil {
		lock.Unlock()
		return nil, err
	}
	dm := directory.NewMetrics(reg)
	dir, err := directory.New(cfg.Directory, log, dm)
	if err != nil {
		st.Close()
		lock.Unlock()
		return nil, err
	}
	return &parts{lock: lock, store: st, dir: dir, dirMetrics: dm,
		engine: engine.New(cfg.syncConfig(), cfg.umsRules(), dir, st, log, reg)}, nil
}

// umsRules are the rules a cycle applies: the UMS rules loadConfig parsed,
// and whether mails are queued.
func (c *Config) umsRules() engine.UMSRules {
	r := c.rules
	return engine.UMSRules{LicenseSeats: r.Seats, ExtensionRanges: r.Pool, ExtensionQuarantine: r.Quarantine,
		Limits: r.Limits, Profiles: r.Profiles, VoicemailDigits: r.VoicemailDigits,
		Mail: c.Mail.Enabled(),
		// With AD passwords (api.password_check: directory) nobody gets a
		// password mail.
		PasswordOnActivation: c.Mail.PasswordOnActivation && c.API.PasswordCheck != api.CheckDirectory}
}

// close releases the directory connection, then the store, then the
// writer lock (last: nobody else may write before the store is closed).
func (p *parts) close() error {
	return errors.Join(p.dir.Close(), p.store.Close(), p.lock.Unlock())
}

// syncConfig is the engine's config: the sync: section, planning a full
// cycle a directory page at a time.
func (c *Config) syncConfig() engine.Config {
	s := c.Sync
	s.PageSize = c.Directory.PageSize
	s.StageDir = filepath.Dir(c.Store.Path) // a full cycle's staged users stay beside the store, on its disk
	return s
}
