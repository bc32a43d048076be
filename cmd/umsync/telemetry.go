package main

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net"
	"net/http"
	"regexp"
	"strings"
	"time"
)

// httpLimits bound what one client of the telemetry listener can hold:
// a slow or silent client is cut off, and shutdown waits at most Shutdown
// for requests in flight before it closes their connections.
type httpLimits struct {
	ReadHeader, Read, Write, Idle time.Duration
	MaxHeaderBytes                int
	Shutdown                      time.Duration
}

// defaultHTTPLimits are generous for Prometheus, a load balancer and a
// browser (a status page renders in milliseconds) and short for a client
// that holds a connection open doing nothing.
var defaultHTTPLimits = httpLimits{
	ReadHeader:     5 * time.Second,
	Read:           10 * time.Second,
	Write:          30 * time.Second,
	Idle:           60 * time.Second,
	MaxHeaderBytes: 16 << 10,
	Shutdown:       5 * time.Second,
}

// newTelemetryServer is the HTTP server of the telemetry listener, with
// every timeout of lim set.
func newTelemetryServer(h http.Handler, lim httpLimits) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: lim.ReadHeader,
		ReadTimeout:       lim.Read,
		WriteTimeout:      lim.Write,
		IdleTimeout:       lim.Idle,
		MaxHeaderBytes:    lim.MaxHeaderBytes,
	}
}

// stopTelemetry stops srv: no new connections, requests in flight get
// until bound to finish, then every connection left is closed. A client
// that hangs cannot hold the shutdown: it returns within bound (plus the
// time Close takes) with a nil error; hung reports whether it had to
// close connections.
func stopTelemetry(srv *http.Server, bound time.Duration) (hung bool, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	err = srv.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		return true, srv.Close()
	}
	return false, err
}

// statusCSP is the Content-Security-Policy of the status page: nothing may
// load or run but its one inline <style> block, allowed by its hash.
var statusCSP = "default-src 'none'; style-src '" + styleHash(statusHTML) +
	"'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// styleHash is the CSP source ("sha256-…") of the inline <style> block of
// page; it panics when the page has none, so a template edit that drops it
// fails every test at once.
func styleHash(page string) string {
	m := regexp.MustCompile(`(?s)<style>(.*?)</style>`).FindStringSubmatch(page)
	if m == nil {
		panic("status.html has no <style> block")
	}
	sum := sha256.Sum256([]byte(m[1]))
	return "sha256-" + base64.StdEncoding.EncodeToString(sum[:])
}

// guard wraps the telemetry routes: every response says nosniff; while
// telemetry.status_details is on (the page then names users), a request
// whose Host is not one of ours is refused with 421, so a web page whose
// DNS name was rebound to this address cannot read it from a browser.
func (d *daemon) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		t := d.cfg.Load().Telemetry
		if t.StatusDetails && !hostAllowed(r.Host, d.ln.Addr(), t.Hosts) {
			http.Error(w, "misdirected request: the Host header names neither this listener, a loopback name nor a telemetry.hosts entry",
				http.StatusMisdirectedRequest)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// hostAllowed reports whether the Host header host (with or without port)
// names the listener at addr, a loopback name (localhost, 127.0.0.0/8,
// ::1) or one of hosts. Ports are not compared: a rebound DNS name differs
// in the name.
func hostAllowed(host string, addr net.Addr, hosts []string) bool {
	name := hostName(host)
	if name == "" {
		return false
	}
	if isLoopbackHost(name) {
		return true
	}
	if tcp, ok := addr.(*net.TCPAddr); ok && !tcp.IP.IsUnspecified() {
		if ip := net.ParseIP(name); ip != nil && ip.Equal(tcp.IP) {
			return true
		}
	}
	for _, h := range hosts {
		if strings.EqualFold(hostName(h), name) {
			return true
		}
	}
	return false
}

// hostName is host without port and IPv6 brackets, lower case.
func hostName(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"))
}

// isLoopbackHost: localhost or a loopback IP address.
func isLoopbackHost(name string) bool {
	if strings.EqualFold(name, "localhost") {
		return true
	}
	ip := net.ParseIP(name)
	return ip != nil && ip.IsLoopback()
}

// validHostName: an IP address, or a DNS name of letters, digits, '-' and
// '.' (no port, no scheme).
var validHostName = regexp.MustCompile(`^(?i)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*\.?$`)
