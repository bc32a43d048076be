package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/umsync/umsync/store"
)

// TestExportImportCLI: export → import → export is identical (JSON and
// CSV); a JSON file of earlier versions (overrides as a string) imports
// the same users; a file with bad rows imports nothing and names line and field;
// --replace --dry-run changes nothing; --replace writes a backup first,
// and importing the backup restores the users.
func TestExportImportCLI(t *testing.T) {
	cfg := goldenConfig(t)
	dir := t.TempDir()
	export := func(format string) string {
		t.Helper()
		f := filepath.Join(dir, "users."+format)
		if _, stderr, code := umsync(t, "export", "--format", format, "-o", f, "--config", cfg); code != exitOK {
			t.Fatalf("export %s: %s", format, stderr)
		}
		return readFile(t, f)
	}
	original := export("json")
	if st, _ := os.Stat(filepath.Join(dir, "users.json")); st.Mode().Perm() != 0o600 {
		t.Errorf("export file mode %o, want 600", st.Mode().Perm())
	}
	if strings.Count(original, `"anchor"`) != 4 || strings.Contains(original, "hash") {
		t.Fatalf("export:\n%s", original)
	}
	csvText := export("csv")
	for _, format := range []string{"json", "csv"} {
		out, stderr, code := umsync(t, "import", filepath.Join(dir, "users."+format), "--config", cfg)
		if code != exitOK || !strings.Contains(out, "imported 4 users: 0 added, 0 changed, 0 removed") {
			t.Fatalf("import %s: exit %d\n%s%s", format, code, out, stderr)
		}
	}
	if again := export("json"); again != original {
		t.Errorf("export → import → export differs:\n%s\n---\n%s", original, again)
	}
	if again := export("csv"); again != csvText {
		t.Errorf("CSV round trip differs")
	}

	// The overrides are a JSON object; a file of earlier versions, with
	// their JSON text in a string, imports the same users (nothing changes).
	if !strings.Contains(original, `"overrides": {"rings":"8"}`) || !strings.Contains(original, `"overrides": {}`) {
		t.Fatalf("the export does not write the overrides as objects:\n%s", original)
	}
	legacy := strings.ReplaceAll(strings.Replace(original, `"overrides": {"rings":"8"}`, `"overrides": "{\"rings\":\"8\"}"`, 1),
		`"overrides": {}`, `"overrides": ""`)
	legacyFile := filepath.Join(dir, "legacy.json")
	os.WriteFile(legacyFile, []byte(legacy), 0o600)
	if out, stderr, code := umsync(t, "import", legacyFile, "--config", cfg); code != exitOK ||
		!strings.Contains(out, "imported 4 users: 0 added, 0 changed, 0 removed") {
		t.Fatalf("import of overrides as strings: exit %d\n%s%s", code, out, stderr)
	}
	if again := export("json"); again != original {
		t.Errorf("after importing the overrides as strings, the export differs:\n%s\n---\n%s", original, again)
	}

	// Bad rows: nothing imported, every error with line and field.
	bad := strings.Replace(original, `"mobile": "+4917155502002"`, `"mobile": "call me"`, 1)
	bad = strings.Replace(bad, `"state": "deactivated"`, `"state": "gone"`, 1)
	bad = strings.Replace(bad, `"amueller"`, `"amüller"`, 1) // a legal change that must not land either
	badFile := filepath.Join(dir, "bad.json")
	os.WriteFile(badFile, []byte(bad), 0o600)
	_, stderr, code := umsync(t, "import", badFile, "--config", cfg)
	if code != exitFailure || !strings.Contains(stderr, `line 3: mobile: "call me" is not a phone number`) ||
		!strings.Contains(stderr, `line 5: state: "gone": want active or deactivated`) || !strings.Contains(stderr, "nothing was imported") {
		t.Errorf("bad import: exit %d\n%s", code, stderr)
	}
	if export("json") != original {
		t.Error("a failed import changed the store")
	}

	// --replace with a file of two users: dry run first, then for real.
	lines := strings.Split(original, "\n")
	two := strings.Join([]string{"[", lines[1], strings.TrimSuffix(lines[2], ","), "]", ""}, "\n")
	twoFile := filepath.Join(dir, "two.json")
	os.WriteFile(twoFile, []byte(two), 0o600)
	out, stderr, code := umsync(t, "import", "--replace", "--dry-run", twoFile, "--config", cfg)
	if code != exitOK || !strings.Contains(out, "would import (dry run, nothing changed) 2 users: 0 added, 0 changed, 2 removed") ||
		!strings.Contains(out, "removed  cweiss") || !strings.Contains(out, "removed  dkoch") {
		t.Fatalf("dry run: exit %d\n%s%s", code, out, stderr)
	}
	if export("json") != original {
		t.Fatal("--dry-run changed the store")
	}
	out, stderr, code = umsync(t, "import", "--replace", twoFile, "--config", cfg)
	if code != exitOK || !strings.Contains(out, "2 removed") {
		t.Fatalf("replace: exit %d\n%s%s", code, out, stderr)
	}
	backups, _ := filepath.Glob(filepath.Join(filepath.Dir(cfg), "data", "umsync-backup-*.json"))
	if len(backups) != 1 || readFile(t, backups[0]) != original || !strings.Contains(out, backups[0]) {
		t.Fatalf("backups %v (named in the output: %v)", backups, strings.Contains(out, "backup"))
	}
	if n := strings.Count(export("json"), `"anchor"`); n != 2 {
		t.Errorf("after --replace: %d users, want 2", n)
	}
	st, err := store.Open(context.Background(), store.Config{Path: filepath.Join(filepath.Dir(cfg), "data", "umsync.db")}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := st.Watermark(context.Background()); ok {
		t.Error("the watermark survived an import: the next sync would not run full")
	}
	as, _ := st.Audit(context.Background(), "0c0c0c0c-0000-0000-0000-000000000003", 5)
	st.Close()
	if len(as) != 1 || as[0].Action != "import" || as[0].New != "removed" {
		t.Errorf("audit of a removed user: %+v", as)
	}
	// The backup restores.
	if out, stderr, code := umsync(t, "import", "--replace", backups[0], "--config", cfg); code != exitOK || !strings.Contains(out, "2 added") {
		t.Fatalf("restore: exit %d\n%s%s", code, out, stderr)
	}
	if export("json") != original {
		t.Error("restoring the backup did not give the original users back")
	}
}
