package main

import (
	"context"
	"errors"
	"reflect"
	"time"

	"github.com/umsync/umsync/api"
	"github.com/umsync/umsync/directory"
	"github.com/umsync/umsync/mail"
	"github.com/umsync/umsync/sync/engine"
)

// mailer is the daemon's one mail worker (its metrics are registered
// once) and how to stop its loop.
type mailer struct {
	w    *mail.Worker
	stop func() // nil while stopped
}

// halt stops the worker's loop if it runs (a reload may have stopped it
// already) and reports whether it ran; nil-safe.
func (m *mailer) halt() bool {
	if m == nil || m.stop == nil {
		return false
	}
	m.stop()
	m.stop = nil
	return true
}

// configureMail starts the mail worker, or gives the running one cfg;
// without a transport it stops it.
func (d *daemon) configureMail(cfg *Config) error {
	if !cfg.Mail.Enabled() {
		if d.mailer.halt() {
			d.log.Info().Msg("mail worker stopped (mail.transport is not set)")
		}
		return nil
	}
	tmpl, err := cfg.mailTemplates()
	if err != nil {
		return err
	}
	tr, err := mail.NewTransport(cfg.Mail, d.log)
	if err != nil {
		return err
	}
	rules := mail.Rules{PINs: cfg.rules.PINs, DirectoryLogin: cfg.API.PasswordCheck == api.CheckDirectory}
	if d.mailer == nil {
		d.mailer = &mailer{w: mail.NewWorker(cfg.Mail, rules, d.parts.store, tr, tmpl, d.log, d.reg)}
	} else {
		d.mailer.w.Reconfigure(cfg.Mail, rules, tr, tmpl)
	}
	if d.mailer.stop == nil {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			d.mailer.w.Run(ctx)
		}()
		d.mailer.stop = func() { cancel(); <-done }
		d.log.Info().Str("transport", cfg.Mail.Transport).Msg("mail worker started")
	}
	return nil
}

// restartOnly names what a reload cannot change: it needs a restart.
func restartOnly(old, cfg *Config) error {
	switch {
	case !reflect.DeepEqual(old.Store, cfg.Store):
		return errors.New("store changed (path or settings): restart umsync to use another store")
	case old.Telemetry.Listen != cfg.Telemetry.Listen:
		return errors.New("telemetry.listen changed: restart umsync to listen elsewhere")
	case old.API.Listen != cfg.API.Listen || old.API.TLSCertFile != cfg.API.TLSCertFile || old.API.TLSKeyFile != cfg.API.TLSKeyFile:
		return errors.New("api.listen or its TLS files changed: restart umsync to listen anew")
	case old.API.PasswordCheck != cfg.API.PasswordCheck:
		return errors.New("api.password_check changed: restart umsync")
	case old.API.TokensFile != cfg.API.TokensFile:
		return errors.New("api.tokens_file changed: restart umsync to read tokens from another file (a change of the file itself is read at once)")
	case old.Log.Format != cfg.Log.Format:
		return errors.New("log.format changed: restart umsync for another format (log.level applies on a reload)")
	}
	return nil
}

// reload reads the config file again (SIGHUP) and applies it: a config
// with errors, or one that changes what needs a restart, is refused with
// a log line and the old config stays. Applying stops the schedule (a
// running cycle is cancelled; nothing of it is applied), gives the engine
// and the mail worker the new config and starts the new schedule, which
// runs one cycle at once.
func (d *daemon) reload() {
	d.mu.Lock()
	defer d.mu.Unlock()
	log := d.log.With().Str("config", d.path).Logger()
	refuse := func(err error) {
		d.reloadOK.Set(0)
		log.Error().Err(err).Msg("config reload refused; the old config stays")
	}
	old := d.cfg.Load()
	cfg, err := loadConfig(d.path)
	if err != nil {
		refuse(err)
		return
	}
	if err := restartOnly(old, cfg); err != nil {
		refuse(err)
		return
	}
	dir := d.parts.dir
	if !reflect.DeepEqual(old.Directory, cfg.Directory) {
		if dir, err = directory.New(cfg.Directory, d.log, d.parts.dirMetrics); err != nil {
			refuse(err)
			return
		}
	}
	sched, err := engine.NewScheduler(cfg.Sync, d.parts.engine, d.log)
	if err != nil {
		refuse(err)
		return
	}
	if err := d.sched.Load().Stop(); err != nil {
		log.Warn().Err(err).Msg("reload: the running cycle did not stop in time; it ends on its own")
	}
	d.parts.engine.Reconfigure(cfg.syncConfig(), cfg.umsRules(), dir)
	if dir != d.parts.dir {
		d.parts.dir.Close()
		d.parts.dir = dir
	}
	if err := d.configureMail(cfg); err != nil {
		log.Error().Err(err).Msg("reload: mail not reconfigured")
	}
	d.level.set(cfg.Log.Level)
	d.cfg.Store(cfg)
	if d.api != nil {
		if err := d.api.srv.Update(cfg.apiSettings()); err != nil {
			log.Error().Err(err).Msg("reload: API tokens not read")
		}
	}
	d.sched.Store(sched)
	sched.Start()
	d.reloadOK.Set(1)
	d.reloadAt.Set(float64(time.Now().UnixNano()) / 1e9)
	log.Info().Str("schedule", cfg.Sync.Schedule).Int("profiles", len(cfg.rules.Profiles)).
		Str("log_level", cfg.Log.Level).Msg("config reloaded")
}
