package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/umsync/umsync/store"
	"github.com/umsync/umsync/ums"
)

// goldenConfig writes a config (the lab is not needed) whose store holds
// a fixed set of users, problems, mails and runs, and returns its path.
func goldenConfig(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	abs := func(p string) string { a, _ := filepath.Abs(filepath.Join("testdata", "config", p)); return a }
	cfg := filepath.Join(dir, "umsync.yaml")
	body := `directory:
  url: ldaps://127.0.0.1:636
  ca_file: ` + abs("ca.pem") + `
  bind_dn: CN=Administrator,CN=Users,DC=example,DC=test
  bind_password_file: ` + abs("bind-password") + `
  base_dns: ["OU=Staff,DC=example,DC=test"]
store:
  path: data/umsync.db
license:
  seats: 2
profiles:
  - name: sales
    group: CN=UMS Sales,OU=Groups,DC=example,DC=test
    services: [fax, sms, voice]
    voicemail: phone_login
    rings: 4
  - name: default
    services: [fax]
mail:
  transport: file
  from: "UMS <ums@example.test>"
  file: {dir: mail}
`
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), store.Config{Path: filepath.Join(dir, "data", "umsync.db")}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	t0 := time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)
	mk := func(anchor, sam, given, sn, ext, settings string, lic ums.LicenseState) *ums.User {
		return &ums.User{Anchor: anchor, DN: "CN=" + sam + ",OU=Staff,DC=example,DC=test", SAMAccountName: sam,
			GivenName: given, Surname: sn, DisplayName: given + " " + sn, Mail: sam + "@example.test", Department: "Vertrieb",
			Extension: ext, Mobile: "+491715550" + ext, FaxNumbers: []string{"+4989555" + ext}, Settings: settings,
			Enabled: true, State: ums.StateActive, FirstSeen: t0, UpdatedAt: t0, License: lic, LicenseSince: t0}
	}
	anne := mk("0a0a0a0a-0000-0000-0000-000000000001", "amueller", "Änne", "Müller", "2001",
		"ums1;vm=phone_login;svc=fax,sms,voice;rings=8;prof=sales", ums.LicenseActive)
	anne.Overrides = `{"rings":"8"}`
	bob := mk("0b0b0b0b-0000-0000-0000-000000000002", "bgross", "Björn", "Groß", "2002", "ums1;svc=fax;prof=default", ums.LicenseActive)
	cleo := mk("0c0c0c0c-0000-0000-0000-000000000003", "cweiss", "Cleo", "Weiß", "2002", "ums1;svc=fax;prof=default", ums.LicensePending)
	cleo.LicenseSince = time.Time{}
	dora := mk("0d0d0d0d-0000-0000-0000-000000000004", "dkoch", "Dora", "Koch", "", "", ums.LicenseNone)
	dora.State, dora.Enabled, dora.DeactivationReason, dora.DeactivatedAt, dora.LicenseSince =
		ums.StateDeactivated, false, "disabled in directory", t0, time.Time{}
	if _, err := st.ApplyCycle(context.Background(), store.CycleWrite{Users: []*ums.User{anne, bob, cleo, dora},
		FindDuplicates: true, Run: store.Run{Mode: "full", StartedAt: t0, Duration: 1500 * time.Millisecond,
			Read: 4, Created: 4, Result: store.ResultSuccess}}); err != nil {
		t.Fatal(err)
	}
	st.QueueMail(context.Background(), store.Mail{Key: "info:x", Kind: ums.MailInfo, Anchor: cleo.Anchor}, t0)
	st.RecordRun(context.Background(), store.Run{Mode: "delta", StartedAt: t0.Add(time.Minute), Duration: 40 * time.Millisecond,
		Result: store.ResultFailed, Error: "connect: directory: dial ldaps://127.0.0.1:636: connection refused"})
	return cfg
}

// TestGoldenTables: the table output of the listing commands, byte for
// byte (regenerate with -update after a deliberate change).
func TestGoldenTables(t *testing.T) {
	cfg := goldenConfig(t)
	for name, args := range map[string][]string{
		"users-list":         {"users", "list"},
		"users-list-pending": {"users", "list", "--license", "pending"},
		"users-list-page":    {"users", "list", "--state", "active", "--limit", "1", "--offset", "1"},
		"users-list-search":  {"users", "list", "müller"},
		"users-show":         {"users", "show", "2001"},
		"license":            {"license"},
		"problems":           {"problems"},
		"mail-queue":         {"mail", "queue"},
		"runs":               {"runs"},
	} {
		t.Run(name, func(t *testing.T) {
			out, stderr, code := umsync(t, append(args, "--config", cfg)...)
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			golden := filepath.Join("testdata", "golden", name+".txt")
			if *update {
				os.MkdirAll(filepath.Dir(golden), 0o755)
				os.WriteFile(golden, []byte(out), 0o644)
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if out != string(want) {
				t.Errorf("%v:\n%s\nwant (%s):\n%s", args, out, golden, want)
			}
			if strings.TrimSpace(out) == "" {
				t.Error("empty output")
			}
		})
	}
}
