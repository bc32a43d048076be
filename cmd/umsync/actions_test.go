package main

import "testing"

// TestSettingsToDirectory: lock and unlock queue a settings write for AD
// only when sync.fields.settings says umsync writes it.
func TestSettingsToDirectory(t *testing.T) {
	for dir, want := range map[string]bool{"to_directory": true, "both": true, "from_directory": false} {
		cfg := defaultConfig()
		r := cfg.Sync.Fields["settings"]
		r.Direction = dir
		cfg.Sync.Fields["settings"] = r
		if got := settingsToDirectory(&cfg); got != want {
			t.Errorf("sync.fields.settings %s: writes to AD %v, want %v", dir, got, want)
		}
	}
	cfg := defaultConfig()
	delete(cfg.Sync.Fields, "settings")
	if settingsToDirectory(&cfg) {
		t.Error("an unmapped settings field is written to AD")
	}
}
