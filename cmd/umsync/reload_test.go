package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"

	"github.com/umsync/umsync/internal/adlab"
	"github.com/umsync/umsync/internal/logtest"
)

// TestReloadAppliesOrRefuses: a reload applies a new schedule, attribute
// map and profiles (the next cycle runs with them); a change of the store
// path or a config with errors is refused with a log line, the metric
// says so, and the old config stays.
func TestReloadAppliesOrRefuses(t *testing.T) {
	t.Parallel()
	lab := adlab.Require(t)
	ou := lab.OU(t)
	p := seedUsers(t, lab, ou, 2)
	lab.Modify(t, "CN=cli1,"+ou, "mail", "cli1@example.test")
	path := testConfig(t, lab, ou, cfgOpts{})
	original := readFile(t, path)
	cfg, err := loadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	var logs logtest.Buffer
	d, err := startDaemon(context.Background(), path, cfg, zerolog.New(&logs))
	if err != nil {
		t.Fatal(err)
	}
	defer d.shutdown()
	waitFor(t, "the first cycle", func() bool { return !d.parts.engine.LastSuccess().IsZero() })
	first := d.parts.engine.LastSuccess()

	changed := strings.Replace(original, `schedule: "@every 1h"`, `schedule: "@every 5h"`, 1)
	changed = strings.Replace(changed, "store:", "  attributes: {settings: info}\nstore:", 1) +
		"profiles:\n  - name: default\n    services: [fax]\n"
	os.WriteFile(path, []byte(changed), 0o600)
	d.reload()
	if !strings.Contains(logs.String(), `"message":"config reloaded"`) || testutil.ToFloat64(d.reloadOK) != 1 {
		t.Fatalf("reload not applied:\n%s", logs.String())
	}
	if next := time.Until(d.sched.Load().Next()); next < 4*time.Hour {
		t.Errorf("next run in %v after reloading a 5 h schedule", next)
	}
	// The new schedule runs a cycle at once; it writes the profile's settings
	// to AD (after it is recorded as a success: wait for AD itself).
	waitFor(t, "the profile's settings in AD", func() bool {
		got := lab.Values(t, "CN=cli1,"+ou, "info")
		return len(got) == 1 && got[0] == "ums1;svc=fax;prof=default"
	})
	if !d.parts.engine.LastSuccess().After(first) {
		t.Error("no cycle after the reload")
	}

	// Mail switched on by a reload: the worker starts and sends.
	mailDir := t.TempDir()
	changed = strings.Replace(changed, "\nmail:\n", "\nmail:\n  transport: file\n  from: \"UMS <ums@example.test>\"\n  file: {dir: "+mailDir+"}\n", 1)
	os.WriteFile(path, []byte(changed), 0o600)
	d.reload()
	if testutil.ToFloat64(d.reloadOK) != 1 || !strings.Contains(logs.String(), `"message":"mail worker started"`) {
		t.Fatalf("reload with mail: ok %v\n%s", testutil.ToFloat64(d.reloadOK), logs.String())
	}
	if _, stderr, code := umsync(t, "users", "send-infomail", p+"cli1", "--config", path); code != exitOK {
		t.Fatalf("send-infomail after the reload: %s", stderr)
	}
	waitFor(t, "the mail file", func() bool { files, _ := filepath.Glob(filepath.Join(mailDir, "*.eml")); return len(files) == 1 })

	for name, cfgText := range map[string]string{
		"store":  strings.Replace(changed, "umsync.db", "other.db", 1),
		"broken": changed + "nonsense: 1\n",
	} {
		os.WriteFile(path, []byte(cfgText), 0o600)
		d.reload()
		if testutil.ToFloat64(d.reloadOK) != 0 {
			t.Errorf("%s: reload accepted", name)
		}
		if len(d.cfg.Load().rules.Profiles) != 1 || d.cfg.Load().Sync.Schedule != "@every 5h" {
			t.Errorf("%s: the config in use changed", name)
		}
		d.reloadOK.Set(1)
	}
	for _, want := range []string{"store changed (path or settings): restart umsync", "nonsense: unknown key",
		`"message":"config reload refused; the old config stays"`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logs lack %q", want)
		}
	}
}

// TestReloadAppliesLogLevel: serve starts at log.level info (no debug
// events); a reload to debug emits debug events from the engine and the
// directory at once; a change of log.format is refused.
func TestReloadAppliesLogLevel(t *testing.T) {
	t.Parallel()
	lab := adlab.Require(t)
	ou := lab.OU(t)
	seedUsers(t, lab, ou, 1)
	path := testConfig(t, lab, ou, cfgOpts{})
	info := strings.Replace(readFile(t, path), "level: debug", "level: info", 1)
	os.WriteFile(path, []byte(info), 0o600)
	cfg, err := loadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	var logs logtest.Buffer
	d, err := startDaemon(context.Background(), path, cfg, zerolog.New(&logs))
	if err != nil {
		t.Fatal(err)
	}
	defer d.shutdown()
	waitFor(t, "the first cycle", func() bool { return !d.parts.engine.LastSuccess().IsZero() })
	if strings.Contains(logs.String(), `"level":"debug"`) {
		t.Fatalf("debug events at log.level info:\n%s", logs.String())
	}
	first := d.parts.engine.LastSuccess()
	os.WriteFile(path, []byte(strings.Replace(info, "level: info", "level: debug", 1)), 0o600)
	d.reload()
	if testutil.ToFloat64(d.reloadOK) != 1 {
		t.Fatalf("reload to debug refused:\n%s", logs.String())
	}
	waitFor(t, "a cycle after the reload", func() bool { return d.parts.engine.LastSuccess().After(first) })
	if !strings.Contains(logs.String(), `"level":"debug"`) {
		t.Errorf("no debug event after the reload to debug:\n%s", logs.String())
	}
	os.WriteFile(path, []byte(strings.Replace(info, "log:\n", "log:\n  format: console\n", 1)), 0o600)
	d.reload()
	if testutil.ToFloat64(d.reloadOK) != 0 || !strings.Contains(logs.String(), "log.format changed: restart umsync") {
		t.Errorf("a log.format change was not refused:\n%s", logs.String())
	}
}

// TestReloadMailOffThenSIGTERM: serve runs with mail on, a SIGHUP reload
// turns mail off (the worker stops), and the next SIGTERM stops serve
// with exit 0 — it used to panic on the stopped worker's nil stop func.
func TestReloadMailOffThenSIGTERM(t *testing.T) {
	t.Parallel()
	lab := adlab.Require(t)
	ou := lab.OU(t)
	seedUsers(t, lab, ou, 1)
	mailOn := "  transport: file\n  from: \"UMS <ums@example.test>\"\n  file: {dir: " + t.TempDir() + "}\n"
	path := testConfig(t, lab, ou, cfgOpts{mail: mailOn})
	cmd := exec.Command(os.Args[0], "serve", "--config", path)
	cmd.Env = append(os.Environ(), "UMSYNC_TEST_MAIN=1")
	var logs logtest.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill() // our own child, by its PID: only if the test failed before it ended
			<-done
		}
	})
	logged := func(msg string) func() bool {
		return func() bool { return strings.Contains(logs.String(), `"message":"`+msg+`"`) }
	}
	// Logged after serve listens for SIGHUP.
	waitFor(t, "the mail worker", logged("mail worker started"))
	waitFor(t, "the listener", logged("telemetry listening"))

	os.WriteFile(path, []byte(strings.Replace(readFile(t, path), mailOn, "", 1)), 0o600)
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the reload", logged("config reloaded"))
	if !logged("mail worker stopped (mail.transport is not set)")() {
		t.Fatalf("the reload did not stop the mail worker:\n%s", logs.String())
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil || cmd.ProcessState.ExitCode() != 0 {
			t.Fatalf("serve ended with %v (exit %d); logs:\n%s", err, cmd.ProcessState.ExitCode(), logs.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("serve did not stop within 30 s of SIGTERM; logs:\n%s", logs.String())
	}
	if out := logs.String(); strings.Contains(out, "panic") || !logged("stopped")() {
		t.Errorf("no clean stop; logs:\n%s", out)
	}
}
