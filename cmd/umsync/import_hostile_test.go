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

// TestImportHostileCorpus: each file in testdata/import is an import an
// attacker or a broken tool could hand an admin (one case per file; line
// 2 is a valid change to amueller, which must not land either). Each
// exits 1, names the line and field, says nothing was imported, and
// leaves the store as it was.
func TestImportHostileCorpus(t *testing.T) {
	cases := map[string]string{
		"bom-bad-mobile.csv":            `line 3: mobile: "call me" is not a phone number`,
		"utf8-invalid.csv":              `line 3: display_name: not valid UTF-8`,
		"utf8-invalid.json":             `line 3: display_name: not valid UTF-8`,
		"utf8-invalid-header.csv":       `line 1: column 6: the name is not valid UTF-8`,
		"duplicate-column.csv":          `line 1: mail: column given twice (columns 7 and 25)`,
		"duplicate-key.json":            `line 3: mail: given twice in this user's object`,
		"field-too-long.csv":            `line 3: display_name: 5000 bytes, at most 4096`,
		"field-too-long.json":           `line 3: department: 100000 bytes, at most 4096`,
		"crlf-in-mail.csv":              `line 3: mail: a control character or line break (U+000A at byte 17)`, // csv reads CR LF in a quoted cell as LF
		"lf-in-display-name.json":       `line 3: display_name: a control character or line break (U+000A at byte 4)`,
		"nul-in-dn.json":                `line 3: dn: a control character or line break (U+0000 at byte 7)`,
		"tab-in-department.csv":         `line 3: department: a control character or line break (U+0009 at byte 8)`,
		"line-separator-in-surname.csv": `line 3: surname: a control character or line break (U+2028 at byte 3)`,
		"duplicate-sam-in-file.csv":     `line 4: sam_account_name: ENEU is also active on line 3`,
		"duplicate-anchor-in-file.json": `line 4: anchor: 0e0e0e0e-0000-0000-0000-000000000005 is also on line 3`,
		"duplicate-sam-in-store.json":   `line 3: sam_account_name: bgross is the sAMAccountName of another active user in the store (anchor 0b0b0b0b-0000-0000-0000-000000000002)`,
		"duplicate-sam-in-store.csv":    `line 3: sam_account_name: BGross is the sAMAccountName of another active user in the store`,
		"mobile-25-digits.csv":          `line 3: mobile: "+4444444444444444444444444" is not an E.164 number (25 digits, at most 15)`,
		"mobile-country-code-0.json":    `line 3: mobile: "+0001234" is not an E.164 number (a country code never starts with 0)`,
		"fax-country-code-0.json":       `line 3: fax_numbers: "+000891234" is not an E.164 number (a country code never starts with 0)`,
		"extension-too-long.csv":        `line 3: extension: "20421" has 5 digits, want 2 to 4`,
	}
	files, _ := filepath.Glob(filepath.Join("testdata", "import", "*"))
	if len(files) != len(cases) {
		t.Errorf("%d files in testdata/import, %d cases: each file needs its case", len(files), len(cases))
	}
	cfg := goldenConfig(t)
	db := filepath.Join(filepath.Dir(cfg), "data", "umsync.db")
	snapshot := func() string {
		t.Helper()
		out, stderr, code := umsync(t, "export", "--config", cfg)
		if code != exitOK {
			t.Fatalf("export: %s", stderr)
		}
		st, err := store.Open(context.Background(), store.Config{Path: db}, zerolog.Nop())
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		audit, _ := st.Audit(context.Background(), "0a0a0a0a-0000-0000-0000-000000000001", 10)
		_, watermark, _ := st.Watermark(context.Background())
		return out + strings.Repeat("audit\n", len(audit)) + map[bool]string{true: "watermark\n"}[watermark]
	}
	before := snapshot()
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			want, ok := cases[name]
			if !ok {
				t.Fatalf("no case for %s", name)
			}
			_, stderr, code := umsync(t, "import", f, "--config", cfg)
			if code != exitFailure || !strings.Contains(stderr, want) || !strings.Contains(stderr, "nothing was imported") {
				t.Errorf("exit %d, want %d and %q:\n%s", code, exitFailure, want, stderr)
			}
			if strings.Contains(stderr, "\ufeff") {
				t.Errorf("the error has a byte order mark in it: %q", stderr)
			}
			if snapshot() != before {
				t.Fatal("the store changed")
			}
		})
	}
	// The check can fail: a valid file (the fixtures' line 2) does change it.
	ok := filepath.Join(t.TempDir(), "ok.csv")
	lines := strings.Split(readFile(t, filepath.Join("testdata", "import", "extension-too-long.csv")), "\n")
	os.WriteFile(ok, []byte(lines[0]+"\n"+lines[1]+"\n"), 0o600)
	if out, stderr, code := umsync(t, "import", ok, "--config", cfg); code != exitOK || !strings.Contains(out, "1 changed") {
		t.Fatalf("a valid import: exit %d\n%s%s", code, out, stderr)
	}
	if snapshot() == before {
		t.Error("a valid import did not change the snapshot")
	}
}

// TestExportImportFormulaRoundTrip: a value a spreadsheet would run
// (=HYPERLINK(...)) is neutralized in the CSV export and comes back as it
// was: export → import → export is byte-identical, also for a value that
// starts with a quote.
func TestExportImportFormulaRoundTrip(t *testing.T) {
	cfg := goldenConfig(t)
	dir := t.TempDir()
	export := func(format string) string {
		t.Helper()
		out, stderr, code := umsync(t, "export", "--format", format, "--config", cfg)
		if code != exitOK {
			t.Fatalf("export: %s", stderr)
		}
		return out
	}
	importFile := func(name, text string) {
		t.Helper()
		f := filepath.Join(dir, name)
		os.WriteFile(f, []byte(text), 0o600)
		if out, stderr, code := umsync(t, "import", f, "--config", cfg); code != exitOK {
			t.Fatalf("import %s: exit %d\n%s%s", name, code, out, stderr)
		}
	}
	js := strings.Replace(export("json"), `"display_name": "Änne Müller"`, `"display_name": "=HYPERLINK(\"http://x\",\"y\")"`, 1)
	js = strings.Replace(js, `"department": "Vertrieb"`, `"department": "'Vertrieb"`, 1)
	importFile("formula.json", js)

	first := export("csv")
	if !strings.Contains(first, `,"'=HYPERLINK(""http://x"",""y"")",`) || !strings.Contains(first, ",''Vertrieb,") {
		t.Fatalf("the CSV export does not neutralize:\n%s", first)
	}
	importFile("formula.csv", first)
	if again := export("csv"); again != first {
		t.Errorf("export → import → export differs:\n%s---\n%s", first, again)
	}
	if out := export("json"); !strings.Contains(out, `"display_name": "=HYPERLINK(\"http://x\",\"y\")"`) ||
		!strings.Contains(out, `"department": "'Vertrieb"`) {
		t.Errorf("the values changed on the way:\n%s", out)
	}
}
