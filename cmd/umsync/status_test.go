package main

import (
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/umsync/umsync/internal/adlab"
	"github.com/umsync/umsync/sync/engine"
)

// chromium finds the headless browser scripts/test.sh installs; a missing
// one fails the test in CI.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed (scripts/test.sh installs Debian's chromium)")
	}
	t.Skip("chromium is not installed; scripts/test.sh installs it when run as root")
	return ""
}

// headless runs Chromium on url with the flags this machine needs (no
// network but loopback) and extra, and returns its standard output.
func headless(t *testing.T, bin, url string, extra ...string) string {
	t.Helper()
	args := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + t.TempDir()}, extra...)
	out, err := exec.Command(bin, append(args, url)...).Output()
	if err != nil {
		t.Fatalf("chromium %v: %v", extra, err)
	}
	return string(out)
}

// TestStatusPageInChromium: the status page loads in headless Chromium and
// shows the right numbers, and no names unless status_details is set. A
// screenshot is kept in bin/artifacts (not in git).
func TestStatusPageInChromium(t *testing.T) {
	t.Parallel()
	lab := adlab.Require(t) // first: make test installs chromium while the lab starts
	bin := chromium(t)
	ou := lab.OU(t)
	p := seedUsers(t, lab, ou, 4) // cli0 disabled
	path := testConfig(t, lab, ou, cfgOpts{extra: "license:\n  seats: 2\n"})
	d := startTestDaemon(t, path, zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel))
	lab.Modify(t, "CN=cli2,"+ou, "mobile", "call me") // a problem (and cli1, cli3 share a mobile)
	cycleNow(t, d, engine.ModeDelta)

	url := "http://" + d.Addr() + "/"
	dom := headless(t, bin, url, "--dump-dom")
	value := func(id string) string {
		m := regexp.MustCompile(`id="` + id + `">([^<]*)<`).FindStringSubmatch(dom)
		if m == nil {
			t.Fatalf("no #%s in the page:\n%s", id, dom)
		}
		return m[1]
	}
	for id, want := range map[string]string{"users-active": "3", "users-deactivated": "1", "license-used": "2",
		"license-seats": "2", "license-pending": "1", "problems": "3", "conflicts": "0", "mail-queued": "0"} {
		if got := value(id); got != want {
			t.Errorf("#%s = %q, want %q", id, got, want)
		}
	}
	if n := strings.Count(dom, `<td class="success">success</td>`); n != 2 {
		t.Errorf("%d successful runs listed, want 2", n)
	}
	for _, pii := range []string{p + "cli1", p + "cli3", "Groß", ou, "call me"} {
		if strings.Contains(dom, pii) {
			t.Errorf("the page shows %q without status_details", pii)
		}
	}

	// The CSP lets the page's own style apply: Chromium logs no violation.
	console, err := exec.Command(bin, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+t.TempDir(), "--enable-logging=stderr", "--v=0", "--dump-dom", url).CombinedOutput()
	if err != nil {
		t.Errorf("chromium: %v\n%s", err, console)
	}
	for _, l := range strings.Split(string(console), "\n") {
		if strings.Contains(l, "Content Security Policy") {
			t.Errorf("the CSP blocked part of the page: %s", l)
		}
	}

	dir := os.Getenv("UMSYNC_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("..", "..", "bin", "artifacts")
	}
	os.MkdirAll(dir, 0o755)
	shot := filepath.Join(dir, "status-page.png")
	os.Remove(shot)
	headless(t, bin, url, "--screenshot="+shot, "--window-size=1200,900", "--hide-scrollbars")
	if st, err := os.Stat(shot); err != nil || st.Size() < 5000 {
		t.Errorf("screenshot %s: %v", shot, err)
	}

	// With status_details the waiting user and the problem are named.
	d.cfg.Load().Telemetry.StatusDetails = true
	rec := httptest.NewRecorder()
	d.status(rec, httptest.NewRequest("GET", "/", nil))
	body := rec.Body.String()
	if !strings.Contains(body, `<ul id="pending-users"><li>`+p+`cli3</li></ul>`) || !strings.Contains(body, "cli2 — mobile") {
		t.Errorf("details page:\n%s", body)
	}
}
