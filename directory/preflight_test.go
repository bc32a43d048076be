package directory_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/umsync/umsync/directory"
	"github.com/umsync/umsync/internal/adlab"
	"github.com/umsync/umsync/ums"
)

// writes are the fields umsync writes by default (sync.fields).
var writes = []ums.Field{ums.FieldExtension, ums.FieldMobile, ums.FieldFaxNumbers, ums.FieldSettings}

// preflightLab is a lab config with the settings mapped to an attribute
// Samba's schema has, one user in scope and a real group.
func preflightLab(t *testing.T) (*adlab.Lab, directory.Config, directory.PreflightInput) {
	t.Helper()
	lab := adlab.Require(t)
	ou := lab.OU(t)
	u := lab.AddUser(t, ou, adlab.User{CN: "pf1", Sam: adlab.SamPrefix() + "pf1"})
	g := lab.AddGroup(t, ou, "pf-group", u)
	cfg := lab.Config(ou)
	cfg.Attributes.Settings = "info"
	cfg.ScopeGroupDN = g
	return lab, cfg, directory.PreflightInput{Writes: writes, Groups: map[string]string{"profiles[0].group": g}}
}

// failures are the FAIL lines, as "check: detail".
func failures(checks []directory.Check) []string {
	var out []string
	for _, c := range checks {
		if c.Status == directory.StatusFail {
			out = append(out, c.Name+": "+c.Detail)
		}
	}
	return out
}

func dump(checks []directory.Check) string {
	var b strings.Builder
	for _, c := range checks {
		fmt.Fprintf(&b, "%s %s %s: %s | %s\n", c.Server, c.Status, c.Name, c.Detail, c.Fix)
	}
	return b.String()
}

// TestPreflightPassesOnLab: every check passes against the lab, and each
// kind of check is there.
func TestPreflightPassesOnLab(t *testing.T) {
	t.Parallel()
	_, cfg, in := preflightLab(t)
	checks := directory.Preflight(context.Background(), cfg, in, time.Now())
	if f := failures(checks); len(f) > 0 {
		t.Fatalf("failures: %v\n%s", f, dump(checks))
	}
	seen := map[string]bool{}
	for _, c := range checks {
		seen[c.Name] = true
	}
	for _, name := range []string{"tls chain", "tls name", "tls expiry", "bind", "base dn", "attribute", "write rights", "change tracking", "group", "page size"} {
		if !seen[name] {
			t.Errorf("no %q check:\n%s", name, dump(checks))
		}
	}
	t.Log("\n" + dump(checks))
	if !strings.Contains(dump(checks), "1 users match the filter") {
		t.Errorf("the base DN line does not count the user:\n%s", dump(checks))
	}
}

// TestPreflightNamesMissingAttribute: a mapped attribute the schema lacks
// fails, naming it.
func TestPreflightNamesMissingAttribute(t *testing.T) {
	t.Parallel()
	_, cfg, in := preflightLab(t)
	cfg.Attributes.Settings = "extensionAttribute10"
	f := failures(directory.Preflight(context.Background(), cfg, in, time.Now()))
	if len(f) == 0 || !strings.Contains(strings.Join(f, "\n"), "directory.attributes.settings: extensionAttribute10 is not in the AD schema") {
		t.Fatalf("failures %q, want extensionAttribute10 named", f)
	}
}

// TestPreflightNamesUnwritableAttribute: a plain account may not write the
// attributes umsync writes back; each fails, named.
func TestPreflightNamesUnwritableAttribute(t *testing.T) {
	lab, cfg, in := preflightLab(t)
	ro := lab.AddPlainUser(t, lab.OU(t), adlab.SamPrefix()+"pfro", "Pf-Read-0nly-Pass!")
	cfg.BindDN, cfg.BindPasswordFile, cfg.BindPasswordEnv = ro, "", "UMSYNC_TEST_RO_PW"
	t.Setenv("UMSYNC_TEST_RO_PW", "Pf-Read-0nly-Pass!")
	checks := directory.Preflight(context.Background(), cfg, in, time.Now())
	got := strings.Join(failures(checks), "\n")
	for _, want := range []string{"extension: the account may not write ipPhone", "settings: the account may not write info"} {
		if !strings.Contains(got, want) {
			t.Errorf("failures do not say %q:\n%s", want, dump(checks))
		}
	}
}

// TestPreflightNamesMissingGroup: a group DN that does not exist fails,
// naming its YAML path.
func TestPreflightNamesMissingGroup(t *testing.T) {
	t.Parallel()
	lab, cfg, in := preflightLab(t)
	in.Groups["profiles[0].group"] = "CN=no-such-group," + lab.BaseDN
	f := strings.Join(failures(directory.Preflight(context.Background(), cfg, in, time.Now())), "\n")
	if !strings.Contains(f, "profiles[0].group: CN=no-such-group,"+lab.BaseDN+" does not exist") {
		t.Fatalf("failures %q, want the group named", f)
	}
}

// TestPreflightDirSyncAndPageSize: DirSync as the admin works; a page_size
// above the DC's MaxPageSize (1000 on Samba) fails with the limit.
func TestPreflightDirSyncAndPageSize(t *testing.T) {
	t.Parallel()
	_, cfg, in := preflightLab(t)
	cfg.ChangeTracking = directory.TrackDirSync
	cfg.PageSize = 5000
	checks := directory.Preflight(context.Background(), cfg, in, time.Now())
	f := failures(checks)
	if len(f) != 1 || f[0] != "page size: directory.page_size 5000 is above the DC's MaxPageSize 1000" {
		t.Errorf("failures %q, want only the page size\n%s", f, dump(checks))
	}
	if !strings.Contains(dump(checks), "ok change tracking: dirsync works") {
		t.Errorf("no dirsync line:\n%s", dump(checks))
	}
}

// TestPreflightWarnsOfExpiringCertificate: the DC's certificate, seen 10
// days before it expires, is a warning with what to do; seen after, a
// failure. (Preflight takes the time, so the lab's 10-year certificate
// serves.)
func TestPreflightWarnsOfExpiringCertificate(t *testing.T) {
	t.Parallel()
	_, cfg, in := preflightLab(t)
	expiry := func(checks []directory.Check) directory.Check {
		for _, c := range checks {
			if c.Name == "tls expiry" {
				return c
			}
		}
		t.Fatalf("no tls expiry check:\n%s", dump(checks))
		return directory.Check{}
	}
	now := expiry(directory.Preflight(context.Background(), cfg, in, time.Now()))
	m := regexp.MustCompile(`\((\d{4}-\d{2}-\d{2})\)`).FindStringSubmatch(now.Detail)
	if now.Status != directory.StatusOK || m == nil {
		t.Fatalf("tls expiry today: %+v", now)
	}
	notAfter, _ := time.Parse(time.DateOnly, m[1])
	soon := expiry(directory.Preflight(context.Background(), cfg, in, notAfter.AddDate(0, 0, -10)))
	if soon.Status != directory.StatusWarn || !strings.Contains(soon.Detail, "expires in 9 days") && !strings.Contains(soon.Detail, "expires in 10 days") ||
		!strings.Contains(soon.Fix, "renew") {
		t.Errorf("10 days before expiry: %+v, want a warning to renew", soon)
	}
	if late := expiry(directory.Preflight(context.Background(), cfg, in, notAfter.AddDate(0, 0, 2))); late.Status != directory.StatusFail {
		t.Errorf("after expiry: %+v, want FAIL", late)
	}
}
