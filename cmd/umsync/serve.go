package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

	"github.com/umsync/umsync/sync/engine"
)

func newServeCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "Run the daemon: scheduled sync cycles, /metrics, /healthz, /readyz, the API",
		Long: `Run the daemon. It runs one sync cycle at start, then on sync.schedule, and
serves /metrics, /healthz, /readyz and a status page (/) on telemetry.listen. With mail.transport
set, it sends the queued mails (every 2 s; failures are retried with backoff).
With api.listen set, it serves the API the UMS calls there (see 'umsync api').
SIGHUP reloads the config (schedule, attribute map, rules, profiles, mail,
templates, API tokens and log.level); a change that needs a restart (store,
telemetry.listen, api.listen and its TLS files, api.password_check,
log.format) or a config with errors is refused and logged, and the old config
stays.
SIGTERM or SIGINT stops it: no new cycle starts, the running one is cancelled
(nothing of it is applied) and the store is closed last.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(g.configPath)
			if err != nil {
				return err
			}
			// At debug: startDaemon applies log.level, which a reload changes.
			log := newLogger(cfg.Log, g.stderr).Level(zerolog.DebugLevel)
			// Before the start: a SIGHUP while starting waits here instead
			// of ending the process (the signal's default).
			hup := make(chan os.Signal, 1)
			signal.Notify(hup, syscall.SIGHUP)
			defer signal.Stop(hup)
			d, err := startDaemon(cmd.Context(), g.configPath, cfg, log)
			if err != nil {
				log.Error().Err(err).Msg("start failed")
				return silentError{}
			}
		wait:
			for {
				select {
				case <-cmd.Context().Done():
					break wait
				case <-hup:
					d.reload()
				}
			}
			log.Info().Msg("shutting down")
			if err := d.shutdown(); err != nil {
				log.Error().Err(err).Msg("shutdown")
				return silentError{}
			}
			log.Info().Msg("stopped")
			return nil
		},
	}
}

// daemon is a running `umsync serve`.
type daemon struct {
	path  string // the config file, read again on SIGHUP
	log   zerolog.Logger
	level *dynamicLevel // log.level: a reload applies it
	reg   *prometheus.Registry
	parts *parts
	srv   *http.Server
	ln    net.Listener
	srvWG chan struct{}
	lim   httpLimits // the telemetry server's timeouts and shutdown bound

	mu     sync.Mutex // one reload or shutdown at a time
	cfg    atomic.Pointer[Config]
	sched  atomic.Pointer[engine.Scheduler]
	mailer *mailer      // nil until mail is configured
	api    *apiListener // nil without api.listen

	reloadOK, reloadAt prometheus.Gauge
}

// startDaemon wires everything with a fresh registry, starts the listener
// and the schedule (which runs one cycle at once). path is the config
// file cfg came from (SIGHUP reads it again).
func startDaemon(ctx context.Context, path string, cfg *Config, log zerolog.Logger) (*daemon, error) {
	// log.level is applied by a sampler a reload changes, on top of log's
	// own level (serve passes debug, so that a reload can go down to it).
	level := newDynamicLevel(cfg.Log.Level)
	log = log.Sample(level)
	reg := prometheus.NewRegistry()
	bi := readBuildInfo()
	log.Info().Str("version", bi.Version).Str("revision", bi.Revision).Msg("umsync starting")
	p, err := wire(ctx, cfg, log, reg, "umsync serve")
	if err != nil {
		return nil, err
	}
	if err := p.engine.Restore(ctx); err != nil {
		p.close()
		return nil, err
	}
	d := &daemon{path: path, log: log, level: level, reg: reg, parts: p, srvWG: make(chan struct{}), lim: defaultHTTPLimits}
	d.reloadOK, d.reloadAt = reloadGauges()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewDBStatsCollector(p.store.DB(), "umsync"),
		buildInfoGauge(bi), d.reloadOK, d.reloadAt,
	)
	d.cfg.Store(cfg)
	d.reloadOK.Set(1)
	d.reloadAt.SetToCurrentTime()
	sched, err := engine.NewScheduler(cfg.Sync, p.engine, log)
	if err != nil {
		p.close()
		return nil, err
	}
	d.sched.Store(sched)
	if d.ln, err = net.Listen("tcp", cfg.Telemetry.Listen); err != nil {
		p.close()
		return nil, fmt.Errorf("telemetry: %w", err)
	}
	if cfg.Mail.Enabled() {
		if err := d.configureMail(cfg); err != nil {
			d.ln.Close()
			p.close()
			return nil, err
		}
	}
	if err := d.startAPI(cfg); err != nil {
		d.mailer.halt()
		d.ln.Close()
		p.close()
		return nil, err
	}
	d.srv = newTelemetryServer(d.routes(reg), d.lim)
	go func() {
		defer close(d.srvWG)
		if err := d.srv.Serve(d.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error().Err(err).Msg("telemetry listener failed")
		}
	}()
	log.Info().Str("addr", d.ln.Addr().String()).Msg("telemetry listening")
	if host, _, _ := net.SplitHostPort(cfg.Telemetry.Listen); !isLoopbackHost(host) {
		log.Warn().Str("addr", d.ln.Addr().String()).
			Msg("telemetry listens beyond loopback: /metrics and the status page have no login, guard them with a firewall")
	}
	sched.Start()
	return d, nil
}

// Addr is the telemetry listener's address (useful with port 0).
func (d *daemon) Addr() string { return d.ln.Addr().String() }

// shutdown: stop taking work, cancel and wait for the running cycle, stop
// the mail worker and HTTP, close the directory and, last, the store.
func (d *daemon) shutdown() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	errSched := d.sched.Load().Stop()
	d.mailer.halt() // also when a reload turned mail off (stopped already)
	hung, errHTTP := stopTelemetry(d.srv, d.lim.Shutdown)
	if hung {
		d.log.Warn().Dur("bound", d.lim.Shutdown).Msg("telemetry requests still running at shutdown: their connections were closed")
	}
	<-d.srvWG
	var errAPI error
	if d.api != nil {
		var hung bool
		if hung, errAPI = stopTelemetry(d.api.http, d.lim.Shutdown); hung {
			d.log.Warn().Dur("bound", d.lim.Shutdown).Msg("API requests still running at shutdown: their connections were closed")
		}
		<-d.api.done
		d.api.srv.Close() // the audit still queued, before the store closes
	}
	return errors.Join(errSched, errHTTP, errAPI, d.parts.close())
}

// reloadGauges say whether and when the config was last (re)loaded.
func reloadGauges() (ok, at prometheus.Gauge) {
	return prometheus.NewGauge(prometheus.GaugeOpts{Name: "umsync_config_last_reload_successful",
			Help: "1 if the last config (re)load succeeded, 0 if it was refused (the old config stays)."}),
		prometheus.NewGauge(prometheus.GaugeOpts{Name: "umsync_config_last_reload_success_timestamp_seconds",
			Help: "When the config was last loaded successfully (Unix time)."})
}

func buildInfoGauge(bi buildInfo) prometheus.Collector {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "umsync_build_info", Help: "umsync's version, revision and Go version; always 1.",
	}, []string{"version", "revision", "goversion"})
	g.WithLabelValues(bi.Version, bi.Revision, bi.GoVersion).Set(1)
	return g
}

func (d *daemon) routes(reg *prometheus.Registry) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", d.readyz)
	mux.HandleFunc("GET /{$}", d.status)
	return d.guard(mux)
}

type readiness struct {
	Status      string   `json:"status"` // ready | unready
	LastSuccess string   `json:"last_success,omitempty"`
	AgeSeconds  *float64 `json:"last_success_age_seconds,omitempty"`
	MaxAge      float64  `json:"max_age_seconds"`
	Reason      string   `json:"reason,omitempty"`
}

// readyz is ready when the store answers and the last successful sync is
// younger than telemetry.ready_max_age. It carries no names or addresses.
func (d *daemon) readyz(w http.ResponseWriter, r *http.Request) {
	maxAge := d.cfg.Load().Telemetry.ReadyMaxAge
	body := readiness{Status: "ready", MaxAge: maxAge.Seconds()}
	last := d.parts.engine.LastSuccess()
	if !last.IsZero() {
		age := time.Since(last).Seconds()
		body.LastSuccess = last.UTC().Format(time.RFC3339)
		body.AgeSeconds = &age
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	switch {
	case d.parts.store.Ping(ctx) != nil:
		body.Status, body.Reason = "unready", "store does not answer"
	case d.parts.engine.StoreError() != nil:
		body.Status, body.Reason = "unready", "the last cycle could not write the store (disk full or read-only?): see the log"
	case last.IsZero():
		body.Status, body.Reason = "unready", "no successful sync yet"
	case time.Since(last) > maxAge:
		body.Status, body.Reason = "unready", "last successful sync is older than ready_max_age"
	}
	code := http.StatusOK
	if body.Status != "ready" {
		code = http.StatusServiceUnavailable
	}
	writeJSON(w, code, body)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}
