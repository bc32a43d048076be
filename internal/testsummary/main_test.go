package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// summarize runs `go test -json` on testdata/sample (one test of each
// outcome) and feeds it to run, as scripts/test.sh does.
func summarize(t *testing.T, env ...string) (string, int) {
	t.Helper()
	cmd := exec.Command("go", "test", "-count=1", "-json", "./testdata/sample")
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	events, err := cmd.Output()
	if _, ok := err.(*exec.ExitError); !ok && err != nil || !bytes.Contains(events, []byte(`"Action":"start"`)) {
		t.Fatalf("go test -json: %v\n%s%s", err, events, stderr.String())
	}
	var out bytes.Buffer
	code := run(bytes.NewReader(events), &out, time.Hour, "")
	// A loaded machine takes 0.1 s where a quiet one takes 0.0 s: the
	// durations are not what these tests check.
	return elapsed.ReplaceAllString(out.String(), "#s"), code
}

var elapsed = regexp.MustCompile(`\b[0-9]+\.[0-9]+s\b`)

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

func TestSummaryOfARealRun(t *testing.T) {
	out, code := summarize(t)
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	// TestPasses, TestSub/good pass; TestFails, TestSub/bad, TestSub fail;
	// TestSkips, TestPanics skip.
	if got := lastLine(out); got != "2 passed, 3 failed, 2 skipped" {
		t.Errorf("last line %q\n%s", got, out)
	}
	for _, want := range []string{
		"FAIL internal/testsummary/testdata/sample TestFails (#s)",
		"FAIL internal/testsummary/testdata/sample #s (7 tests)",
		"=== output of failed internal/testsummary/testdata/sample TestFails\n=== RUN   TestFails\n" +
			"    sample_test.go:15: the first line of the failure\n    sample_test.go:16: want 1, got 2\n",
		"=== output of failed internal/testsummary/testdata/sample TestSub/bad\n=== RUN   TestSub/bad\n    sample_test.go:21: sub failed\n",
		"skip: internal/testsummary/testdata/sample TestSkips: sample_test.go:12: no lab here\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "quiet") {
		t.Errorf("a passing test's output is shown:\n%s", out)
	}
}

func TestSummaryOfAPanic(t *testing.T) {
	out, code := summarize(t, "SAMPLE_PANIC=1")
	if code != 1 || lastLine(out) != "2 passed, 4 failed, 1 skipped" {
		t.Errorf("exit %d, last line %q\n%s", code, lastLine(out), out)
	}
	if !strings.Contains(out, "=== output of failed internal/testsummary/testdata/sample TestPanics\n=== RUN   TestPanics\n--- FAIL: TestPanics (#s)\npanic: boom") {
		t.Errorf("the panic is not shown:\n%s", out)
	}
}

func TestSummaryCases(t *testing.T) {
	pass := `{"Action":"run","Package":"p","Test":"TestA"}
{"Action":"pass","Package":"p","Test":"TestA","Elapsed":1}
{"Action":"pass","Package":"p","Elapsed":1}
`
	for _, c := range []struct {
		name, in, exits string
		code            int
		last            string
		want            []string
	}{
		{name: "all pass", in: "lab: already running\n" + pass, code: 0, last: "1 passed, 0 failed, 0 skipped",
			want: []string{"lab: already running\nok   p 1.0s (1 tests)\n"}},
		{name: "nothing ran", in: "", code: 1, last: "0 passed, 0 failed, 0 skipped", want: []string{"no test ran"}},
		{name: "build failure", in: `{"ImportPath":"q [q.test]","Action":"build-output","Output":"q/x.go:3:1: syntax error\n"}
{"ImportPath":"q [q.test]","Action":"build-fail"}
{"Action":"start","Package":"q"}
{"Action":"output","Package":"q","Output":"FAIL\tq [build failed]\n"}
{"Action":"fail","Package":"q","Elapsed":0,"FailedBuild":"q [q.test]"}
` + pass, code: 1, last: "1 passed, 1 failed, 0 skipped",
			want: []string{"FAIL q 0.0s (0 tests)", "=== output of failed q\nq/x.go:3:1: syntax error\n"}},
		{name: "timeout: a test never ends", in: `{"Action":"run","Package":"p","Test":"TestHangs"}
{"Action":"output","Package":"p","Test":"TestHangs","Output":"=== RUN   TestHangs\n"}
{"Action":"output","Package":"p","Output":"panic: test timed out after 20m0s\n"}
{"Action":"fail","Package":"p","Elapsed":1200}
`, code: 1, last: "0 passed, 1 failed, 0 skipped",
			want: []string{"FAIL p TestHangs (did not finish)", "=== output of failed p\npanic: test timed out after 20m0s"}},
		{name: "a command failed with no failed test", in: pass, exits: "go test -fuzz FuzzX ./ums: exit 2\n", code: 1,
			last: "1 passed, 1 failed, 0 skipped", want: []string{"failed: go test -fuzz FuzzX ./ums: exit 2"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			exits := ""
			if c.exits != "" {
				exits = filepath.Join(t.TempDir(), "exits")
				if err := os.WriteFile(exits, []byte(c.exits), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			var out bytes.Buffer
			code := run(strings.NewReader(c.in), &out, time.Hour, exits)
			if code != c.code || lastLine(out.String()) != c.last {
				t.Errorf("exit %d, last line %q; want %d, %q\n%s", code, lastLine(out.String()), c.code, c.last, out.String())
			}
			for _, w := range c.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
		})
	}
}

func TestProgressNamesTheLongestRunningTests(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	r := newReport(t0)
	if got := r.progress(t0.Add(30 * time.Second)); got != "test: 0m30s: 0 passed, 0 failed, 0 skipped; building" {
		t.Errorf("before any test: %q", got)
	}
	ev := func(at time.Duration, s string) { r.line([]byte(s), t0.Add(at)) }
	ev(1*time.Second, `{"Action":"run","Package":"github.com/umsync/umsync/store","Test":"TestA"}`)
	ev(2*time.Second, `{"Action":"run","Package":"github.com/umsync/umsync/cmd/umsync","Test":"TestSlow"}`)
	ev(3*time.Second, `{"Action":"run","Package":"github.com/umsync/umsync/cmd/umsync","Test":"TestSlow/sub"}`)
	ev(4*time.Second, `{"Action":"run","Package":"github.com/umsync/umsync/cmd/umsync","Test":"TestWaits"}`)
	ev(4*time.Second, `{"Action":"pause","Package":"github.com/umsync/umsync/cmd/umsync","Test":"TestWaits"}`)
	ev(5*time.Second, `{"Action":"pass","Package":"github.com/umsync/umsync/store","Test":"TestA"}`)
	ev(6*time.Second, `{"Action":"run","Package":"github.com/umsync/umsync/store","Test":"TestB"}`)
	ev(7*time.Second, `{"Action":"run","Package":"github.com/umsync/umsync/store","Test":"TestC"}`)
	ev(7*time.Second, `{"Action":"pause","Package":"github.com/umsync/umsync/store","Test":"TestC"}`)
	ev(32*time.Second, `{"Action":"cont","Package":"github.com/umsync/umsync/store","Test":"TestC"}`)
	want := "test: 1m02s: 1 passed, 0 failed, 0 skipped; 3 running: cmd/umsync TestSlow 1m00s, store TestB 0m56s, store TestC 0m30s"
	if got := r.progress(t0.Add(62 * time.Second)); got != want {
		t.Errorf("progress\n got %q\nwant %q", got, want)
	}
}
