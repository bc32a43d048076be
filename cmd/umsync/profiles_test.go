package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/umsync/umsync/internal/adlab"
)

// TestSettingsOverridesAndResetCLI: with profiles, `users set` stores an
// override on top of the profile, validated and audited, and the next sync
// writes the effective settings to AD; `users reset-settings` drops the
// overrides and AD gets the profile's settings back.
func TestSettingsOverridesAndResetCLI(t *testing.T) {
	t.Parallel()
	lab := adlab.Require(t)
	ou := lab.OU(t)
	p := seedUsers(t, lab, ou, 3)
	group := lab.AddGroup(t, ou, "UMS Sales", "CN=cli1,"+ou)
	cfg := testConfig(t, lab, ou, cfgOpts{directory: "  attributes: {settings: info}\n", extra: `profiles:
  - name: sales
    group: "` + group + `"
    services: [fax, sms, voice]
    voicemail: phone_login
    rings: 4
  - name: default
    services: [fax]
`})
	if _, stderr, code := umsync(t, "sync", "--full", "--config", cfg); code != exitOK {
		t.Fatalf("full sync: %s", stderr)
	}
	if out, stderr, code := umsync(t, "users", "list", "--group", group, "--config", cfg); code != exitOK ||
		!strings.Contains(out, "cli1 ") || strings.Contains(out, p+"cli2") || !strings.Contains(out, "(1 users)") {
		t.Errorf("users list --group: exit %d\n%s%s", code, out, stderr)
	}
	if out, _, _ := umsync(t, "users", "list", "--profile", "default", "--config", cfg); !strings.Contains(out, p+"cli2") ||
		strings.Contains(out, "cli1 ") {
		t.Errorf("users list --profile default:\n%s", out)
	}
	const sales = "ums1;vm=phone_login;svc=fax,sms,voice;rings=4;prof=sales"
	dn := "CN=cli1," + ou
	if got := lab.Values(t, dn, "info"); len(got) != 1 || got[0] != sales {
		t.Fatalf("AD info of cli1 after the first sync = %q, want %q", got, sales)
	}

	for _, tt := range []struct {
		args []string
		code int
		err  string
	}{
		{[]string{p + "cli1", "rings=11"}, exitFailure, `rings="11": want 2 to 10`},
		{[]string{p + "cli1", "voicemail=locked"}, exitFailure, `voicemail="locked"`},
		{[]string{p + "cli1", "settings=ums1;svc=fax"}, exitFailure, "settings are computed from the profile"},
		{[]string{p + "cli1", "colour=red"}, exitUsage, `unknown field "colour"`},
	} {
		if _, stderr, code := umsync(t, append([]string{"users", "set", "--config", cfg}, tt.args...)...); code != tt.code ||
			!strings.Contains(stderr, tt.err) {
			t.Errorf("users set %v: exit %d %q, want %d %q", tt.args, code, stderr, tt.code, tt.err)
		}
	}
	out, stderr, code := umsync(t, "users", "set", "--config", cfg, p+"cli1", "rings=8", "services=none", "do_not_disturb=on")
	const mine = "ums1;vm=phone_login;rings=8;dnd=1;prof=sales"
	if code != exitOK || !strings.Contains(out, `cli1 settings: "`+sales+`" -> "`+mine+`" (queued for AD)`) ||
		!strings.Contains(out, `cli1 overrides: - -> {"do_not_disturb":"on","rings":"8","services":"none"}`) {
		t.Fatalf("users set: exit %d\n%s%s", code, out, stderr)
	}
	if _, stderr, code := umsync(t, "sync", "--config", cfg); code != exitOK {
		t.Fatalf("sync: %s", stderr)
	}
	if got := lab.Values(t, dn, "info"); len(got) != 1 || got[0] != mine {
		t.Errorf("AD info with overrides = %q, want %q", got, mine)
	}
	out, _, _ = umsync(t, "users", "show", p+"cli1", "--config", cfg, "--output", "json")
	var j struct {
		Profile     string            `json:"profile"`
		Voicemail   string            `json:"voicemail"`
		LicenseType string            `json:"license_type"`
		Overrides   map[string]string `json:"overrides"`
	}
	if err := json.Unmarshal([]byte(out), &j); err != nil {
		t.Fatal(err)
	}
	if j.Profile != "sales" || j.Voicemail != "phone_login" || j.LicenseType != "voice" || j.Overrides["rings"] != "8" ||
		len(j.Overrides) != 3 {
		t.Errorf("users show: profile %q voicemail %q license_type %q overrides %v", j.Profile, j.Voicemail, j.LicenseType, j.Overrides)
	}
	// A full sync keeps the overrides (the profile is applied under them).
	umsync(t, "sync", "--full", "--config", cfg)
	if got := lab.Values(t, dn, "info"); len(got) != 1 || got[0] != mine {
		t.Errorf("AD info after a full sync = %q, want %q", got, mine)
	}

	out, stderr, code = umsync(t, "users", "reset-settings", p+"cli1", "--config", cfg)
	if code != exitOK || !strings.Contains(out, `cli1 settings: "`+mine+`" -> "`+sales+`" (queued for AD)`) {
		t.Fatalf("reset-settings: exit %d\n%s%s", code, out, stderr)
	}
	umsync(t, "sync", "--config", cfg)
	if got := lab.Values(t, dn, "info"); len(got) != 1 || got[0] != sales {
		t.Errorf("AD info after reset-settings = %q, want %q", got, sales)
	}
	out, _, _ = umsync(t, "users", "show", p+"cli1", "--config", cfg)
	if !strings.Contains(out, "overrides:            -") {
		t.Errorf("users show after reset:\n%s", out)
	}
	if _, stderr, code := umsync(t, "users", "reset-settings", "nobody", "--config", cfg); code != exitFailure ||
		!strings.Contains(stderr, `user 'nobody' not found`) {
		t.Errorf("reset-settings nobody: exit %d %q", code, stderr)
	}
}
