package engine

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/umsync/umsync/ums"
)

// Stages a cycle can fail in; the bounded values of the `stage` label.
const (
	StageConnect = "connect"
	StageRead    = "read"
	StagePlan    = "plan"
	StageApply   = "apply"
)

// Results of a cycle; the bounded values of the `result` label.
const (
	ResultSuccess       = "success"
	ResultFailed        = "failed"
	ResultStoppedSafety = "stopped_safety"
)

var (
	modes   = []Mode{ModeFull, ModeDelta}
	results = []string{ResultSuccess, ResultFailed, ResultStoppedSafety}
	stages  = []string{StageConnect, StageRead, StagePlan, StageApply}
	states  = []ums.State{ums.StateActive, ums.StateDeactivated}
)

type metrics struct {
	runs        *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	lastSuccess prometheus.Gauge
	users       *prometheus.GaugeVec
	entriesRead prometheus.Counter
	errors      *prometheus.CounterVec
	changes     *prometheus.CounterVec
	safetyStops prometheus.Counter
	replanned   prometheus.Counter
	watermark   prometheus.Gauge

	writes        *prometheus.CounterVec
	writesPending prometheus.Gauge
	conflictsOpen prometheus.Gauge

	licenseSeats   prometheus.Gauge
	licenseUsed    prometheus.Gauge
	licensePending prometheus.Gauge

	extensionsFree  prometheus.Gauge
	extensionsShort prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) *metrics {
	gauge := func(name, help string) prometheus.Gauge {
		return prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help})
	}
	m := &metrics{
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "umsync_sync_runs_total", Help: "Sync cycles run, by mode and result.",
		}, []string{"mode", "result"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "umsync_sync_duration_seconds", Help: "Duration of sync cycles, by mode.",
			Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300},
		}, []string{"mode"}),
		lastSuccess: gauge("umsync_sync_last_success_timestamp_seconds", "When the last successful sync cycle ended (Unix time)."),
		users: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "umsync_users", Help: "Users in the store, by state.",
		}, []string{"state"}),
		entriesRead: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "umsync_sync_entries_read_total", Help: "User entries read from the directory.",
		}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "umsync_sync_errors_total", Help: "Failed sync cycles, by the stage that failed.",
		}, []string{"stage"}),
		changes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "umsync_sync_changes_total", Help: "Users changed by sync cycles, by kind of change (purge: deleted for good after the retention period).",
		}, []string{"kind"}),
		safetyStops: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "umsync_sync_safety_stops_total",
			Help: "Cycles stopped because they would deactivate more users than the safety limits allow.",
		}),
		replanned: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "umsync_sync_replanned_total",
			Help: "Users a cycle did not write because they changed while it ran (an admin edit, an import); the next cycle plans them again.",
		}),
		watermark: gauge("umsync_sync_watermark_usn", "The DC's highestCommittedUSN the store has applied up to."),
		writes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "umsync_directory_writes_total",
			Help: "Directory writes (write-back) by result: done, rejected (changed meanwhile), failed (for good), retried.",
		}, []string{"result"}),
		writesPending:   gauge("umsync_directory_writes_pending", "Directory writes waiting in the outbox."),
		conflictsOpen:   gauge("umsync_conflicts_open", "Fields changed differently on both sides, waiting for an admin."),
		licenseSeats:    gauge("umsync_license_seats", "UMS license seats (license.seats; 0: no cap)."),
		licenseUsed:     gauge("umsync_license_used", "Users holding a UMS license seat."),
		licensePending:  gauge("umsync_license_pending", "Eligible users waiting for a free seat."),
		extensionsFree:  gauge("umsync_extensions_free", "Numbers of the extension pool that can be handed out (after the last assignment)."),
		extensionsShort: gauge("umsync_extensions_users_without", "Active users the extension pool had no number for (last assignment)."),
	}
	reg.MustRegister(m.runs, m.duration, m.lastSuccess, m.users, m.entriesRead, m.errors, m.changes,
		m.safetyStops, m.replanned, m.watermark, m.writes, m.writesPending, m.conflictsOpen,
		m.licenseSeats, m.licenseUsed, m.licensePending, m.extensionsFree, m.extensionsShort)
	for _, r := range writeResults {
		m.writes.WithLabelValues(r)
	}
	for _, mode := range modes {
		m.duration.WithLabelValues(string(mode))
		for _, r := range results {
			m.runs.WithLabelValues(string(mode), r)
		}
	}
	for _, s := range stages {
		m.errors.WithLabelValues(s)
	}
	for _, s := range states {
		m.users.WithLabelValues(string(s))
	}
	for _, k := range changeKinds {
		m.changes.WithLabelValues(string(k))
	}
	return m
}
