// Command testsummary reads `go test -json` events on stdin and keeps
// `make test` talkative: a line per finished package, a progress line every
// 30 s naming the tests still running, at the end the full output of every
// failed test and the skipped tests' reasons, and as the very last line
//
//	N passed, N failed, N skipped
//
// (tests and subtests, as go test counts them). It exits 1 when a test or a
// package failed, when a command named in the -exits file failed, or when
// no test ran at all. Lines on stdin that are not JSON (what scripts/test.sh
// says between its go test runs) are printed as they come.
//
// Usage: go test -json ./... | go run ./internal/testsummary [-every 30s] [-exits FILE]
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"time"
)

func main() {
	every := flag.Duration("every", 30*time.Second, "print progress this often")
	exits := flag.String("exits", "", "a file with one line per command that exited non-zero (read at the end)")
	flag.Parse()
	os.Exit(run(os.Stdin, os.Stdout, *every, *exits))
}

func run(in io.Reader, out io.Writer, every time.Duration, exitsFile string) int {
	r := newReport(time.Now())
	var mu sync.Mutex
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case now := <-t.C:
				mu.Lock()
				fmt.Fprintln(out, r.progress(now))
				mu.Unlock()
			}
		}
	}()
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	for sc.Scan() {
		mu.Lock()
		for _, l := range r.line(sc.Bytes(), time.Now()) {
			fmt.Fprintln(out, l)
		}
		mu.Unlock()
	}
	close(done)
	mu.Lock()
	defer mu.Unlock()
	if err := sc.Err(); err != nil {
		r.commandFailed("reading go test's output: " + err.Error())
	}
	if exitsFile != "" {
		b, err := os.ReadFile(exitsFile)
		if err != nil {
			r.commandFailed(err.Error())
		}
		for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			if l != "" {
				r.commandFailed(l)
			}
		}
	}
	lines, ok := r.finish(time.Now())
	for _, l := range lines {
		fmt.Fprintln(out, l)
	}
	if !ok {
		return 1
	}
	return 0
}

// event is one line of `go test -json` (cmd/test2json).
type event struct {
	Time        time.Time
	Action      string
	Package     string
	ImportPath  string // build-output and build-fail events
	Test        string
	Elapsed     float64
	Output      string
	FailedBuild string
}

type testKey struct{ pkg, test string }

type running struct {
	start  time.Time
	paused bool
}

type report struct {
	start                   time.Time
	passed, failed, skipped int
	running                 map[testKey]*running
	// output of tests still running or failed, and of packages (Test "").
	output map[testKey][]string
	// builds holds build-output lines per import path.
	builds    map[string][]string
	failures  []testKey // failed tests and packages (test ""), in order
	skips     []string
	pkgTests  map[string]int
	pkgFailed map[string]bool
	commands  []string // commands that failed without a failed test to show for it
}

func newReport(start time.Time) *report {
	return &report{start: start, running: map[testKey]*running{}, output: map[testKey][]string{},
		builds: map[string][]string{}, pkgTests: map[string]int{}, pkgFailed: map[string]bool{}}
}

// line takes one line of input and returns what to print now.
func (r *report) line(b []byte, now time.Time) []string {
	var e event
	if len(b) == 0 || b[0] != '{' || json.Unmarshal(b, &e) != nil || e.Action == "" {
		return []string{string(b)}
	}
	switch e.Action {
	case "build-output":
		r.builds[e.ImportPath] = append(r.builds[e.ImportPath], strings.TrimSuffix(e.Output, "\n"))
		return nil
	case "build-fail":
		return nil
	}
	k := testKey{short(e.Package), e.Test}
	switch e.Action {
	case "start": // a package's test binary starts (again, for a fuzz run)
		r.pkgTests[k.pkg] = 0
		delete(r.pkgFailed, k.pkg)
	case "run":
		r.running[k] = &running{start: now}
	case "pause":
		if t := r.running[k]; t != nil {
			t.paused = true
		}
	case "cont": // a parallel test starts running only now
		if t := r.running[k]; t != nil {
			t.paused, t.start = false, now
		}
	case "output":
		r.output[k] = append(r.output[k], strings.TrimSuffix(e.Output, "\n"))
	case "pass", "fail", "skip":
		if e.Test == "" {
			return r.packageDone(k.pkg, e)
		}
		delete(r.running, k)
		r.pkgTests[k.pkg]++
		switch e.Action {
		case "pass":
			r.passed++
			delete(r.output, k)
		case "skip":
			r.skipped++
			r.skips = append(r.skips, fmt.Sprintf("skip: %s %s: %s", k.pkg, k.test, skipReason(r.output[k])))
			delete(r.output, k)
		case "fail":
			r.failed++
			r.pkgFailed[k.pkg] = true
			r.failures = append(r.failures, k)
			return []string{fmt.Sprintf("FAIL %s %s (%.1fs)", k.pkg, k.test, e.Elapsed)}
		}
	}
	return nil
}

// packageDone ends a package: tests that never reported an end (a panic, a
// timeout) failed, and a failed package without a failed test counts as one.
func (r *report) packageDone(pkg string, e event) []string {
	var out []string
	var unfinished []testKey
	for k := range r.running {
		if k.pkg == pkg {
			unfinished = append(unfinished, k)
		}
	}
	sort.Slice(unfinished, func(i, j int) bool { return unfinished[i].test < unfinished[j].test })
	for _, k := range unfinished {
		delete(r.running, k)
		r.failed++
		r.pkgFailed[pkg] = true
		r.failures = append(r.failures, k)
		r.output[k] = append(r.output[k], "(the test did not finish: see the package's output)")
		out = append(out, fmt.Sprintf("FAIL %s %s (did not finish)", pkg, k.test))
	}
	switch {
	case e.Action == "fail" && !r.pkgFailed[pkg]:
		r.failed++
		r.failures = append(r.failures, testKey{pkg: pkg})
		if e.FailedBuild != "" {
			r.output[testKey{pkg: pkg}] = append(r.output[testKey{pkg: pkg}], r.builds[e.FailedBuild]...)
		}
	case e.Action == "fail":
		r.failures = append(r.failures, testKey{pkg: pkg}) // its own output, after its tests'
	default:
		delete(r.output, testKey{pkg: pkg})
	}
	if e.Action == "skip" && r.pkgTests[pkg] == 0 {
		return out // no test files
	}
	word := map[string]string{"pass": "ok  ", "fail": "FAIL", "skip": "ok  "}[e.Action]
	return append(out, fmt.Sprintf("%s %s %.1fs (%d tests)", word, pkg, e.Elapsed, r.pkgTests[pkg]))
}

// commandFailed records a command that exited non-zero. It counts as a
// failure only when no failed test explains it.
func (r *report) commandFailed(what string) { r.commands = append(r.commands, what) }

// progress is the line printed every 30 s.
func (r *report) progress(now time.Time) string {
	type run struct {
		name string
		d    time.Duration
	}
	var rs []run
	for k, t := range r.running {
		if t.paused || strings.Contains(k.test, "/") {
			continue
		}
		rs = append(rs, run{k.pkg + " " + k.test, now.Sub(t.start)})
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i].d > rs[j].d || rs[i].d == rs[j].d && rs[i].name < rs[j].name })
	s := fmt.Sprintf("test: %s: %d passed, %d failed, %d skipped", clock(now.Sub(r.start)), r.passed, r.failed, r.skipped)
	if len(rs) == 0 {
		return s + "; building"
	}
	s += fmt.Sprintf("; %d running:", len(rs))
	for i, x := range rs {
		if i == 3 {
			return s + fmt.Sprintf(" (+%d more)", len(rs)-3)
		}
		if i > 0 {
			s += ","
		}
		s += fmt.Sprintf(" %s %s", x.name, clock(x.d))
	}
	return s
}

// finish returns the closing lines, the summary line last, and whether
// everything passed.
func (r *report) finish(now time.Time) ([]string, bool) {
	var out []string
	for k := range r.running { // the input ended in the middle of a package
		r.failed++
		r.failures = append(r.failures, k)
	}
	for _, k := range r.failures {
		name := k.pkg
		if k.test != "" {
			name += " " + k.test
		}
		lines := r.output[k]
		if k.test == "" {
			lines = packageNoise(lines)
			if len(lines) == 0 {
				continue
			}
		}
		out = append(out, "", "=== output of failed "+name)
		out = append(out, lines...)
	}
	if len(r.commands) > 0 && r.failed == 0 {
		r.failed += len(r.commands)
	}
	if len(r.commands) > 0 {
		out = append(out, "")
		for _, c := range r.commands {
			out = append(out, "failed: "+c)
		}
	}
	if len(r.skips) > 0 {
		out = append(out, "")
		out = append(out, r.skips...)
	}
	ok := r.failed == 0 && r.passed > 0
	if r.passed+r.failed+r.skipped == 0 {
		out = append(out, "no test ran")
	}
	out = append(out, fmt.Sprintf("test: finished in %s", clock(now.Sub(r.start))))
	out = append(out, fmt.Sprintf("%d passed, %d failed, %d skipped", r.passed, r.failed, r.skipped))
	return out, ok
}

// packageNoise drops go test's own closing lines from a package's output
// ("FAIL", "FAIL\tpkg\t0.1s"): the summary says that already.
func packageNoise(lines []string) []string {
	var out []string
	for _, l := range lines {
		if l == "FAIL" || l == "PASS" || strings.HasPrefix(l, "FAIL\t") || strings.HasPrefix(l, "ok  \t") {
			continue
		}
		out = append(out, l)
	}
	return out
}

// skipReason is the first line a skipped test logged.
func skipReason(lines []string) string {
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if t != "" && !strings.HasPrefix(t, "=== ") && !strings.HasPrefix(t, "--- SKIP") {
			return t
		}
	}
	return "(no reason given)"
}

func short(pkg string) string { return strings.TrimPrefix(pkg, "github.com/umsync/umsync/") }

func clock(d time.Duration) string {
	d = d.Round(time.Second)
	return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
}
