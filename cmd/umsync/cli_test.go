package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/umsync/umsync/internal/adlab"
	"github.com/umsync/umsync/internal/crashpoint"
)

// TestSyncAndUsersCLI drives the CLI as an admin would: dry run, sync,
// list (table and JSON), search, show.
func TestSyncAndUsersCLI(t *testing.T) {
	t.Parallel()
	lab := adlab.Require(t)
	ou := lab.OU(t)
	p := seedUsers(t, lab, ou, 3)
	cfg := testConfig(t, lab, ou, cfgOpts{})

	_, stderr, code := umsync(t, "users", "list", "--config", cfg)
	if code != exitFailure || !strings.Contains(stderr, "does not exist yet: run `umsync sync`") {
		t.Errorf("users list before any sync: exit %d, %q", code, stderr)
	}

	out, stderr, code := umsync(t, "sync", "--dry-run", "--config", cfg)
	if code != exitOK {
		t.Fatalf("sync --dry-run: exit %d\n%s", code, stderr)
	}
	for _, want := range []string{"full sync instead of a delta: no watermark yet (first sync)",
		"dry run: nothing was changed", "create     " + p + "cli0", "[deactivated: disabled in directory]",
		"read 3, create 3, update 0, reactivate 0, deactivate 0, purge 0, unchanged 0"} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run output lacks %q:\n%s", want, out)
		}
	}
	if _, _, code := umsync(t, "users", "list", "--config", cfg, "-o", "json"); code != exitOK {
		t.Fatalf("users list after dry run: exit %d", code)
	}
	out, _, _ = umsync(t, "users", "list", "--config", cfg, "-o", "json")
	if strings.TrimSpace(out) != "[]" {
		t.Errorf("dry run wrote users: %s", out)
	}

	out, stderr, code = umsync(t, "sync", "--full", "--config", cfg)
	if code != exitOK || !strings.Contains(out, "full sync: read 3, created 3, updated 0, reactivated 0, deactivated 0, purged 0, unchanged 0") {
		t.Fatalf("sync: exit %d, %q\n%s", code, out, stderr)
	}
	// Nothing changed in AD: a delta reads nothing.
	out, stderr, code = umsync(t, "sync", "--config", cfg)
	if code != exitOK || !strings.HasPrefix(out, "delta sync: read 0, created 0, updated 0, reactivated 0, deactivated 0, purged 0") {
		t.Fatalf("idle delta: exit %d, %q\n%s", code, out, stderr)
	}

	out, _, code = umsync(t, "users", "list", "--config", cfg, "--output", "json")
	var users []map[string]any
	if err := json.Unmarshal([]byte(out), &users); err != nil || code != exitOK {
		t.Fatalf("users list json: exit %d, %v\n%s", code, err, out)
	}
	if len(users) != 3 {
		t.Fatalf("%d users listed, want 3", len(users))
	}
	for _, key := range []string{"anchor", "sam_account_name", "dn", "given_name", "surname", "display_name", "mail",
		"department", "extension", "phone", "mobile", "fax_numbers", "state"} {
		if _, ok := users[0][key]; !ok {
			t.Errorf("users list json lacks key %q", key)
		}
	}
	if users[0]["sam_account_name"] != p+"cli0" || users[0]["state"] != "deactivated" || users[1]["state"] != "active" ||
		users[1]["extension"] != "4001" || users[1]["mobile"] != "+491711234567" || users[1]["surname"] != "Groß1" {
		t.Errorf("users = %v", users[:2])
	}

	out, _, _ = umsync(t, "users", "list", "--config", cfg, "--search", "groß2")
	if !strings.Contains(out, p+"cli2") || strings.Contains(out, p+"cli1") || !strings.Contains(out, "(1 users)") {
		t.Errorf("users list --search groß2:\n%s", out)
	}
	out, _, _ = umsync(t, "users", "list", "--config", cfg, "--state", "active")
	if strings.Contains(out, p+"cli0") || !strings.Contains(out, "(2 users)") {
		t.Errorf("users list --state active:\n%s", out)
	}

	// One user changed in AD: the next delta reads exactly that one.
	lab.Modify(t, "CN=cli2,"+ou, "department", "Einkauf")
	out, stderr, code = umsync(t, "sync", "--config", cfg)
	if code != exitOK || !strings.HasPrefix(out, "delta sync: read 1, created 0, updated 1, reactivated 0, deactivated 0, purged 0") {
		t.Fatalf("delta after one change: exit %d, %q\n%s", code, out, stderr)
	}

	anchor := users[1]["anchor"].(string)
	for _, id := range []string{p + "cli1", strings.ToUpper(p + "cli1"), anchor} {
		out, stderr, code = umsync(t, "users", "show", id, "--config", cfg)
		if code != exitOK || !strings.Contains(out, "anchor:") || !strings.Contains(out, anchor) || !strings.Contains(out, "Groß1") {
			t.Errorf("users show %s: exit %d\n%s%s", id, code, out, stderr)
		}
	}
	_, stderr, code = umsync(t, "users", "show", "nobody", "--config", cfg)
	if code != exitFailure || !strings.Contains(stderr, `user 'nobody' not found`) {
		t.Errorf("users show nobody: exit %d, %q", code, stderr)
	}
}

func TestSyncFailureExits1(t *testing.T) {
	t.Parallel()
	lab, ou := offlineLab(t)
	cfg := testConfig(t, lab, ou, cfgOpts{url: "ldaps://127.0.0.1:1"})
	_, stderr, code := umsync(t, "sync", "--config", cfg)
	if code != exitFailure || !strings.Contains(stderr, "connect: directory: dial ldaps://127.0.0.1:1") {
		t.Errorf("sync against a closed port: exit %d, %q", code, stderr)
	}
}

// TestKill9BeforeCommitLosesNothing: a delta cycle killed with SIGKILL after
// all its writes but before its commit leaves the store as it was, and the
// next cycle applies every change once.
func TestKill9BeforeCommitLosesNothing(t *testing.T) {
	t.Parallel()
	lab := adlab.Require(t)
	ou := lab.OU(t)
	seedUsers(t, lab, ou, 4)
	cfg := testConfig(t, lab, ou, cfgOpts{})
	if out, stderr, code := umsync(t, "sync", "--full", "--config", cfg); code != exitOK {
		t.Fatalf("full sync: %d %s %s", code, out, stderr)
	}
	for i := 1; i <= 3; i++ {
		lab.Modify(t, fmt.Sprintf("CN=cli%d,%s", i, ou), "department", "Nach dem Absturz")
	}

	cmd := exec.Command(os.Args[0], "sync", "--config", cfg)
	cmd.Env = append(os.Environ(), "UMSYNC_TEST_MAIN=1", crashpoint.Env+"=store.before-commit:1")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("the crashing sync ended with %v, want SIGKILL\n%s", err, out)
	}
	changed := func() int {
		out, _, _ := umsync(t, "users", "list", "--config", cfg, "--output", "json")
		var users []map[string]any
		if err := json.Unmarshal([]byte(out), &users); err != nil || len(users) != 4 {
			t.Fatalf("users list: %d users, %v", len(users), err)
		}
		n := 0
		for _, u := range users {
			if u["department"] == "Nach dem Absturz" {
				n++
			}
		}
		return n
	}
	if n := changed(); n != 0 {
		t.Fatalf("a killed cycle left %d changed users behind", n)
	}

	out2, stderr, code := umsync(t, "sync", "--config", cfg)
	if code != exitOK || !strings.HasPrefix(out2, "delta sync: read 3, created 0, updated 3,") {
		t.Fatalf("the sync after the crash: exit %d, %q\n%s", code, out2, stderr)
	}
	if n := changed(); n != 3 {
		t.Errorf("after recovery %d users changed, want 3", n)
	}
	if out3, _, _ := umsync(t, "sync", "--config", cfg); !strings.HasPrefix(out3, "delta sync: read 0,") {
		t.Errorf("changes applied twice: %q", out3)
	}
}

// TestUsersSetAndConflictsCLI: an admin changes UMS fields (validated,
// queued, written to AD by the next sync), and resolves a conflict.
func TestUsersSetAndConflictsCLI(t *testing.T) {
	t.Parallel()
	lab := adlab.Require(t)
	ou := lab.OU(t)
	p := seedUsers(t, lab, ou, 3)
	cfg := testConfig(t, lab, ou, cfgOpts{})
	if _, stderr, code := umsync(t, "sync", "--full", "--config", cfg); code != exitOK {
		t.Fatalf("full sync: %s", stderr)
	}
	for _, tt := range []struct {
		args []string
		code int
		err  string
	}{
		{[]string{p + "cli1", "given_name=Hans"}, exitFailure, "given_name comes from AD (sync.fields.given_name)"},
		{[]string{p + "cli1", "extension=12a"}, exitFailure, `extension: "12a" is not an extension`},
		{[]string{p + "cli1", "mobile=call me"}, exitFailure, `mobile: "call me" is not a phone number`},
		{[]string{p + "cli1", "settings=ums9;vm=phone_login"}, exitFailure, `settings: invalid UMS settings: version "ums9"`},
		{[]string{p + "cli1", "nosuch=1"}, exitUsage, `unknown field "nosuch"`},
		{[]string{p + "cli1"}, exitUsage, "want ID and at least one field=value"},
		{[]string{"nobody", "mobile=0171 1234567"}, exitFailure, `user 'nobody' not found`},
	} {
		_, stderr, code := umsync(t, append([]string{"users", "set", "--config", cfg}, tt.args...)...)
		if code != tt.code || !strings.Contains(stderr, tt.err) {
			t.Errorf("users set %v: exit %d %q, want %d %q", tt.args, code, stderr, tt.code, tt.err)
		}
	}
	out, stderr, code := umsync(t, "users", "set", "--config", cfg, p+"cli1", "mobile=0171 555-0001", "fax_numbers=089/111, +49 89 222")
	if code != exitOK || !strings.Contains(out, `cli1 mobile: "+491711234567" -> "+491715550001" (queued for AD)`) {
		t.Fatalf("users set: exit %d %q %s", code, out, stderr)
	}
	if _, stderr, code := umsync(t, "sync", "--config", cfg); code != exitOK {
		t.Fatalf("sync: %s", stderr)
	}
	dn := "CN=cli1," + ou
	if got := lab.Values(t, dn, "mobile"); len(got) != 1 || got[0] != "+491715550001" {
		t.Errorf("AD mobile = %v", got)
	}
	if got := lab.Values(t, dn, "otherFacsimileTelephoneNumber"); len(got) != 1 || got[0] != "+4989222" {
		t.Errorf("AD otherFacsimileTelephoneNumber = %v", got)
	}

	// A conflict: the extension changed in umsync and, differently, in AD.
	umsync(t, "users", "set", "--config", cfg, p+"cli2", "extension=4902")
	lab.Modify(t, "CN=cli2,"+ou, "ipPhone", "5902")
	if _, stderr, code := umsync(t, "sync", "--config", cfg); code != exitOK {
		t.Fatalf("sync: %s", stderr)
	}
	out, _, code = umsync(t, "conflicts", "list", "--config", cfg, "--output", "json")
	var cs []map[string]any
	if err := json.Unmarshal([]byte(out), &cs); err != nil || code != exitOK || len(cs) != 1 {
		t.Fatalf("conflicts list: exit %d, %v\n%s", code, err, out)
	}
	c := cs[0]
	if c["user"] != p+"cli2" || c["field"] != "extension" || c["directory_value"] != "5902" || c["store_value"] != "4902" ||
		c["base_value"] != "4002" || c["id"] == nil {
		t.Errorf("conflict = %v", c)
	}
	id := fmt.Sprint(c["id"])
	if _, stderr, code := umsync(t, "conflicts", "resolve", id, "--take", "both", "--config", cfg); code != exitUsage {
		t.Errorf("--take both: exit %d %s", code, stderr)
	}
	out, stderr, code = umsync(t, "conflicts", "resolve", id, "--take", "directory", "--config", cfg)
	if code != exitOK || !strings.Contains(out, `cli2 extension = "5902" (kept in umsync)`) {
		t.Fatalf("resolve: exit %d %q %s", code, out, stderr)
	}
	if _, stderr, code := umsync(t, "conflicts", "resolve", id, "--take", "store", "--config", cfg); code != exitFailure ||
		!strings.Contains(stderr, "conflict "+id+": already resolved") {
		t.Errorf("resolving twice: exit %d %q", code, stderr)
	}
	out, _, _ = umsync(t, "users", "show", p+"cli2", "--config", cfg, "--output", "json")
	if !strings.Contains(out, `"extension": "5902"`) {
		t.Errorf("after taking AD's value: %s", out)
	}
	if out, _, _ := umsync(t, "conflicts", "list", "--config", cfg); !strings.Contains(out, "(0 conflicts)") {
		t.Errorf("conflicts after resolving:\n%s", out)
	}
}

// TestRunsCLI: the run history shows every run with its result and error,
// and --writes shows the AD writes with their state.
func TestRunsCLI(t *testing.T) {
	t.Parallel()
	lab := adlab.Require(t)
	ou := lab.OU(t)
	p := seedUsers(t, lab, ou, 2)
	cfg := testConfig(t, lab, ou, cfgOpts{})
	umsync(t, "sync", "--full", "--config", cfg)
	bad := strings.Replace(readFile(t, cfg), lab.LDAPSURL, "ldaps://127.0.0.1:1", 1)
	os.WriteFile(cfg, []byte(bad), 0o600)
	if _, _, code := umsync(t, "sync", "--config", cfg); code != exitFailure {
		t.Fatalf("sync against a closed port: exit %d", code)
	}
	out, _, code := umsync(t, "runs", "--config", cfg, "--output", "json")
	var runs []map[string]any
	if err := json.Unmarshal([]byte(out), &runs); err != nil || code != exitOK || len(runs) != 2 {
		t.Fatalf("runs: exit %d, %v\n%s", code, err, out)
	}
	if runs[0]["result"] != "failed" || !strings.Contains(fmt.Sprint(runs[0]["error"]), "connection refused") ||
		runs[1]["result"] != "success" || runs[1]["created"] != float64(2) || runs[1]["mode"] != "full" {
		t.Errorf("runs = %v", runs)
	}
	out, _, code = umsync(t, "runs", fmt.Sprint(runs[1]["id"]), "--config", cfg)
	if code != exitOK || !strings.Contains(out, "success") || strings.Count(out, "\n") != 2 {
		t.Errorf("runs ID:\n%s", out)
	}
	umsync(t, "users", "set", "--config", cfg, p+"cli1", "extension=4701")
	out, _, _ = umsync(t, "runs", "--writes", "pending", "--config", cfg)
	if !strings.Contains(out, `extension  "4001"  "4701"  pending`) || !strings.Contains(out, "(1 writes)") {
		t.Errorf("runs --writes pending:\n%s", out)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestLicenseCLI: `umsync license` shows seats, used, pending and who
// waits, and `users list --output json` the license of each user.
func TestLicenseCLI(t *testing.T) {
	t.Parallel()
	lab := adlab.Require(t)
	ou := lab.OU(t)
	p := seedUsers(t, lab, ou, 4) // cli0 is disabled
	cfg := testConfig(t, lab, ou, cfgOpts{})
	os.WriteFile(cfg, []byte(readFile(t, cfg)+"license:\n  seats: 2\n"), 0o600)
	if _, stderr, code := umsync(t, "sync", "--config", cfg); code != exitOK {
		t.Fatalf("sync: %s", stderr)
	}
	out, _, code := umsync(t, "license", "--config", cfg, "--output", "json")
	var lic map[string]any
	if err := json.Unmarshal([]byte(out), &lic); err != nil || code != exitOK {
		t.Fatalf("license: exit %d, %v\n%s", code, err, out)
	}
	pu, _ := lic["pending_users"].([]any)
	if lic["seats"] != float64(2) || lic["used"] != float64(2) || lic["pending"] != float64(1) || len(pu) != 1 ||
		pu[0].(map[string]any)["sam_account_name"] != p+"cli3" {
		t.Errorf("license = %v", lic)
	}
	out, _, _ = umsync(t, "users", "list", "--config", cfg, "--output", "json")
	var users []map[string]any
	json.Unmarshal([]byte(out), &users)
	got := map[string]any{}
	for _, u := range users {
		got[u["sam_account_name"].(string)] = u["license"]
	}
	if got[p+"cli0"] != "none" || got[p+"cli1"] != "active" || got[p+"cli2"] != "active" || got[p+"cli3"] != "pending" {
		t.Errorf("licenses in users list = %v", got)
	}
	if out, _, _ := umsync(t, "license", "--config", cfg); !strings.Contains(out, "seats: 2\nused: 2 (voice 2, admin 0)\npending: 1") ||
		!strings.Contains(out, p+"cli3") {
		t.Errorf("license table:\n%s", out)
	}
	// License types: an admin-type user still uses one of the seats.
	if _, stderr, code := umsync(t, "users", "set", "--config", cfg, p+"cli1", "license_type=admin"); code != exitOK {
		t.Fatalf("users set license_type: %s", stderr)
	}
	out, _, _ = umsync(t, "license", "--config", cfg, "--output", "json")
	json.Unmarshal([]byte(out), &lic)
	if by, _ := lic["used_by_type"].(map[string]any); lic["used"] != float64(2) || by["admin"] != float64(1) || by["voice"] != float64(1) {
		t.Errorf("license with an admin-type user = %v", lic)
	}
}

// TestProblemsCLI: invalid numbers in AD and a number on two users are
// listed as problems while every user syncs; users show has a user's.
func TestProblemsCLI(t *testing.T) {
	t.Parallel()
	lab := adlab.Require(t)
	ou := lab.OU(t)
	p := adlab.SamPrefix()
	lab.AddUser(t, ou, adlab.User{CN: "prob1", Sam: p + "prob1", Attrs: map[string][]string{"mobile": {"call me"}, "ipPhone": {"7"}}})
	lab.AddUser(t, ou, adlab.User{CN: "prob2", Sam: p + "prob2", Attrs: map[string][]string{"ipPhone": {"4711"},
		"facsimileTelephoneNumber": {"+49 89 5550"}, "otherTelephone": {"089 5551", "fax me"}}})
	lab.AddUser(t, ou, adlab.User{CN: "prob3", Sam: p + "prob3", Attrs: map[string][]string{"ipPhone": {"4711"},
		"facsimileTelephoneNumber": {"089/5550"}, "otherTelephone": {"+49 89 5551"}}})
	lab.AddUser(t, ou, adlab.User{CN: "fine", Sam: p + "fine", Attrs: map[string][]string{"ipPhone": {"4712"}, "mobile": {"0171 1234567"},
		"otherTelephone": {"+49 89 5552"}}})
	cfg := testConfig(t, lab, ou, cfgOpts{})
	if out, stderr, code := umsync(t, "sync", "--config", cfg); code != exitOK || !strings.Contains(out, "created 4") {
		t.Fatalf("sync: exit %d %q %s", code, out, stderr)
	}
	out, _, code := umsync(t, "problems", "--config", cfg, "--output", "json")
	var ps []map[string]any
	if err := json.Unmarshal([]byte(out), &ps); err != nil || code != exitOK {
		t.Fatalf("problems: exit %d, %v\n%s", code, err, out)
	}
	got := map[string]bool{}
	for _, pr := range ps {
		// Without the prefix: the problems name the users by sAMAccountName.
		got[strings.ReplaceAll(fmt.Sprintf("%s %s %s", pr["user"], pr["field"], pr["problem"]), p, "")] = true
	}
	for _, want := range []string{
		`prob1 extension "7" has 1 digits, want 2 to 4`,
		`prob1 mobile "call me" is not an E.164 number`,
		`prob2 extension extension 4711 is also held by prob3`,
		`prob3 extension extension 4711 is also held by prob2`,
		`prob2 fax_numbers fax number +49895550 is also held by prob3`,
		`prob3 fax_numbers fax number +49895550 is also held by prob2`,
		`prob2 alias_numbers alias number +49895551 is also held by prob3`,
		`prob3 alias_numbers alias number +49895551 is also held by prob2`,
		`prob2 alias_numbers "fax me" is not an E.164 number`,
	} {
		if !got[want] {
			t.Errorf("problem %q missing; got %v", want, got)
		}
	}
	if len(ps) != 9 {
		t.Errorf("%d problems, want 9: %v", len(ps), got)
	}
	if out, _, _ := umsync(t, "users", "show", p+"prob1", "--config", cfg); !strings.Contains(out, `mobile: "call me" is not an E.164 number`) ||
		!strings.Contains(out, "problems:  2\n") {
		t.Errorf("users show prob1:\n%s", out)
	}
	// Fixed in AD: the next sync clears the problem.
	lab.Modify(t, "CN=prob3,"+ou, "ipPhone", "4713")
	lab.Modify(t, "CN=prob3,"+ou, "facsimileTelephoneNumber", "+49 89 5553")
	lab.Modify(t, "CN=prob3,"+ou, "otherTelephone", "+49 89 5554")
	umsync(t, "sync", "--config", cfg)
	if out, _, _ := umsync(t, "problems", "--config", cfg); strings.Contains(out, "4711") || strings.Contains(out, "5550") ||
		strings.Contains(out, "5551") || !strings.Contains(out, "(3 problems)") {
		t.Errorf("after fixing the duplicate:\n%s", out)
	}
}
