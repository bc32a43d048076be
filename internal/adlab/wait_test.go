package adlab

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestWaitForStart(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, c := range []struct {
		name, file, err string
	}{
		{"no file named", "", ""},
		{"started", write("ok", "ok\n"), ""},
		{"failed to start", write("failed", "lab: samba exited\n"), "the lab did not start: lab: samba exited"},
		{"never written", filepath.Join(dir, "missing"), "did not start within 1ms"},
	} {
		err := waitForStart(c.file, time.Millisecond)
		if c.err == "" && err != nil || c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)) {
			t.Errorf("%s: %v, want %q", c.name, err, c.err)
		}
	}
}
