package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/umsync/umsync/store"
)

// TestUsersSetRefusesInvalidNumbers: `users set` checks numbers and
// extensions with the sync's rule (ums.CheckNumber, validation.extension_*):
// an invalid value exits 1 with the reason, and nothing is stored, queued
// for AD or audited. A valid value then is (the check can see a change).
func TestUsersSetRefusesInvalidNumbers(t *testing.T) {
	cfg := goldenConfig(t)
	const anne = "0a0a0a0a-0000-0000-0000-000000000001"
	state := func() (string, int, int) {
		t.Helper()
		users, _, code := umsync(t, "export", "--config", cfg)
		if code != exitOK {
			t.Fatal("export failed")
		}
		st, err := store.Open(context.Background(), store.Config{Path: filepath.Join(filepath.Dir(cfg), "data", "umsync.db")}, zerolog.Nop())
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		writes, err := st.Writes(context.Background(), "", 100)
		if err != nil {
			t.Fatal(err)
		}
		audit, err := st.Audit(context.Background(), anne, 100)
		if err != nil {
			t.Fatal(err)
		}
		return users, len(writes), len(audit)
	}
	before, writes, audits := state()
	for _, tt := range []struct{ arg, reason string }{
		{"mobile=+0001234", `mobile: "+0001234" is not an E.164 number (a country code never starts with 0)`},
		{"mobile=+4930123456789012345678901", `(25 digits, at most 15)`},
		{"mobile=+49 89", `mobile: "+4989" is not an E.164 number (4 digits, at least 7)`},
		{"fax_numbers=+49895550001, 00000 1234567", `fax_numbers: "+0001234567" is not an E.164 number (a country code never starts with 0)`},
		{"fax_numbers=+" + strings.Repeat("9", 16), "(16 digits, at most 15)"},
		{"extension=20421", `extension: "20421" has 5 digits, want 2 to 4`},
		{"call_forwarding=+0001234", `call_forwarding="+0001234": want off, an E.164 number or an extension`},
	} {
		_, stderr, code := umsync(t, "users", "set", "--config", cfg, "amueller", tt.arg)
		if code != exitFailure || !strings.Contains(stderr, tt.reason) {
			t.Errorf("users set amueller %s: exit %d %q, want %d and %q", tt.arg, code, stderr, exitFailure, tt.reason)
		}
	}
	if after, w, a := state(); after != before || w != writes || a != audits {
		t.Errorf("a refused users set changed the store: users changed %v, writes %d -> %d, audit rows %d -> %d",
			after != before, writes, w, audits, a)
	}

	out, stderr, code := umsync(t, "users", "set", "--config", cfg, "amueller", "mobile=+49 171 5550999")
	if code != exitOK || !strings.Contains(out, `"+491715550999" (queued for AD)`) {
		t.Fatalf("a valid number: exit %d %q %s", code, out, stderr)
	}
	if after, w, a := state(); after == before || w != writes+1 || a != audits+1 {
		t.Errorf("a valid users set: users changed %v, writes %d -> %d, audit rows %d -> %d", after != before, writes, w, audits, a)
	}
}
