package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/crypto/bcrypt"

	"github.com/umsync/umsync/internal/adlab"
	"github.com/umsync/umsync/internal/logtest"
	"github.com/umsync/umsync/store"
	"github.com/umsync/umsync/sync/engine"
)

// TestMain lets a test run this package's binary as the real umsync: with
// UMSYNC_TEST_MAIN=1 the test binary is main().
func TestMain(m *testing.M) {
	if os.Getenv("UMSYNC_TEST_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// cfgOpts vary the test config; zero values take the defaults below.
type cfgOpts struct {
	url         string // default: the lab's LDAPS URL
	schedule    string // default: @every 1h
	readyMaxAge string // default: 15m
	directory   string // more lines of the directory: section, indented
	sync        string // more lines of the sync: section, indented
	mail        string // more lines of the mail: section, indented
	extra       string // more top-level sections (not mail:)
}

// testHashCost is the mail.bcrypt_cost of the test configs: bcrypt's
// lowest. The default costs a second of CPU a hash under -race, and the
// crash test alone mails over a hundred passwords and PINs.
const testHashCost = bcrypt.MinCost

// testConfig writes a config for the lab's OU into a temp folder.
func testConfig(t *testing.T, lab *adlab.Lab, ou string, o cfgOpts) string {
	t.Helper()
	if o.url == "" {
		o.url = lab.LDAPSURL
	}
	if o.schedule == "" {
		o.schedule = "@every 1h"
	}
	if o.readyMaxAge == "" {
		o.readyMaxAge = "15m"
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "umsync.yaml")
	body := fmt.Sprintf(`directory:
  url: %s
  ca_file: %s
  bind_dn: %s
  bind_password_file: %s
  base_dns: [%q]
%sstore:
  path: %s
sync:
  schedule: %q
%stelemetry:
  listen: 127.0.0.1:0
  ready_max_age: %s
log:
  level: debug
mail:
  bcrypt_cost: %d
%s%s`, o.url, lab.CAFile, lab.BindDN, lab.PasswordFile, ou, o.directory, filepath.Join(dir, "data", "umsync.db"), o.schedule,
		o.sync, o.readyMaxAge, testHashCost, o.mail, o.extra)
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// offlineLab stands in for the lab in tests that need a config but no
// AD, so that they need not wait for one: a DC that is never dialled
// (nothing listens on port 1), the CA and password fixtures of
// testdata/config, and an OU that is never created.
func offlineLab(t *testing.T) (lab *adlab.Lab, ou string) {
	t.Helper()
	abs := func(p string) string {
		a, err := filepath.Abs(filepath.Join("testdata", "config", p))
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	return &adlab.Lab{LDAPSURL: "ldaps://127.0.0.1:1", CAFile: abs("ca.pem"), BindDN: "CN=Administrator,CN=Users,DC=example,DC=test",
		PasswordFile: abs("bind-password"), BaseDN: "DC=example,DC=test"}, "OU=Offline,DC=example,DC=test"
}

// startTestDaemon starts serve in this process with the config at path,
// waits for its first successful cycle, and shuts it down with the test.
func startTestDaemon(t *testing.T, path string, log zerolog.Logger) *daemon {
	t.Helper()
	cfg, err := loadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	d, err := startDaemon(context.Background(), path, cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.shutdown() })
	waitForCycle(t, d, time.Time{})
	return d
}

// cycleWait bounds how long a test waits for the daemon's next successful
// cycle. waitFor's 20 s is too short for that under make test (three
// packages of four parallel tests with -race on two cores, one DC shared
// with them): a cycle makes its AD write-backs before it returns, each
// allowed directory.timeout (30 s), and no other cycle starts meanwhile;
// and an AD write waits while another writer holds the DC's database, such
// as a bulk ldbadd of thousands of users in one transaction
// (adlab.AddUsers) by a test of a package running beside.
const cycleWait = 2 * time.Minute

// waitForCycle waits until a cycle of d that ended after `after`
// succeeded. Should none within cycleWait, it fails with the runs recorded
// meanwhile (cycles that failed, and why) and the AD writes still pending
// (a cycle stuck writing them holds off the next).
func waitForCycle(t *testing.T, d *daemon, after time.Time) {
	t.Helper()
	deadline := time.Now().Add(cycleWait)
	for !d.parts.engine.LastSuccess().After(after) {
		if time.Now().After(deadline) {
			ctx := context.Background()
			var b strings.Builder
			runs, err := d.parts.store.Runs(ctx, 20)
			for _, r := range runs {
				if r.StartedAt.After(after) {
					fmt.Fprintf(&b, "\n  run %d %s started %s, %v: %s %s", r.ID, r.Mode, r.StartedAt.Format(time.RFC3339Nano), r.Duration, r.Result, r.Error)
				}
			}
			pending, werr := d.parts.store.Writes(ctx, store.WritePending, 1000)
			t.Fatalf("no successful cycle within %v after %v; %d AD writes pending (%v); the runs since, newest first (%v):%s",
				cycleWait, after.Format(time.RFC3339Nano), len(pending), werr, err, b.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// cycleNow runs a cycle in the test daemon (a one-shot `umsync sync` is
// refused while serve holds the store), waiting for a running one first.
func cycleNow(t *testing.T, d *daemon, mode engine.Mode) engine.Result {
	t.Helper()
	var res engine.Result
	waitWithin(t, cycleWait, "a "+string(mode)+" cycle", func() bool {
		var err error
		res, err = d.parts.engine.Cycle(context.Background(), engine.Options{Mode: mode})
		if errors.Is(err, engine.ErrBusy) {
			return false
		}
		if err != nil {
			t.Fatalf("%s cycle: %v", mode, err)
		}
		return true
	})
	return res
}

// testStore opens the store of cfg as a second handle beside a daemon
// (as an admin's CLI has one), closed with the test.
func testStore(t *testing.T, cfg *Config) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), cfg.Store, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// configStore is testStore of the config file at path.
func configStore(t *testing.T, path string) *store.Store {
	t.Helper()
	cfg, err := loadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	return testStore(t, cfg)
}

// seedUsers adds users CN=cli0..cli<n-1> (cli0 disabled) to ou and returns
// the prefix of their sAMAccountNames (prefix+"cli0"): those are unique in
// the domain, and tests run in parallel.
func seedUsers(t *testing.T, lab *adlab.Lab, ou string, n int) string {
	t.Helper()
	p := adlab.SamPrefix()
	for i := range n {
		lab.AddUser(t, ou, adlab.User{CN: fmt.Sprintf("cli%d", i), Sam: p + fmt.Sprintf("cli%d", i), Given: "Änne", Surname: fmt.Sprintf("Groß%d", i),
			Disabled: i == 0, Attrs: map[string][]string{"ipPhone": {fmt.Sprint(4000 + i)}, "mobile": {"0171 1234567"}}})
	}
	return p
}

func umsync(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var o, e bytes.Buffer
	code = run(context.Background(), args, &o, &e)
	return o.String(), e.String(), code
}

func get(t *testing.T, url string) (int, map[string]any, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var m map[string]any
	json.Unmarshal(body, &m)
	return resp.StatusCode, m, string(body)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	waitWithin(t, 20*time.Second, what, cond)
}

// waitWithin polls cond until it holds, failing the test after bound.
func waitWithin(t *testing.T, bound time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(bound)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting %v for %s", bound, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestServeInProcess starts the daemon on 127.0.0.1:0 with a fresh registry
// and checks /metrics, /healthz and /readyz, then shuts it down.
func TestServeInProcess(t *testing.T) {
	t.Parallel()
	lab := adlab.Require(t)
	ou := lab.OU(t)
	seedUsers(t, lab, ou, 3)
	cfg, err := loadConfig(testConfig(t, lab, ou, cfgOpts{}))
	if err != nil {
		t.Fatal(err)
	}
	var logs logtest.Buffer
	d, err := startDaemon(context.Background(), "", cfg, zerolog.New(io.MultiWriter(&logs, zerolog.NewTestWriter(t))))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if d != nil {
			d.shutdown()
		}
	}()
	base := "http://" + d.Addr()
	waitFor(t, "the start-up cycle", func() bool { return !d.parts.engine.LastSuccess().IsZero() })

	if code, body, _ := get(t, base+"/healthz"); code != 200 || body["status"] != "ok" {
		t.Errorf("/healthz = %d %v", code, body)
	}
	if code, body, _ := get(t, base+"/readyz"); code != 200 || body["status"] != "ready" {
		t.Errorf("/readyz = %d %v", code, body)
	}
	code, _, text := get(t, base+"/metrics")
	if code != 200 {
		t.Fatalf("/metrics = %d", code)
	}
	for _, want := range []string{
		`umsync_sync_runs_total{mode="full",result="success"} 1`,
		`umsync_users{state="active"} 2`,
		`umsync_users{state="deactivated"} 1`,
		`umsync_sync_entries_read_total 3`,
		`umsync_build_info{`,
		`go_goroutines `,
		`process_resident_memory_bytes `,
		`go_sql_open_connections{db_name="umsync"}`,
		`umsync_sync_duration_seconds_count{mode="full"} 1`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	// No PII in metrics: no user name, DN or OU.
	for _, pii := range []string{"cli1", "Groß", ou, "example.test"} {
		if strings.Contains(text, pii) {
			t.Errorf("/metrics contains %q", pii)
		}
	}
	err = d.shutdown()
	d = nil
	if err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Error("telemetry still answers after shutdown")
	}
	if !strings.Contains(logs.String(), `"message":"user created"`) {
		t.Error("no 'user created' event in the logs")
	}
}

// TestReadyzTurnsUnready: unready before any success, and once the last
// success is older than ready_max_age.
func TestReadyzTurnsUnready(t *testing.T) {
	t.Parallel()
	lab := adlab.Require(t)
	ou := lab.OU(t)
	seedUsers(t, lab, ou, 2)

	// AD unreachable from the start: no success yet → unready.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := ln.Addr().String()
	ln.Close()
	cfg, err := loadConfig(testConfig(t, lab, ou, cfgOpts{url: "ldaps://" + closed}))
	if err != nil {
		t.Fatal(err)
	}
	d, err := startDaemon(context.Background(), "", cfg, zerolog.New(zerolog.NewTestWriter(t)))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the failed start-up run", func() bool {
		runs, _ := d.parts.store.Runs(context.Background(), 1)
		return len(runs) == 1
	})
	code, body, _ := get(t, "http://"+d.Addr()+"/readyz")
	if code != 503 || body["reason"] != "no successful sync yet" {
		t.Errorf("/readyz with AD down = %d %v", code, body)
	}
	if v := d.parts.engine.LastSuccess(); !v.IsZero() {
		t.Errorf("LastSuccess = %v after a failed run", v)
	}
	d.shutdown()

	// A success, but ready_max_age is shorter than its age → unready.
	cfg2, err := loadConfig(testConfig(t, lab, ou, cfgOpts{readyMaxAge: "300ms"}))
	if err != nil {
		t.Fatal(err)
	}
	d2, err := startDaemon(context.Background(), "", cfg2, zerolog.New(zerolog.NewTestWriter(t)))
	if err != nil {
		t.Fatal(err)
	}
	defer d2.shutdown()
	waitFor(t, "a success", func() bool { return !d2.parts.engine.LastSuccess().IsZero() })
	time.Sleep(400 * time.Millisecond)
	code, body, _ = get(t, "http://"+d2.Addr()+"/readyz")
	if code != 503 || body["reason"] != "last successful sync is older than ready_max_age" {
		t.Errorf("/readyz with a stale success = %d %v", code, body)
	}
}

// TestServeProcessStopsOnSIGTERM runs umsync serve as a real process and
// stops it with SIGTERM: exit 0, "stopped" logged, and the bind password
// never appears in its (debug-level) logs.
func TestServeProcessStopsOnSIGTERM(t *testing.T) {
	t.Parallel()
	lab := adlab.Require(t)
	ou := lab.OU(t)
	seedUsers(t, lab, ou, 2)
	path := testConfig(t, lab, ou, cfgOpts{schedule: "@every 1s"})
	cmd := exec.Command(os.Args[0], "serve", "--config", path)
	cmd.Env = append(os.Environ(), "UMSYNC_TEST_MAIN=1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill() // only if the test fails before Wait
	var logs logtest.Buffer
	addr := make(chan string, 1)
	cycles := make(chan struct{}, 100)
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			logs.Write([]byte(line + "\n"))
			var ev map[string]any
			json.Unmarshal([]byte(line), &ev)
			if ev["message"] == "telemetry listening" {
				addr <- ev["addr"].(string)
			}
			if ev["message"] == "sync finished" {
				cycles <- struct{}{}
			}
		}
	}()
	var a string
	select {
	case a = <-addr:
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not start listening")
	}
	for range 2 { // the start-up cycle and one scheduled cycle
		select {
		case <-cycles:
		case <-time.After(20 * time.Second):
			t.Fatalf("no sync cycle finished; logs:\n%s", logs.String())
		}
	}
	if code, _, _ := get(t, "http://"+a+"/healthz"); code != 200 {
		t.Errorf("/healthz = %d", code)
	}
	// SIGHUP reloads (systemctl reload): a new schedule, no restart.
	os.WriteFile(path, []byte(strings.Replace(readFile(t, path), `"@every 1s"`, `"@every 1h"`, 1)), 0o600)
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the reload", func() bool { return strings.Contains(logs.String(), `"message":"config reloaded"`) })
	if _, _, text := get(t, "http://"+a+"/metrics"); !strings.Contains(text, "umsync_config_last_reload_successful 1") {
		t.Errorf("/metrics after the reload lacks umsync_config_last_reload_successful 1")
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-done
	if err := cmd.Wait(); err != nil {
		t.Fatalf("serve exited with %v; logs:\n%s", err, logs.String())
	}
	if !strings.Contains(logs.String(), `"message":"stopped"`) {
		t.Errorf("no 'stopped' event; logs:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), lab.Password) {
		t.Error("the bind password appears in the logs")
	}
	cfg, _ := loadConfig(path)
	files, _ := filepath.Glob(cfg.Store.Path + "*")
	for _, f := range files { // the database, its WAL and shared memory
		if b, _ := os.ReadFile(f); bytes.Contains(b, []byte(lab.Password)) {
			t.Errorf("the bind password is in %s", f)
		}
	}
	if len(files) == 0 {
		t.Error("no store files to check")
	}
	if !strings.Contains(logs.String(), `"level":"debug"`) {
		t.Error("logs were not at debug level, so the password check proves little")
	}
}
