package main

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// fastLimits are telemetry limits short enough for a test.
var fastLimits = httpLimits{ReadHeader: 300 * time.Millisecond, Read: 300 * time.Millisecond,
	Write: 300 * time.Millisecond, Idle: 300 * time.Millisecond, MaxHeaderBytes: 4 << 10, Shutdown: 300 * time.Millisecond}

// serveTest serves h with lim on 127.0.0.1:0 and returns the server, its
// address and a channel closed when Serve returned.
func serveTest(t *testing.T, h http.Handler, lim httpLimits) (*http.Server, string, chan struct{}) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := newTelemetryServer(h, lim)
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close(); <-done })
	return srv, ln.Addr().String(), done
}

// closedWithin reads conn until the server closes it and fails the test if
// that takes longer than limit (the read itself gives up after 10 s).
func closedWithin(t *testing.T, conn net.Conn, limit time.Duration) {
	t.Helper()
	start := time.Now()
	conn.SetReadDeadline(start.Add(10 * time.Second))
	_, err := io.Copy(io.Discard, conn) // nil at EOF: the server closed it
	if took := time.Since(start); err != nil || took > limit {
		t.Fatalf("the server kept the connection: read ended after %v with %v, want EOF within %v", took, err, limit)
	}
}

// TestTelemetryClosesSilentBody: a request that announces a body and sends
// none, and a connection that sends nothing at all, are closed within the
// read timeout, not held open.
func TestTelemetryClosesSilentBody(t *testing.T) {
	_, addr, _ := serveTest(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
	}), fastLimits)
	for name, req := range map[string]string{
		"announced body": "POST /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n",
		"half a header":  "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if _, err := io.WriteString(conn, req); err != nil {
				t.Fatal(err)
			}
			closedWithin(t, conn, 5*time.Second)
		})
	}
}

// TestTelemetryLimitsSet: the daemon's server has every limit set.
func TestTelemetryLimitsSet(t *testing.T) {
	s := newTelemetryServer(http.NotFoundHandler(), defaultHTTPLimits)
	if s.ReadHeaderTimeout <= 0 || s.ReadTimeout <= 0 || s.WriteTimeout <= 0 || s.IdleTimeout <= 0 ||
		s.MaxHeaderBytes <= 0 || defaultHTTPLimits.Shutdown <= 0 {
		t.Errorf("a limit is unset: %+v", s)
	}
}

// TestTelemetryShutdownWithHungRequest: a handler that never returns and a
// client that never sends its body do not hold shutdown beyond its bound,
// and their connections are closed.
func TestTelemetryShutdownWithHungRequest(t *testing.T) {
	entered := make(chan struct{})
	release := make(chan struct{})
	defer close(release)
	lim := fastLimits
	lim.Read, lim.Write = time.Minute, time.Minute // only the shutdown bound may end them
	srv, addr, done := serveTest(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hang" {
			close(entered)
			<-release // ignores its context, as a stuck store call would
		}
		io.Copy(io.Discard, r.Body)
	}), lim)
	dial := func(req string) net.Conn {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		io.WriteString(conn, req)
		return conn
	}
	hungHandler := dial("GET /hang HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
	<-entered
	hungBody := dial("POST /body HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n")
	io.WriteString(hungBody, "x") // one byte of the hundred announced

	start := time.Now()
	hung, err := stopTelemetry(srv, lim.Shutdown)
	took := time.Since(start)
	if err != nil || !hung {
		t.Errorf("stopTelemetry = %v, %v; want hung, nil", hung, err)
	}
	if took > lim.Shutdown+2*time.Second {
		t.Errorf("shutdown took %v, bound %v", took, lim.Shutdown)
	}
	<-done
	closedWithin(t, hungHandler, 5*time.Second)
	closedWithin(t, hungBody, 5*time.Second)
}

// TestTelemetryHeadersAndHostCheck: every response says nosniff, the status
// page has its CSP and X-Frame-Options; with status_details a foreign Host
// is refused and loopback names, the listen address and telemetry.hosts
// are served.
func TestTelemetryHeadersAndHostCheck(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cfg := defaultConfig()
	cfg.Telemetry.Hosts = []string{"umsync.example.org", "10.1.2.3"}
	d := &daemon{ln: ln}
	d.cfg.Store(&cfg)
	h := d.guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", statusCSP)
		w.Header().Set("X-Frame-Options", "DENY")
		io.WriteString(w, "ok")
	}))
	do := func(host string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", "/", nil)
		r.Host = host
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec
	}
	// Without status_details every Host is served (nothing to protect).
	if rec := do("evil.example.com"); rec.Code != http.StatusOK || rec.Header().Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("details off: %d %v", rec.Code, rec.Header())
	}
	cfg.Telemetry.StatusDetails = true
	for host, want := range map[string]int{
		"evil.example.com": http.StatusMisdirectedRequest, "evil.example.com:9742": http.StatusMisdirectedRequest,
		"127.0.0.2.nip.io": http.StatusMisdirectedRequest, "": http.StatusMisdirectedRequest,
		"10.1.2.4":  http.StatusMisdirectedRequest,
		"localhost": http.StatusOK, "LOCALHOST:9742": http.StatusOK, "127.0.0.1": http.StatusOK, "127.8.9.10:80": http.StatusOK,
		"[::1]:9742": http.StatusOK, ln.Addr().String(): http.StatusOK,
		"umsync.example.org": http.StatusOK, "UMSync.Example.org:9742": http.StatusOK, "10.1.2.3:9742": http.StatusOK,
	} {
		rec := do(host)
		if rec.Code != want {
			t.Errorf("Host %q: %d, want %d", host, rec.Code, want)
		}
		if rec.Header().Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("Host %q: no nosniff", host)
		}
	}

	// The real routes: nosniff on the JSON and metrics answers too.
	d2 := &daemon{ln: ln}
	d2.cfg.Store(&cfg)
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/healthz", nil)
	req.Host = "localhost"
	d2.routes(prometheus.NewRegistry()).ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || rec.Header().Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("/healthz: %d %v", rec.Code, rec.Header())
	}
}

// TestStatusCSPAllowsItsStyle: the CSP names the hash of the page's one
// inline style, forbids everything else, and the page has no script or
// inline style attribute the CSP would block.
func TestStatusCSPAllowsItsStyle(t *testing.T) {
	if !strings.HasPrefix(statusCSP, "default-src 'none';") || !strings.Contains(statusCSP, "frame-ancestors 'none'") {
		t.Errorf("CSP %q", statusCSP)
	}
	if !strings.Contains(statusCSP, "'sha256-") {
		t.Errorf("CSP %q allows no style", statusCSP)
	}
	sc := bufio.NewScanner(strings.NewReader(statusHTML))
	for n := 1; sc.Scan(); n++ {
		l := strings.ToLower(sc.Text())
		if strings.Contains(l, "<script") || strings.Contains(l, " style=") || strings.Contains(l, "javascript:") {
			t.Errorf("status.html:%d would be blocked by the CSP: %s", n, sc.Text())
		}
	}
}
