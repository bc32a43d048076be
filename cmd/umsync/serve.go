package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

	"github.com/umsync/umsync/mail"
	"github.com/umsync/umsync/store"
	"github.com/umsync/umsync/sync/engine"
	"github.com/umsync/umsync/ums"
)

func newServeCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "Run the daemon: scheduled sync cycles, /metrics, /healthz, /readyz",
		Long: `Run the daemon. It runs one sync cycle at start, then on sync.schedule, and
serves /metrics, /healthz, /readyz and a status page (/) on telemetry.listen. With mail.transport
set, it sends the queued mails (every 2 s; failures are retried with backoff).
SIGTERM or SIGINT stops it: no new cycle starts, the running one is cancelled
(nothing of it is applied) and the store is closed last.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(g.configPath)
			if err != nil {
				return err
			}
			log := newLogger(cfg.Log, g.stderr)
			d, err := startDaemon(cmd.Context(), cfg, log)
			if err != nil {
				log.Error().Err(err).Msg("start failed")
				return silentError{}
			}
			<-cmd.Context().Done()
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
	cfg   *Config
	log   zerolog.Logger
	parts *parts
	sched *engine.Scheduler
	srv   *http.Server
	ln    net.Listener
	srvWG chan struct{}
	// stopMail ends the mail worker and waits for it (nil without mail).
	stopMail func()
}

// startDaemon wires everything with a fresh registry, starts the listener
// and the schedule (which runs one cycle at once).
func startDaemon(ctx context.Context, cfg *Config, log zerolog.Logger) (*daemon, error) {
	reg := prometheus.NewRegistry()
	bi := readBuildInfo()
	log.Info().Str("version", bi.Version).Str("revision", bi.Revision).Msg("umsync starting")
	p, err := wire(ctx, cfg, log, reg)
	if err != nil {
		return nil, err
	}
	if err := p.engine.Restore(ctx); err != nil {
		p.close()
		return nil, err
	}
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewDBStatsCollector(p.store.DB(), "umsync"),
		buildInfoGauge(bi),
	)
	sched, err := engine.NewScheduler(cfg.Sync, p.engine, log)
	if err != nil {
		p.close()
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.Telemetry.Listen)
	if err != nil {
		p.close()
		return nil, fmt.Errorf("telemetry: %w", err)
	}
	d := &daemon{cfg: cfg, log: log, parts: p, sched: sched, ln: ln, srvWG: make(chan struct{})}
	if cfg.Mail.Enabled() {
		if d.stopMail, err = startMailWorker(cfg, p.store, log, reg); err != nil {
			ln.Close()
			p.close()
			return nil, err
		}
	}
	d.srv = &http.Server{Handler: d.routes(reg), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		defer close(d.srvWG)
		if err := d.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error().Err(err).Msg("telemetry listener failed")
		}
	}()
	log.Info().Str("addr", ln.Addr().String()).Msg("telemetry listening")
	sched.Start()
	return d, nil
}

// Addr is the telemetry listener's address (useful with port 0).
func (d *daemon) Addr() string { return d.ln.Addr().String() }

// shutdown: stop taking work, cancel and wait for the running cycle, stop
// HTTP, close the directory and, last, the store.
func (d *daemon) shutdown() error {
	errSched := d.sched.Stop()
	if d.stopMail != nil {
		d.stopMail()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	errHTTP := d.srv.Shutdown(ctx)
	<-d.srvWG
	return errors.Join(errSched, errHTTP, d.parts.close())
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
	return mux
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
	body := readiness{Status: "ready", MaxAge: d.cfg.Telemetry.ReadyMaxAge.Seconds()}
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
	case last.IsZero():
		body.Status, body.Reason = "unready", "no successful sync yet"
	case time.Since(last) > d.cfg.Telemetry.ReadyMaxAge:
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

// startMailWorker starts the outbox worker; the returned func stops it and
// waits until a send in progress has been recorded.
func startMailWorker(cfg *Config, st *store.Store, log zerolog.Logger, reg prometheus.Registerer) (func(), error) {
	tmpl, err := cfg.mailTemplates()
	if err != nil {
		return nil, err
	}
	tr, err := mail.NewTransport(cfg.Mail, log)
	if err != nil {
		return nil, err
	}
	w := mail.NewWorker(cfg.Mail, ums.PINPolicy{Length: cfg.Voicemail.PINLength}, st, tr, tmpl, log, reg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.Run(ctx)
	}()
	log.Info().Str("transport", cfg.Mail.Transport).Msg("mail worker started")
	return func() { cancel(); <-done }, nil
}
