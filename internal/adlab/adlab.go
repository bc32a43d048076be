// Package adlab gives integration tests the real Samba AD DC that
// scripts/lab.sh provisions and starts on 127.0.0.1: its connection facts
// (from the lab's env file), an admin connection, and one fresh OU per test
// that is deleted when the test ends, so tests never share data.
//
// When no lab answers, tests skip — except under CI=true, where a missing AD
// is a failure.
package adlab

import (
	"bufio"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/go-ldap/ldap/v3"

	"github.com/umsync/umsync/directory"
)

// DefaultEnvFile is where scripts/lab.sh writes the lab's facts.
const DefaultEnvFile = "/var/tmp/umsync-lab/lab.env"

// Lab is a running Samba AD DC.
type Lab struct {
	LDAPSURL     string
	LDAPURL      string
	CAFile       string
	OtherCAFile  string
	BindDN       string
	PasswordFile string
	BaseDN       string
	Password     string
	// SamLDB is the DC's database file, for bulk adds with ldbadd (needs
	// root, as the lab does).
	SamLDB string
}

// EnvFile is $UMSYNC_LAB_ENV or DefaultEnvFile.
func EnvFile() string {
	if p := os.Getenv("UMSYNC_LAB_ENV"); p != "" {
		return p
	}
	return DefaultEnvFile
}

// Load reads the lab's env file (KEY=value lines; values may hold '=').
func Load(path string) (*Lab, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	env := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if ok {
			env[k] = v
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	l := &Lab{
		LDAPSURL: env["UMSYNC_LAB_LDAPS_URL"], LDAPURL: env["UMSYNC_LAB_LDAP_URL"],
		CAFile: env["UMSYNC_LAB_CA_FILE"], OtherCAFile: env["UMSYNC_LAB_OTHER_CA_FILE"],
		BindDN: env["UMSYNC_LAB_BIND_DN"], PasswordFile: env["UMSYNC_LAB_PASSWORD_FILE"],
		BaseDN: env["UMSYNC_LAB_BASE_DN"], SamLDB: env["UMSYNC_LAB_SAM_LDB"],
	}
	if l.LDAPSURL == "" || l.BindDN == "" || l.PasswordFile == "" || l.BaseDN == "" || l.CAFile == "" {
		return nil, fmt.Errorf("%s: missing keys", path)
	}
	pw, err := os.ReadFile(l.PasswordFile)
	if err != nil {
		return nil, err
	}
	l.Password = strings.TrimSuffix(string(pw), "\n")
	return l, nil
}

// WaitEnv names a file that scripts/test.sh writes when the lab it starts
// beside the tests is up ("ok") or failed to start (why). While it is
// missing, Require waits: tests that need no AD run meanwhile.
const WaitEnv = "UMSYNC_LAB_WAIT"

// Require returns the lab, or skips the test when there is none — and fails
// it instead when CI=true. Under $UMSYNC_LAB_WAIT it first waits for the
// lab's start.
func Require(t testing.TB) *Lab {
	t.Helper()
	fail := t.Skipf
	if os.Getenv("CI") == "true" {
		fail = t.Fatalf
	}
	if err := waitForStart(os.Getenv(WaitEnv), 15*time.Minute); err != nil {
		fail("no AD lab: %v", err)
		return nil
	}
	l, err := Load(EnvFile())
	if err != nil {
		fail("no AD lab (%v): start one with `scripts/lab.sh up`", err)
		return nil
	}
	c, err := l.dial()
	if err != nil {
		fail("AD lab does not answer (%v): start it with `scripts/lab.sh up`", err)
		return nil
	}
	c.Close()
	return l
}

// waitForStart waits until file exists (no file named: at once) and
// returns an error unless it says "ok".
func waitForStart(file string, limit time.Duration) error {
	if file == "" {
		return nil
	}
	deadline := time.Now().Add(limit)
	for {
		b, err := os.ReadFile(file)
		switch {
		case err == nil && strings.TrimSpace(string(b)) == "ok":
			return nil
		case err == nil:
			return fmt.Errorf("the lab did not start: %s", strings.TrimSpace(string(b)))
		case !os.IsNotExist(err):
			return err
		case time.Now().After(deadline):
			return fmt.Errorf("the lab did not start within %v (%s is missing)", limit, file)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (l *Lab) tlsConfig() (*tls.Config, error) {
	pem, err := os.ReadFile(l.CAFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	return &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}, nil
}

func (l *Lab) dial() (*ldap.Conn, error) {
	tc, err := l.tlsConfig()
	if err != nil {
		return nil, err
	}
	c, err := ldap.DialURL(l.LDAPSURL, ldap.DialWithTLSConfig(tc))
	if err != nil {
		return nil, err
	}
	c.SetTimeout(30 * time.Second)
	if err := c.Bind(l.BindDN, l.Password); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// Conn is an admin connection, closed when the test ends.
func (l *Lab) Conn(t testing.TB) *ldap.Conn {
	t.Helper()
	c, err := l.dial()
	if err != nil {
		t.Fatalf("adlab: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// Config is a directory config for the lab over verified LDAPS, searching
// the given base DNs.
func (l *Lab) Config(baseDNs ...string) directory.Config {
	cfg := directory.DefaultConfig()
	cfg.URL = directory.URLs{l.LDAPSURL}
	cfg.CAFile = l.CAFile
	cfg.BindDN = l.BindDN
	cfg.BindPasswordFile = l.PasswordFile
	cfg.BaseDNs = baseDNs
	return cfg
}

// OU creates a fresh OU named after the test (plus a random suffix) under
// the domain and deletes it with everything in it when the test ends.
func (l *Lab) OU(t testing.TB) string {
	t.Helper()
	var b [4]byte
	rand.Read(b[:])
	name := strings.NewReplacer("/", "-", " ", "-", ",", "-", "=", "-").Replace(t.Name())
	if len(name) > 40 {
		name = name[:40]
	}
	dn := fmt.Sprintf("OU=%s-%s,%s", name, hex.EncodeToString(b[:]), l.BaseDN)
	c := l.Conn(t)
	add := ldap.NewAddRequest(dn, nil)
	add.Attribute("objectClass", []string{"organizationalUnit"})
	if err := c.Add(add); err != nil {
		t.Fatalf("adlab: add %s: %v", dn, err)
	}
	t.Cleanup(func() {
		if err := l.DeleteTree(dn); err != nil {
			t.Logf("adlab: cleanup %s: %v", dn, err)
		}
	})
	return dn
}

// SamPrefix is a short random prefix ("t" and 6 hex digits) for the
// sAMAccountNames a test adds. They must be unique in the whole domain, and
// tests that run at the same time (t.Parallel, other packages, other
// checkouts against the same lab) would otherwise seed the same names.
func SamPrefix() string {
	var b [3]byte
	rand.Read(b[:])
	return "t" + hex.EncodeToString(b[:])
}

// SubOU creates an OU below parent (deleted with the parent).
func (l *Lab) SubOU(t testing.TB, parent, name string) string {
	t.Helper()
	dn := fmt.Sprintf("OU=%s,%s", ldap.EscapeDN(name), parent)
	add := ldap.NewAddRequest(dn, nil)
	add.Attribute("objectClass", []string{"organizationalUnit"})
	if err := l.Conn(t).Add(add); err != nil {
		t.Fatalf("adlab: add %s: %v", dn, err)
	}
	return dn
}

// DeleteTree deletes dn and everything below it, deepest first.
func (l *Lab) DeleteTree(dn string) error {
	c, err := l.dial()
	if err != nil {
		return err
	}
	defer c.Close()
	res, err := c.SearchWithPaging(ldap.NewSearchRequest(dn, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases,
		0, 0, false, "(objectClass=*)", []string{"dn"}, nil), 1000)
	if err != nil {
		if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
			return nil
		}
		return err
	}
	dns := make([]string, 0, len(res.Entries))
	for _, e := range res.Entries {
		dns = append(dns, e.DN)
	}
	// Groups first, over LDAP: deleting a member of a big group rewrites
	// the group's member attribute each time (2,000 members: a minute
	// instead of seconds), and a group that lost a member fails in a batch.
	// Then the rest, children before parents (longer DNs first): in one
	// batch if it can be had, else one by one.
	groups := map[string]bool{}
	if res, err := c.SearchWithPaging(ldap.NewSearchRequest(dn, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases,
		0, 0, false, "(objectClass=group)", []string{"dn"}, nil), 1000); err == nil {
		for _, e := range res.Entries {
			groups[e.DN] = true
		}
	}
	sort.Slice(dns, func(i, j int) bool {
		if groups[dns[i]] != groups[dns[j]] {
			return groups[dns[i]]
		}
		return len(dns[i]) > len(dns[j])
	})
	del := func(dns []string) error {
		for _, d := range dns {
			if err := c.Del(ldap.NewDelRequest(d, nil)); err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
				return fmt.Errorf("delete %s: %w", d, err)
			}
		}
		return nil
	}
	n := 0
	for n < len(dns) && groups[dns[n]] {
		n++
	}
	if err := del(dns[:n]); err != nil {
		return err
	}
	if rest := dns[n:]; len(rest) < 2 || l.deleteBatch(rest) != nil {
		return del(rest)
	}
	return nil
}

// deleteBatch deletes dns, in order, in one ldbmodify transaction on the
// DC's database. Over LDAP every delete is a transaction of its own, and in
// a domain of 50,000 users each costs the DC about 0.4 s of CPU (a
// 2,000-user OU: 13 minutes); in one batch they take a second or two.
// Any failure (no sam.ldb, not root, an entry gone meanwhile) undoes the
// whole batch, and the caller deletes over LDAP. Groups stay out of it: the
// DC fails the delete of one that lost a member, in batch mode only.
func (l *Lab) deleteBatch(dns []string) error {
	if l.SamLDB == "" {
		return errors.New("the lab env file names no sam.ldb")
	}
	var b strings.Builder
	for _, d := range dns {
		// Base64 (dn::): DNs may hold non-ASCII and leading spaces.
		fmt.Fprintf(&b, "dn:: %s\nchangetype: delete\n\n", base64.StdEncoding.EncodeToString([]byte(d)))
	}
	f, err := os.CreateTemp("", "adlab-delete-*.ldif")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.WriteString(b.String()); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	out, err := exec.Command("ldbmodify", "-H", l.SamLDB, "-o", "batch_mode:1", f.Name()).CombinedOutput()
	if err != nil || !strings.Contains(string(out), fmt.Sprintf("Modified %d records successfully", len(dns))) {
		return fmt.Errorf("ldbmodify: %v: %s", err, out)
	}
	return nil
}

// User describes a test user. Attrs are extra attributes (e.g. ipPhone).
type User struct {
	CN       string
	Sam      string
	Given    string
	Surname  string
	Disabled bool
	Attrs    map[string][]string
}

// AddUser creates u in ou and returns its DN.
func (l *Lab) AddUser(t testing.TB, ou string, u User) string {
	t.Helper()
	cn := u.CN
	if cn == "" {
		cn = u.Sam
	}
	dn := fmt.Sprintf("CN=%s,%s", ldap.EscapeDN(cn), ou)
	add := ldap.NewAddRequest(dn, nil)
	add.Attribute("objectClass", []string{"top", "person", "organizationalPerson", "user"})
	add.Attribute("sAMAccountName", []string{u.Sam})
	add.Attribute("userPrincipalName", []string{u.Sam + "@example.test"})
	uac := "512"
	if u.Disabled {
		uac = "514"
	}
	add.Attribute("userAccountControl", []string{uac})
	for attr, v := range map[string]string{"givenName": u.Given, "sn": u.Surname} {
		if v != "" {
			add.Attribute(attr, []string{v})
		}
	}
	for attr, vals := range u.Attrs {
		add.Attribute(attr, vals)
	}
	if err := l.Conn(t).Add(add); err != nil {
		t.Fatalf("adlab: add user %s: %v", dn, err)
	}
	return dn
}

// Modify replaces attr's values on dn (no values: delete the attribute).
func (l *Lab) Modify(t testing.TB, dn, attr string, values ...string) {
	t.Helper()
	m := ldap.NewModifyRequest(dn, nil)
	m.Replace(attr, values)
	if err := l.Conn(t).Modify(m); err != nil {
		t.Fatalf("adlab: modify %s %s: %v", dn, attr, err)
	}
}

// Delete deletes one entry.
func (l *Lab) Delete(t testing.TB, dn string) {
	t.Helper()
	if err := l.Conn(t).Del(ldap.NewDelRequest(dn, nil)); err != nil {
		t.Fatalf("adlab: delete %s: %v", dn, err)
	}
}

// GUID reads dn's objectGUID in canonical form.
func (l *Lab) GUID(t testing.TB, dn string) string {
	t.Helper()
	res, err := l.Conn(t).Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases,
		0, 0, false, "(objectClass=*)", []string{"objectGUID"}, nil))
	if err != nil || len(res.Entries) != 1 {
		t.Fatalf("adlab: read objectGUID of %s: %v", dn, err)
	}
	g, err := directory.DecodeGUID(res.Entries[0].GetRawAttributeValue("objectGUID"))
	if err != nil {
		t.Fatalf("adlab: %v", err)
	}
	return g
}

// Move renames or moves dn to newRDN under newParent and returns the new DN.
func (l *Lab) Move(t testing.TB, dn, newRDN, newParent string) string {
	t.Helper()
	if err := l.Conn(t).ModifyDN(ldap.NewModifyDNRequest(dn, newRDN, true, newParent)); err != nil {
		t.Fatalf("adlab: move %s: %v", dn, err)
	}
	return newRDN + "," + newParent
}

// USNChanged reads dn's uSNChanged.
func (l *Lab) USNChanged(t testing.TB, dn string) int64 {
	t.Helper()
	res, err := l.Conn(t).Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases,
		0, 0, false, "(objectClass=*)", []string{"uSNChanged"}, nil))
	if err != nil || len(res.Entries) != 1 {
		t.Fatalf("adlab: read uSNChanged of %s: %v", dn, err)
	}
	v, err := strconv.ParseInt(res.Entries[0].GetAttributeValue("uSNChanged"), 10, 64)
	if err != nil {
		t.Fatalf("adlab: uSNChanged of %s: %v", dn, err)
	}
	return v
}

// AddGroup creates a global security group in ou with the given members
// and returns its DN.
func (l *Lab) AddGroup(t testing.TB, ou, name string, members ...string) string {
	t.Helper()
	dn := fmt.Sprintf("CN=%s,%s", ldap.EscapeDN(name), ou)
	add := ldap.NewAddRequest(dn, nil)
	add.Attribute("objectClass", []string{"top", "group"})
	// Unique in the domain: tests in other OUs use the same group names.
	add.Attribute("sAMAccountName", []string{strings.ReplaceAll(name, " ", "") + SamPrefix()})
	if len(members) > 0 {
		add.Attribute("member", members)
	}
	if err := l.Conn(t).Add(add); err != nil {
		t.Fatalf("adlab: add group %s: %v", dn, err)
	}
	return dn
}

// AddMembers adds members to group (in requests of 500 values).
func (l *Lab) AddMembers(t testing.TB, group string, members ...string) {
	t.Helper()
	l.changeMembers(t, group, true, members)
}

// RemoveMembers removes members from group.
func (l *Lab) RemoveMembers(t testing.TB, group string, members ...string) {
	t.Helper()
	l.changeMembers(t, group, false, members)
}

func (l *Lab) changeMembers(t testing.TB, group string, add bool, members []string) {
	t.Helper()
	c := l.Conn(t)
	for len(members) > 0 {
		n := min(len(members), 500)
		m := ldap.NewModifyRequest(group, nil)
		if add {
			m.Add("member", members[:n])
		} else {
			m.Delete("member", members[:n])
		}
		if err := c.Modify(m); err != nil {
			t.Fatalf("adlab: change members of %s: %v", group, err)
		}
		members = members[n:]
	}
}

// AddUsers creates n plain users prefix0..prefix<n-1> in ou and returns
// their DNs. It writes them with ldbadd in batch mode straight into the
// DC's database (≈1,000 users/s; over LDAP a big lab manages 85/s).
func (l *Lab) AddUsers(t testing.TB, ou, prefix string, n int) []string {
	t.Helper()
	if l.SamLDB == "" {
		t.Fatalf("adlab: the lab env file names no sam.ldb")
	}
	var b strings.Builder
	dns := make([]string, n)
	for i := range n {
		sam := fmt.Sprintf("%s%d", prefix, i)
		dns[i] = fmt.Sprintf("CN=%s,%s", sam, ou)
		fmt.Fprintf(&b, "dn: %s\nobjectClass: top\nobjectClass: person\nobjectClass: organizationalPerson\n"+
			"objectClass: user\nsAMAccountName: %s\nuserAccountControl: 512\n\n", dns[i], sam)
	}
	f := filepath.Join(t.TempDir(), "users.ldif")
	if err := os.WriteFile(f, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("ldbadd", "-H", l.SamLDB, "-o", "batch_mode:1", f).CombinedOutput()
	if err != nil || strings.Contains(string(out), "ERR") {
		t.Fatalf("adlab: ldbadd %d users: %v\n%s", n, err, out)
	}
	return dns
}

// Values reads attr of dn (no values: none or absent).
func (l *Lab) Values(t testing.TB, dn, attr string) []string {
	t.Helper()
	res, err := l.Conn(t).Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases,
		0, 0, false, "(objectClass=*)", []string{attr}, nil))
	if err != nil || len(res.Entries) != 1 {
		t.Fatalf("adlab: read %s of %s: %v", attr, dn, err)
	}
	return res.Entries[0].GetEqualFoldAttributeValues(attr)
}

// AddPlainUser creates an enabled user without admin rights, with password
// pw (set over LDAPS), and returns its DN.
func (l *Lab) AddPlainUser(t testing.TB, ou, sam, pw string) string {
	t.Helper()
	dn := fmt.Sprintf("CN=%s,%s", sam, ou)
	quoted := utf16.Encode([]rune(`"` + pw + `"`))
	b := make([]byte, 2*len(quoted))
	for i, r := range quoted {
		b[2*i], b[2*i+1] = byte(r), byte(r>>8)
	}
	add := ldap.NewAddRequest(dn, nil)
	add.Attribute("objectClass", []string{"top", "person", "organizationalPerson", "user"})
	add.Attribute("sAMAccountName", []string{sam})
	add.Attribute("unicodePwd", []string{string(b)})
	add.Attribute("userAccountControl", []string{"512"})
	if err := l.Conn(t).Add(add); err != nil {
		t.Fatalf("adlab: add user %s: %v", dn, err)
	}
	return dn
}
