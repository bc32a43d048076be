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
	return &parts{store: st, dir: dir, engine: engine.New(cfg.Sync, cfg.umsRules(), dir, st, log, reg)}, nil
}

// umsRules gathers the UMS rules from their config sections (validated).
func (c *Config) umsRules() engine.UMSRules {
	r := engine.UMSRules{LicenseSeats: c.License.Seats, ExtensionQuarantine: c.Extensions.Quarantine,
		Limits:          c.Validation.limits(),
		VoicemailDigits: c.Voicemail.DigitLength,
		Mail:            c.Mail.Enabled(), PasswordOnActivation: c.Mail.PasswordOnActivation}
	for _, s := range c.Extensions.Ranges {
		pr, _ := plan.ParseRange(s) // validated with the config
		r.ExtensionRanges = append(r.ExtensionRanges, pr)
	}
	r.Profiles, _ = c.profiles()
	return r
}

// close releases the directory connection, then the store (last).
func (p *parts) close() error {
	return errors.Join(p.dir.Close(), p.store.Close())
}
