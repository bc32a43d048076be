package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzLoadConfig: any file either loads or fails with a ConfigError whose
// every problem names where it is (a YAML path, a line or the file); never
// a panic, and never a decode error the key walker did not name first.
func FuzzLoadConfig(f *testing.F) {
	for _, name := range []string{"good.yaml", "good-profiles.yaml", "bad-values.yaml", "bad-types.yaml", "bad-mail.yaml",
		"bad-ums-types.yaml", "bad-duplicate-keys.yaml", "good-anchors.yaml"} {
		b, err := os.ReadFile(filepath.Join("testdata", "config", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("sync: {fields: {mobile: {direction: both}}}\nprofiles: [{name: a}]\n"))
	f.Add([]byte("directory: [1, 2]\nlicense: {seats: x}\n"))
	dir := f.TempDir()
	for _, p := range []string{"ca.pem", "bind-password"} { // what good.yaml names
		b, _ := os.ReadFile(filepath.Join("testdata", "config", p))
		os.WriteFile(filepath.Join(dir, p), b, 0o600)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "umsync.yaml")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := loadConfig(path)
		if err == nil {
			if cfg == nil {
				t.Fatal("no error and no config")
			}
			cfg.umsRules() // what serve builds from a valid config
			return
		}
		var ce *ConfigError
		if !errors.As(err, &ce) || len(ce.Problems) == 0 {
			t.Fatalf("not a ConfigError with problems: %v", err)
		}
		for _, p := range ce.Problems {
			if msg := p.Error(); msg == "" || strings.Contains(msg, "%!") {
				t.Fatalf("problem %q", msg)
			}
			if strings.HasPrefix(p.Error(), "yaml: ") {
				t.Fatalf("the key walker missed what Decode found: %v", p)
			}
		}
	})
}
