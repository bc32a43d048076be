package api

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	requests     *prometheus.CounterVec
	duration     *prometheus.HistogramVec
	authFailures *prometheus.CounterVec
	auditDropped prometheus.Counter
}

// routes are the bounded values of the route label.
var routeNames = []string{"users", "user", "lookup", "auth_password", "verify_pin", "set_pin", "set_password",
	"action", "openapi", "unknown"}

// pre-created codes per route: what each route answers in normal use.
var codes = []int{200, 202, 400, 401, 403, 404, 409, 413, 422, 423, 429, 500}

// Kinds of authentication failure.
const (
	failPassword = "password"
	failPIN      = "pin"
	failToken    = "token"
)

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "umsync_api_requests_total",
			Help: "API calls answered, by route and HTTP status code."}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "umsync_api_request_duration_seconds",
			Help: "How long API calls took, by route.", Buckets: prometheus.DefBuckets}, []string{"route"}),
		authFailures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "umsync_api_auth_failures_total",
			Help: "Failed authentications at the API: a wrong password or PIN given to check, or a missing or unknown token."},
			[]string{"kind"}),
		auditDropped: prometheus.NewCounter(prometheus.CounterOpts{Name: "umsync_api_audit_dropped_total",
			Help: "API calls answered but not audited: the audit writer was behind by more than 4096 calls."}),
	}
	for _, r := range routeNames {
		m.duration.WithLabelValues(r)
		for _, c := range codes {
			m.requests.WithLabelValues(r, strconv.Itoa(c))
		}
	}
	for _, k := range []string{failPassword, failPIN, failToken} {
		m.authFailures.WithLabelValues(k)
	}
	reg.MustRegister(m.requests, m.duration, m.authFailures, m.auditDropped)
	return m
}
