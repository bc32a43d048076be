package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/umsync/umsync/internal/adlab"
	"github.com/umsync/umsync/internal/logtest"
	"github.com/umsync/umsync/store"
	"github.com/umsync/umsync/sync/engine"
)

// smallDisk mounts a tmpfs of size (e.g. "2m") for the test: a disk that
// fills up. It needs root (CI runs as root; elsewhere the test skips).
func smallDisk(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("this test mounts a tmpfs and needs root")
		}
		t.Skip("mounting a small tmpfs needs root")
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size+",mode=0700", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	return dir
}

// TestStoreDiskFull: the store's disk fills up: the cycle fails with a
// clear error and changes nothing, /readyz turns unready and says why;
// with space again the next cycle succeeds, /readyz is ready, and
// integrity_check is ok.
func TestStoreDiskFull(t *testing.T) {
	t.Parallel()
	disk := smallDisk(t, "4m")
	lab := adlab.Require(t)
	ou := lab.OU(t)
	seedUsers(t, lab, ou, 3)
	path := testConfig(t, lab, ou, cfgOpts{})
	cfg, err := loadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Store.Path = filepath.Join(disk, "umsync.db")
	var logs logtest.Buffer
	d, err := startDaemon(context.Background(), path, cfg, zerolog.New(&logs))
	if err != nil {
		t.Fatal(err)
	}
	defer d.shutdown()
	waitFor(t, "the first cycle", func() bool { return !d.parts.engine.LastSuccess().IsZero() })
	base := "http://" + d.Addr()

	// Fill the disk, then give the cycle a lot to write.
	filler := filepath.Join(disk, "filler")
	exec.Command("dd", "if=/dev/zero", "of="+filler, "bs=64k").Run() // stops at "No space left"
	lab.AddUsers(t, ou, adlab.SamPrefix()+"full", 200)
	_, err = d.parts.engine.Cycle(context.Background(), engine.Options{Mode: engine.ModeFull})
	if err == nil || !strings.Contains(err.Error(), "apply") || !strings.Contains(err.Error(), "full") {
		t.Fatalf("cycle on a full disk: %v, want an apply error saying the disk is full", err)
	}
	code, body, _ := get(t, base+"/readyz")
	if code != 503 || !strings.Contains(body["reason"].(string), "could not write the store") {
		t.Errorf("/readyz on a full disk = %d %v", code, body)
	}
	if n, _ := d.parts.store.CountByState(context.Background()); n["active"] != 2 {
		t.Errorf("after the failed cycle: %v active, want the 2 from before", n)
	}

	os.Remove(filler)
	if _, err := d.parts.engine.Cycle(context.Background(), engine.Options{Mode: engine.ModeFull}); err != nil {
		t.Fatalf("cycle with space again: %v", err)
	}
	if code, body, _ := get(t, base+"/readyz"); code != 200 {
		t.Errorf("/readyz with space again = %d %v", code, body)
	}
	st, err := store.Open(context.Background(), store.Config{Path: cfg.Store.Path}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if res, err := st.IntegrityCheck(context.Background()); res != "ok" || err != nil {
		t.Errorf("integrity_check after the full disk: %q %v", res, err)
	}
	if n, _ := st.CountByState(context.Background()); n["active"] != 202 {
		t.Errorf("active users at the end: %v, want 202", n)
	}
}
