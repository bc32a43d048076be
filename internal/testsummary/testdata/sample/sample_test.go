// Package sample is run by testsummary's test with `go test -json`: one
// test of each outcome, a failing subtest, and output to show.
package sample

import (
	"os"
	"testing"
)

func TestPasses(t *testing.T) { t.Log("quiet") }

func TestSkips(t *testing.T) { t.Skip("no lab here") }

func TestFails(t *testing.T) {
	t.Log("the first line of the failure")
	t.Error("want 1, got 2")
}

func TestSub(t *testing.T) {
	t.Run("good", func(t *testing.T) {})
	t.Run("bad", func(t *testing.T) { t.Fatal("sub failed") })
}

func TestPanics(t *testing.T) {
	if os.Getenv("SAMPLE_PANIC") == "" {
		t.Skip("SAMPLE_PANIC unset")
	}
	panic("boom")
}
