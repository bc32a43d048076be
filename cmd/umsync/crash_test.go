package main

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"mime"
	"net/mail"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/umsync/umsync/internal/adlab"
	"github.com/umsync/umsync/internal/crashpoint"
	"github.com/umsync/umsync/internal/logtest"
	"github.com/umsync/umsync/internal/smtptest"
	"github.com/umsync/umsync/store"
)

// crashPoints are where TestCrashConvergence kills serve (point:nth time):
// the read, the plan, the commit, the AD writes, the mails, and the same
// points in the next cycle.
var crashPoints = []string{
	"engine.read:1", "engine.planned:1", "store.before-commit:1", "engine.committed:1",
	"engine.write-before:1", "engine.write-before:2", "engine.write-before:4",
	"engine.write-after:1", "engine.write-after:2", "engine.write-after:4",
	"mail.send-before:1", "mail.send-before:5", "mail.send-before:12",
	"mail.send-after:1", "mail.send-after:5", "mail.send-after:12",
	"mail.marked:1", "mail.marked:9",
	"engine.read:2", "store.before-commit:2",
}

// outcome is what a scenario ends with, keyed by user (without the
// scenario's prefix, extensions relative to its pool).
type outcome struct {
	users map[string]string // store: state, license, extension, mobile, settings
	ad    map[string]string // AD: ipPhone, mobile, userAccountControl
	mails map[string]int    // recipient and subject → how many arrived
}

// TestCrashConvergence: serve is killed with SIGKILL at each crash point of
// a cycle that has AD changes (3 users added, 1 changed, 1 disabled),
// write-backs (3 new extensions, 1 mobile edited in umsync) and mails
// (info and password mails); restarted, it ends with the same AD, store
// and mails as a run that was never killed. The one allowed difference:
// the mail worker runs beside the cycle, so a kill at any point may fall
// between the SMTP server's acceptance of a mail and its mark-sent; that
// one mail then arrives twice (DESIGN invariant 6; README "Mail").
func TestCrashConvergence(t *testing.T) {
	t.Parallel()
	lab := adlab.Require(t)
	// The reference run and every crash point are parallel subtests, each
	// in its own OU; the outcomes are compared when all have ended.
	got := make([]outcome, len(crashPoints)+1)
	t.Run("scenarios", func(t *testing.T) {
		for i := range got {
			point := ""
			if i > 0 {
				point = crashPoints[i-1]
			}
			t.Run(cmp.Or(point, "reference"), func(t *testing.T) {
				t.Parallel()
				got[i] = crashScenario(t, lab, i, point)
			})
		}
	})
	if t.Failed() {
		return
	}
	want := got[0]
	for i, point := range crashPoints {
		t.Run(point, func(t *testing.T) {
			got := got[i+1]
			compareOutcome(t, want.users, got.users, "store")
			compareOutcome(t, want.ad, got.ad, "AD")
			extra := 0
			for k := range union(want.mails, got.mails) {
				switch d := got.mails[k] - want.mails[k]; {
				case d == 1:
					extra++
				case d != 0:
					t.Errorf("mail %q arrived %d times, %d without the crash", k, got.mails[k], want.mails[k])
				}
			}
			if extra > 1 {
				t.Errorf("%d mails arrived twice; at most the one in flight may", extra)
			}
			if extra == 1 {
				t.Logf("one mail arrived twice: the kill came between the server's acceptance and the mark-sent")
			}
		})
	}
}

func union(a, b map[string]int) map[string]bool {
	out := map[string]bool{}
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}

func compareOutcome(t *testing.T, want, got map[string]string, what string) {
	t.Helper()
	if len(want) != len(got) {
		t.Errorf("%s: %d users, want %d", what, len(got), len(want))
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s %s = %q, want %q", what, k, got[k], w)
		}
	}
}

// crashPoolBase is where this run's extension pools start: a random block
// of 3,000 five-digit numbers, so that another checkout's run of this test
// (or what a killed run left in AD) does not hold numbers of its pools —
// the pool skips numbers in use anywhere in the domain, and the outcomes
// are compared relative to the pool.
var crashPoolBase = 10000 + rand.IntN(28)*3000

// crashScenario sets up scenario i in an OU of its own (its own pool of
// 100 numbers from crashPoolBase, names prefixed), runs the changing cycle with serve killed at point
// ("" for the reference run), restarts serve until all is quiet, and
// returns the outcome.
func crashScenario(t *testing.T, lab *adlab.Lab, i int, point string) outcome {
	t.Helper()
	ou := lab.OU(t)
	prefix := adlab.SamPrefix() + fmt.Sprintf("c%02d", i)
	pool := crashPoolBase + i*100
	peer := smtptest.Start(t)
	dn := func(name string) string { return "CN=" + prefix + name + "," + ou }
	for j := range 5 {
		lab.AddUser(t, ou, adlab.User{Sam: prefix + fmt.Sprintf("b%d", j), Attrs: map[string][]string{
			"mail": {fmt.Sprintf("%sb%d@example.test", prefix, j)}, "mobile": {fmt.Sprintf("0171 555000%d", j)}}})
	}
	path := testConfig(t, lab, ou, cfgOpts{schedule: "@every 1s", sync: "  max_deactivation_percent: 0\n", extra: fmt.Sprintf(`extensions:
  ranges: ["%d-%d"]
validation:
  extension_max_digits: 5
`, pool, pool+99), mail: fmt.Sprintf(`  transport: smtp
  from: "UMS <ums@example.test>"
  smtp: {host: 127.0.0.1, port: %d, tls: none}
`, peer.Port)})
	// The state before: one sync (its mails wait in the outbox).
	if _, stderr, code := umsync(t, "sync", "--config", path); code != exitOK {
		t.Fatalf("first sync: %s", stderr)
	}
	// The changes the killed cycle applies.
	for j := range 3 {
		lab.AddUser(t, ou, adlab.User{Sam: prefix + fmt.Sprintf("n%d", j), Attrs: map[string][]string{
			"mail": {fmt.Sprintf("%sn%d@example.test", prefix, j)}}})
	}
	lab.Modify(t, dn("b1"), "mobile", "0171 5559991")
	lab.Modify(t, dn("b2"), "userAccountControl", "514")
	if _, stderr, code := umsync(t, "users", "set", prefix+"b3", "mobile=0171 5559993", "--config", path); code != exitOK {
		t.Fatalf("users set: %s", stderr)
	}

	if point != "" {
		out, err := runServe(t, path, crashpoint.Env+"="+point, 0)
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Fatalf("serve with %s ended with %v, want SIGKILL; log:\n%s", point, err, out)
		}
	}
	if out, err := runServe(t, path, "", 3); err != nil {
		t.Fatalf("serve after the crash: %v\n%s", err, out)
	}

	o := outcome{users: map[string]string{}, ad: map[string]string{}, mails: map[string]int{}}
	st := configStore(t, path)
	rel := func(ext string) string {
		n, err := strconv.Atoi(ext)
		if err != nil {
			return ext
		}
		return fmt.Sprint(n - pool)
	}
	all, _ := st.AllUsers(context.Background())
	for _, u := range all {
		name := strings.TrimPrefix(u.SAMAccountName, prefix)
		o.users[name] = strings.Join([]string{string(u.State), string(u.License), rel(u.Extension), u.Mobile, u.Settings}, " ")
		first := func(attr string) string {
			if v := lab.Values(t, dn(name), attr); len(v) > 0 {
				return v[0]
			}
			return ""
		}
		o.ad[name] = strings.Join([]string{rel(first("ipPhone")), first("mobile"), first("userAccountControl")}, " ")
	}
	dec := new(mime.WordDecoder)
	for _, m := range peer.Messages() {
		msg, err := mail.ReadMessage(bytes.NewReader(m.Data))
		if err != nil {
			t.Fatal(err)
		}
		subject, _ := dec.DecodeHeader(msg.Header.Get("Subject"))
		o.mails[strings.TrimPrefix(m.To[0], prefix)+" "+subject]++
	}
	return o
}

// runServe runs `umsync serve` as its own process with extra in its
// environment. With quiet > 0 it waits until that many cycles succeeded
// since it started, no AD write or mail waits, then stops it with
// SIGTERM; with 0 it waits for it to end by itself (a crash point).
func runServe(t *testing.T, path, extra string, quiet int) (string, error) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "serve", "--config", path)
	cmd.Env = append(os.Environ(), "UMSYNC_TEST_MAIN=1")
	if extra != "" {
		cmd.Env = append(cmd.Env, extra)
	}
	var logs logtest.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	started := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	if quiet == 0 {
		select {
		case err := <-done:
			return logs.String(), err
		case <-time.After(60 * time.Second):
			cmd.Process.Kill() // our own child, by its PID
			<-done
			return logs.String(), errors.New("serve did not reach the crash point within 60 s")
		}
	}
	cfg, err := loadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		if settled(t, cfg, started, quiet) {
			break
		}
		select {
		case err := <-done:
			return logs.String(), fmt.Errorf("serve ended early: %v", err)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			<-done
			return logs.String(), errors.New("serve did not settle within 60 s")
		}
	}
	cmd.Process.Signal(syscall.SIGTERM)
	return logs.String(), <-done
}

// settled: n cycles succeeded since start, and nothing waits to be
// written to AD or mailed.
func settled(t *testing.T, cfg *Config, start time.Time, n int) bool {
	st, err := store.Open(context.Background(), cfg.Store, zerolog.Nop())
	if err != nil {
		return false
	}
	defer st.Close()
	runs, _ := st.Runs(context.Background(), 20)
	ok := 0
	for _, r := range runs {
		if r.Result == store.ResultSuccess && r.StartedAt.After(start) {
			ok++
		}
	}
	writes, _ := st.CountWrites(context.Background())
	depth, _, _ := st.MailQueue(context.Background(), time.Now())
	return ok >= n && writes[store.WritePending] == 0 && depth == 0
}
