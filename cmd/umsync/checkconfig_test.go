package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/umsync/umsync/internal/adlab"
	"github.com/umsync/umsync/internal/smtptest"
)

// onlineLab is a lab OU with one user and one group, and cfgOpts whose
// config passes check-config --online: settings mapped to an attribute
// Samba has (info), a profile on the group and SMTP mail to a test peer.
func onlineLab(t *testing.T) (*adlab.Lab, string, string, cfgOpts) {
	t.Helper()
	lab := adlab.Require(t)
	ou := lab.OU(t)
	u := lab.AddUser(t, ou, adlab.User{CN: "cc1", Sam: adlab.SamPrefix() + "cc1"})
	group := lab.AddGroup(t, ou, "cc-staff", u)
	peer := smtptest.Start(t)
	return lab, ou, group, cfgOpts{directory: "  attributes: {settings: info}\n", extra: fmt.Sprintf(`profiles:
  - {name: staff, group: %q}
`, group), mail: fmt.Sprintf(`  transport: smtp
  from: "UMS <ums@example.test>"
  admin_to: ["admin@example.test"]
  smtp: {host: 127.0.0.1, port: %d, tls: none}
`, peer.Port)}
}

var spaces = regexp.MustCompile(` {2,}`)

func checkOnline(t *testing.T, path string, args ...string) (int, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), append([]string{"check-config", "--online", "--config", path}, args...), &stdout, &stderr)
	out := stdout.String() + stderr.String()
	if len(args) == 0 { // the table: columns padded, compared with single spaces
		out = spaces.ReplaceAllString(out, " ")
	}
	return code, out
}

// TestCheckConfigOnlinePasses: the lab config passes every check, with a
// line per check and the SMTP server checked.
func TestCheckConfigOnlinePasses(t *testing.T) {
	t.Parallel()
	lab, ou, _, o := onlineLab(t)
	code, out := checkOnline(t, testConfig(t, lab, ou, o))
	if code != exitOK || !strings.Contains(out, ", 0 FAIL") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	for _, want := range []string{"ok ldaps://127.0.0.1:636 tls chain", "1 users match the filter",
		"directory.attributes.settings: info (single-valued)", "settings: may write info",
		"profiles[0].group: CN=cc-staff", "ok smtp://127.0.0.1:",
		"warn config mail.bcrypt_cost: 4 is below bcrypt's default 10"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// TestCheckConfigOnlineFails: each broken thing fails the check with exit
// 1, naming it and what to do; --output json says the same.
func TestCheckConfigOnlineFails(t *testing.T) {
	t.Parallel()
	lab, ou, group, o := onlineLab(t)
	ro := lab.AddPlainUser(t, lab.OU(t), adlab.SamPrefix()+"ccro", "Cc-Read-0nly-Pass!")
	roPW := filepath.Join(t.TempDir(), "ro.pass")
	os.WriteFile(roPW, []byte("Cc-Read-0nly-Pass!\n"), 0o600)
	for _, tc := range []struct {
		name string
		edit func(string) string
		want []string
	}{
		{"attribute not in the schema", func(s string) string {
			return strings.Replace(s, "{settings: info}", "{settings: extensionAttribute10}", 1)
		}, []string{"FAIL ldaps://127.0.0.1:636 attribute directory.attributes.settings: extensionAttribute10 is not in the AD schema",
			"→ map directory.attributes.settings to an attribute your schema has (e.g. info)"}},
		{"no write rights", func(s string) string {
			s = strings.Replace(s, "bind_dn: "+lab.BindDN, "bind_dn: "+ro, 1)
			return strings.Replace(s, "bind_password_file: "+lab.PasswordFile, "bind_password_file: "+roPW, 1)
		}, []string{"settings: the account may not write info", "extension: the account may not write ipPhone", "→ grant " + ro}},
		{"wrong group", func(s string) string {
			return strings.Replace(s, group, "CN=no-such-group,"+lab.BaseDN, 1)
		}, []string{"FAIL ldaps://127.0.0.1:636 group profiles[0].group: CN=no-such-group," + lab.BaseDN + " does not exist"}},
		{"dead DC in the list", func(s string) string {
			return strings.Replace(s, "url: "+lab.LDAPSURL, "url: [ldaps://127.0.0.1:1, "+lab.LDAPSURL+"]", 1)
		}, []string{"FAIL ldaps://127.0.0.1:1 bind", "ok ldaps://127.0.0.1:636 bind"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := testConfig(t, lab, ou, o)
			raw, _ := os.ReadFile(path)
			os.WriteFile(path, []byte(tc.edit(string(raw))), 0o600)
			code, out := checkOnline(t, path)
			if code != exitFailure {
				t.Fatalf("exit %d, want %d:\n%s", code, exitFailure, out)
			}
			for _, want := range tc.want {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
			code, out = checkOnline(t, path, "--output", "json")
			var doc struct {
				OK     bool `json:"ok"`
				Checks []struct{ Status, Detail, Fix string }
			}
			if err := json.Unmarshal([]byte(out), &doc); err != nil || code != exitFailure || doc.OK {
				t.Fatalf("json: exit %d, ok %v, err %v:\n%s", code, doc.OK, err, out)
			}
			fails := 0
			for _, c := range doc.Checks {
				if c.Status == "FAIL" {
					fails++
					if c.Fix == "" {
						t.Errorf("FAIL without a fix: %+v", c)
					}
				}
			}
			if fails == 0 {
				t.Errorf("json names no FAIL:\n%s", out)
			}
		})
	}
}

// TestCheckConfigWarnsLowHashCost: a mail.bcrypt_cost below bcrypt's
// default (the test configs' lowest) passes check-config with a warning on
// stderr.
func TestCheckConfigWarnsLowHashCost(t *testing.T) {
	lab, ou := offlineLab(t)
	path := testConfig(t, lab, ou, cfgOpts{})
	stdout, stderr, code := umsync(t, "check-config", "--config", path)
	want := "warning: mail.bcrypt_cost: 4 is below bcrypt's default 10: a stolen store's password and PIN hashes are 64 times cheaper to guess\n"
	if code != exitOK || stdout != "config "+path+": OK\n" || stderr != want {
		t.Errorf("exit %d, stdout %q, stderr:\n%s\nwant exit 0, OK and:\n%s", code, stdout, stderr, want)
	}
}
