package directory_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/umsync/umsync/directory"
	"github.com/umsync/umsync/internal/adlab"
	"github.com/umsync/umsync/ums"
)

func newClient(t *testing.T, cfg directory.Config) *directory.Client {
	t.Helper()
	c, err := directory.New(cfg, zerolog.New(zerolog.NewTestWriter(t)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// users reads the DC's state, then every user in scope.
func users(t *testing.T, ctx context.Context, c *directory.Client, fn func(ums.User) error, skip func(string, error)) error {
	t.Helper()
	st, err := c.State(ctx)
	if err != nil {
		return err
	}
	if st.ServiceName == "" || st.InvocationID == "" || st.HighestUSN <= 0 {
		t.Fatalf("server state incomplete: %+v", st)
	}
	_, err = c.Users(ctx, st, fn, skip)
	return err
}

func readAll(t *testing.T, c *directory.Client) (map[string]ums.User, error) {
	t.Helper()
	out := map[string]ums.User{}
	err := users(t, context.Background(), c, func(u ums.User) error {
		if _, dup := out[u.SAMAccountName]; dup {
			t.Errorf("user %s delivered twice", u.SAMAccountName)
		}
		out[u.SAMAccountName] = u
		return nil
	}, func(dn string, err error) { t.Errorf("skipped %s: %v", dn, err) })
	return out, err
}

// TestUsersPagesAndDecodes reads more users than fit on one page over
// verified LDAPS and checks every decoded field of one of them.
func TestUsersPagesAndDecodes(t *testing.T) {
	t.Parallel()
	lab := adlab.Require(t)
	ou := lab.OU(t)
	const n = 23
	p := adlab.SamPrefix()
	for i := range n {
		lab.AddUser(t, ou, adlab.User{Sam: fmt.Sprintf("%sdpg%02d", p, i), Given: "Jürgen", Surname: "Weiß", Disabled: i%10 == 0})
	}
	dn := lab.AddUser(t, ou, adlab.User{CN: "Zoë Öztürk", Sam: p + "zoe", Given: "Zoë", Surname: "Öztürk",
		Attrs: map[string][]string{
			"displayName": {"Zoë Öztürk"}, "mail": {"zoe@example.test"}, "department": {"Geschäftsführung"},
			"telephoneNumber": {"+49 (0)89 1234-5678"}, "ipPhone": {"2041"}, "mobile": {"0171 1234567"},
			"facsimileTelephoneNumber": {"089/1234599"}, "otherFacsimileTelephoneNumber": {"+49 89 1234598"},
		}})
	cfg := lab.Config(ou)
	cfg.PageSize = 5
	got, err := readAll(t, newClient(t, cfg))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != n+1 {
		t.Fatalf("read %d users, want %d", len(got), n+1)
	}
	disabled := 0
	for _, u := range got {
		if !u.Enabled {
			disabled++
		}
	}
	if disabled != 3 {
		t.Errorf("%d disabled users, want 3 (dpg00, dpg10, dpg20)", disabled)
	}
	want := ums.User{Anchor: lab.GUID(t, dn), DN: dn, SAMAccountName: p + "zoe", GivenName: "Zoë", Surname: "Öztürk",
		DisplayName: "Zoë Öztürk", Mail: "zoe@example.test", Department: "Geschäftsführung", Extension: "2041",
		Phone: "+498912345678", Mobile: "+491711234567", FaxNumbers: []string{"+49891234599", "+49891234598"}, Enabled: true}
	zoe := got[p+"zoe"]
	if d := want.Diff(&zoe); len(d) != 0 || zoe.Anchor != want.Anchor {
		t.Errorf("zoe decoded wrong: %v (anchor %q, want %q)", d, zoe.Anchor, want.Anchor)
	}
}

func TestStartTLS(t *testing.T) {
	t.Parallel()
	lab := adlab.Require(t)
	ou := lab.OU(t)
	lab.AddUser(t, ou, adlab.User{Sam: adlab.SamPrefix() + "tls1"})
	cfg := lab.Config(ou)
	cfg.URL, cfg.StartTLS = directory.URLs{lab.LDAPURL}, true
	got, err := readAll(t, newClient(t, cfg))
	if err != nil || len(got) != 1 {
		t.Fatalf("StartTLS read %d users, err %v", len(got), err)
	}
}

// TestConnectErrorsNameTheCause: a wrong password, an untrusted CA and an
// unreachable server each fail with an error that says which.
func TestConnectErrorsNameTheCause(t *testing.T) {
	lab := adlab.Require(t)
	ou := lab.OU(t)
	wrongPW := lab.Config(ou)
	wrongPW.BindPasswordFile = ""
	wrongPW.BindPasswordEnv = "UMSYNC_TEST_WRONG_PW"
	t.Setenv("UMSYNC_TEST_WRONG_PW", "not-the-password")
	untrusted := lab.Config(ou)
	untrusted.CAFile = lab.OtherCAFile
	closed := lab.Config(ou)
	closed.URL = directory.URLs{"ldaps://" + closedPort(t)}
	for name, tc := range map[string]struct {
		cfg  directory.Config
		want string
	}{
		"wrong password": {wrongPW, "Invalid Credentials"},
		"untrusted CA":   {untrusted, "certificate signed by unknown authority"},
		"unreachable":    {closed, "connection refused"},
	} {
		t.Run(name, func(t *testing.T) {
			err := newClient(t, tc.cfg).Ping(context.Background())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func closedPort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestRedialAfterDrop: the server side drops the connection between two
// reads (as a DC restart or idle timeout does); the next read redials.
func TestRedialAfterDrop(t *testing.T) {
	t.Parallel()
	lab := adlab.Require(t)
	ou := lab.OU(t)
	lab.AddUser(t, ou, adlab.User{Sam: adlab.SamPrefix() + "redial1"})
	u, _ := url.Parse(lab.LDAPSURL)
	proxy := adlab.NewProxy(t, u.Host)
	cfg := lab.Config(ou)
	cfg.URL = directory.URLs{"ldaps://" + proxy.Addr()}
	c := newClient(t, cfg)
	if got, err := readAll(t, c); err != nil || len(got) != 1 {
		t.Fatalf("first read: %d users, %v", len(got), err)
	}
	proxy.DropAll()
	time.Sleep(50 * time.Millisecond) // let the reader goroutine see EOF
	if got, err := readAll(t, c); err != nil || len(got) != 1 {
		t.Fatalf("read after drop: %d users, %v", len(got), err)
	}
}

// TestHangingServerTimesOut: a listener that accepts and never answers
// makes the bind fail after the configured timeout, with a clear error.
func TestHangingServerTimesOut(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	cfg := directory.DefaultConfig()
	cfg.URL = directory.URLs{"ldap://" + ln.Addr().String()}
	cfg.BindDN = "CN=x,DC=example,DC=test"
	cfg.BindPasswordEnv = "UMSYNC_TEST_PW"
	t.Setenv("UMSYNC_TEST_PW", "x")
	cfg.BaseDNs = []string{"DC=example,DC=test"}
	cfg.Timeout = 300 * time.Millisecond
	err = newClient(t, cfg).Ping(context.Background())
	if err == nil || !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("err = %v, want a timeout", err)
	}
}

func TestCancelStopsARead(t *testing.T) {
	t.Parallel()
	lab := adlab.Require(t)
	ou := lab.OU(t)
	p := adlab.SamPrefix()
	for i := range 5 {
		lab.AddUser(t, ou, adlab.User{Sam: fmt.Sprintf("%scx%d", p, i)})
	}
	cfg := lab.Config(ou)
	cfg.PageSize = 1
	c := newClient(t, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	err := users(t, ctx, c, func(ums.User) error {
		n++
		if n == 2 {
			cancel()
		}
		return nil
	}, nil)
	if err == nil || !strings.Contains(err.Error(), "context canceled") || n >= 5 {
		t.Fatalf("after cancel: read %d users, err %v", n, err)
	}
}

// TestStoppedReadLeavesTheConnectionUsable: when fn fails in the middle of
// a serial read (which fetches the next page while it delivers one), the
// error comes back as it is, nothing more is delivered, and the next read
// on the same connection gets every user.
func TestStoppedReadLeavesTheConnectionUsable(t *testing.T) {
	lab := adlab.Require(t)
	ou := lab.OU(t)
	const total = 9
	p := adlab.SamPrefix()
	for i := range total {
		lab.AddUser(t, ou, adlab.User{Sam: fmt.Sprintf("%sstp%d", p, i)})
	}
	cfg := lab.Config(ou)
	cfg.PageSize, cfg.ReadConnections = 2, 1
	c := newClient(t, cfg)
	errStop := errors.New("stop here")
	n := 0
	err := users(t, context.Background(), c, func(ums.User) error {
		n++
		if n == 3 {
			return errStop
		}
		return nil
	}, nil)
	if !errors.Is(err, errStop) || n != 3 {
		t.Fatalf("stopped read: %d users delivered, err %v; want 3 and the fn's error", n, err)
	}
	got, err := readAll(t, c)
	if err != nil || len(got) != total {
		t.Fatalf("read after the stopped one: %d users, err %v; want %d", len(got), err, total)
	}
}

// TestParallelReadEqualsSerial: reading over 1, 2 or 5 connections
// (partitions by the last character of the name) delivers exactly the same
// users, each once.
func TestParallelReadEqualsSerial(t *testing.T) {
	t.Parallel()
	lab := adlab.Require(t)
	ou := lab.OU(t)
	sub := lab.SubOU(t, ou, "Sub")
	p := adlab.SamPrefix() // the partitions go by the last character
	const n = 41
	for i := range n {
		where := ou
		if i%3 == 0 {
			where = sub
		}
		lab.AddUser(t, where, adlab.User{Sam: p + fmt.Sprintf("par%02d", i), Given: "Käthe", Surname: fmt.Sprint(i),
			Attrs: map[string][]string{"ipPhone": {fmt.Sprint(3000 + i)}}})
	}
	// Names ending in upper case, an umlaut and punctuation.
	for _, sam := range []string{"parA", "parZ", "parÄ", "par_x_", "par-y-"} {
		lab.AddUser(t, ou, adlab.User{Sam: p + sam})
	}
	const total = n + 5
	var serial map[string]ums.User
	for _, conns := range []int{1, 2, 5} {
		cfg := lab.Config(ou)
		cfg.PageSize, cfg.ReadConnections = 3, conns
		got, err := readAll(t, newClient(t, cfg))
		if err != nil {
			t.Fatalf("%d connections: %v", conns, err)
		}
		if len(got) != total {
			t.Fatalf("%d connections read %d users, want %d", conns, len(got), total)
		}
		if serial == nil {
			serial = got
			continue
		}
		for sam, u := range got {
			s := serial[sam]
			if d := s.Diff(&u); len(d) != 0 || s.Anchor != u.Anchor {
				t.Errorf("%d connections: %s differs from the serial read: %v", conns, sam, d)
			}
		}
	}
}

// TestChangesDuringTheReadAreCaught: every user is modified while the read
// runs (after the first user arrived). Modified users leave the uSNChanged
// range they were in; the catch-up search must still deliver each of them,
// and the last delivery of each must carry the new value.
func TestChangesDuringTheReadAreCaught(t *testing.T) {
	t.Parallel()
	lab := adlab.Require(t)
	for _, conns := range []int{1, 2} {
		t.Run(fmt.Sprintf("connections=%d", conns), func(t *testing.T) {
			ou := lab.OU(t)
			const n = 12
			var dns []string
			for i := range n {
				dns = append(dns, lab.AddUser(t, ou, adlab.User{Sam: fmt.Sprintf("%schg%d%02d", adlab.SamPrefix(), conns, i),
					Attrs: map[string][]string{"department": {"Vorher"}}}))
			}
			cfg := lab.Config(ou)
			cfg.PageSize, cfg.ReadConnections = 1, conns
			last := map[string]string{}
			deliveries := 0
			err := users(t, context.Background(), newClient(t, cfg), func(u ums.User) error {
				deliveries++
				if deliveries == 1 {
					for _, dn := range dns {
						lab.Modify(t, dn, "department", "Nachher")
					}
				}
				last[u.Anchor] = u.Department
				return nil
			}, func(dn string, err error) { t.Errorf("skipped %s: %v", dn, err) })
			if err != nil {
				t.Fatal(err)
			}
			if len(last) != n {
				t.Fatalf("read %d distinct users, want %d (a user changed during the read was missed)", len(last), n)
			}
			for anchor, dep := range last {
				if dep != "Nachher" {
					t.Errorf("user %s: last delivery has department %q, want the new value", anchor, dep)
				}
			}
			if deliveries <= n {
				t.Errorf("%d deliveries for %d users: the catch-up delivered nothing", deliveries, n)
			}
		})
	}
}

// changes runs Changes since the watermark with the DC state st and
// returns what reached fn and gone.
func changes(t *testing.T, c *directory.Client, st directory.ServerState, since int64) ([]ums.User, []directory.Gone) {
	t.Helper()
	var read []ums.User
	var gone []directory.Gone
	_, err := c.Changes(context.Background(), st, directory.Position{USN: since}, func(u ums.User) error {
		read = append(read, u)
		return nil
	}, func(g directory.Gone) error {
		gone = append(gone, g)
		return nil
	}, func(dn string, err error) { t.Errorf("skipped %s: %v", dn, err) })
	if err != nil {
		t.Fatal(err)
	}
	return read, gone
}

// TestChangesUSNBoundary: a change at exactly watermark+1 is seen, once; a
// change at the watermark is not; a change above the DC state's
// highestCommittedUSN waits for the next delta.
func TestChangesUSNBoundary(t *testing.T) {
	t.Parallel()
	lab := adlab.Require(t)
	ou := lab.OU(t)
	p := adlab.SamPrefix()
	dn := lab.AddUser(t, ou, adlab.User{Sam: p + "usnb"})
	lab.AddUser(t, ou, adlab.User{Sam: p + "usnother"})
	lab.Modify(t, dn, "department", "Technik")
	usn := lab.USNChanged(t, dn)
	c := newClient(t, lab.Config(ou))
	st, err := c.State(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	mine := func(users []ums.User) int {
		n := 0
		for _, u := range users {
			if u.SAMAccountName == p+"usnb" {
				n++
			}
		}
		return n
	}
	if read, _ := changes(t, c, st, usn-1); mine(read) != 1 || read[len(read)-1].Department != "Technik" {
		t.Errorf("since W=%d (change at W+1): read %d times, want once", usn-1, mine(read))
	}
	if read, _ := changes(t, c, st, usn); mine(read) != 0 {
		t.Errorf("since W=%d (change at W): read %d times, want 0", usn, mine(read))
	}
	old := st
	old.HighestUSN = usn - 1
	if read, _ := changes(t, c, old, usn-2); mine(read) != 0 {
		t.Errorf("a change above the state's highestCommittedUSN was read")
	}
}

// TestChangesReportTombstonesAndMovesOut: a deleted user comes back as a
// tombstone, a user moved out of the base DNs as gone but not deleted, a
// user moved inside the base DNs as a user with its new DN.
func TestChangesReportTombstonesAndMovesOut(t *testing.T) {
	t.Parallel()
	lab := adlab.Require(t)
	ou := lab.OU(t)
	outside := lab.OU(t)
	p := adlab.SamPrefix()
	del := lab.AddUser(t, ou, adlab.User{CN: "tomb1", Sam: p + "tomb1"})
	out := lab.AddUser(t, ou, adlab.User{CN: "away1", Sam: p + "away1"})
	in := lab.AddUser(t, ou, adlab.User{CN: "stay1", Sam: p + "stay1"})
	guids := map[string]string{"tomb1": lab.GUID(t, del), "away1": lab.GUID(t, out), "stay1": lab.GUID(t, in)}
	c := newClient(t, lab.Config(ou))
	before, err := c.State(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	lab.Delete(t, del)
	lab.Move(t, out, "CN=away1", outside)
	sub := lab.SubOU(t, ou, "Sub")
	moved := lab.Move(t, in, "CN=stay one", sub)
	st, err := c.State(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	read, gone := changes(t, c, st, before.HighestUSN)
	if len(read) != 1 || read[0].Anchor != guids["stay1"] || read[0].DN != moved {
		t.Errorf("read = %+v, want only stay1 at %s", read, moved)
	}
	byAnchor := map[string]directory.Gone{}
	for _, g := range gone {
		byAnchor[g.Anchor] = g
	}
	if g, ok := byAnchor[guids["tomb1"]]; !ok || !g.Deleted || !strings.Contains(g.DN, "Deleted Objects") {
		t.Errorf("tomb1: %+v (found %v), want a tombstone", g, ok)
	}
	if g, ok := byAnchor[guids["away1"]]; !ok || g.Deleted {
		t.Errorf("away1: %+v (found %v), want gone, not deleted", g, ok)
	}
	if _, ok := byAnchor[guids["stay1"]]; ok {
		t.Error("stay1 is both read and gone")
	}
}

// TestAnotherDCIsRefused: a read whose ServerState names another DC than
// the one the connection reaches fails with ErrServerChanged — serial,
// parallel and delta alike — instead of mixing USNs of two DCs.
func TestAnotherDCIsRefused(t *testing.T) {
	t.Parallel()
	lab := adlab.Require(t)
	ou := lab.OU(t)
	lab.AddUser(t, ou, adlab.User{Sam: adlab.SamPrefix() + "dcx1"})
	for _, conns := range []int{1, 2} {
		cfg := lab.Config(ou)
		cfg.ReadConnections = conns
		c := newClient(t, cfg)
		st, err := c.State(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		st.ServiceName = "CN=NTDS Settings,CN=DC2,CN=Servers,CN=Default-First-Site-Name,CN=Sites,CN=Configuration,DC=example,DC=test"
		_, err = c.Users(context.Background(), st, func(ums.User) error { return nil }, nil)
		if !errors.Is(err, directory.ErrServerChanged) {
			t.Errorf("%d connections: Users = %v, want ErrServerChanged", conns, err)
		}
		_, err = c.Changes(context.Background(), st, directory.Position{USN: st.HighestUSN - 1}, func(ums.User) error { return nil },
			func(directory.Gone) error { return nil }, nil)
		if !errors.Is(err, directory.ErrServerChanged) {
			t.Errorf("Changes = %v, want ErrServerChanged", err)
		}
	}
}

// TestFilterValuesAreEscaped: values put into LDAP filters are escaped.
// A group whose DN carries filter syntax ("UMS (Sales)") finds exactly its
// members (unescaped, the filter breaks or matches others),
// and a group DN made to look like filter matches nobody.
func TestFilterValuesAreEscaped(t *testing.T) {
	t.Parallel()
	lab := adlab.Require(t)
	ou := lab.OU(t)
	p := adlab.SamPrefix()
	member := lab.AddUser(t, ou, adlab.User{Sam: p + "esc1", Given: "*)(uid=*"})
	lab.AddUser(t, ou, adlab.User{Sam: p + "esc2"})
	group := lab.AddGroup(t, ou, "UMS (Sales)", member)
	c := newClient(t, lab.Config(ou))
	st, err := c.State(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	members, err := c.Members(context.Background(), st, group)
	if err != nil || len(members) != 1 {
		t.Fatalf("Members(%q) = %d users, %v; want esc1 only", group, len(members), err)
	}
	for _, injected := range []string{"*)(sAMAccountName=*", "*", "x)(|(objectClass=*)(memberOf=x"} {
		if members, err := c.Members(context.Background(), st, injected); err != nil || len(members) != 0 {
			t.Errorf("Members(%q) = %d users, %v: want none, no error", injected, len(members), err)
		}
	}
	got, err := readAll(t, c)
	if err != nil || len(got) != 2 {
		t.Fatalf("read %d users, %v", len(got), err)
	}
	for _, u := range got {
		if u.SAMAccountName == p+"esc1" && u.GivenName != "*)(uid=*" {
			t.Errorf("givenName read back as %q", u.GivenName)
		}
	}
}

// TestInsecureSkipVerifyIsLoud: verification is on by default (an
// untrusted CA fails, see TestConnectErrorsNameTheCause); turning it off
// works only when asked and logs a warning each time a client is made.
func TestInsecureSkipVerifyIsLoud(t *testing.T) {
	t.Parallel()
	lab := adlab.Require(t)
	ou := lab.OU(t)
	cfg := lab.Config(ou)
	cfg.CAFile = lab.OtherCAFile
	cfg.InsecureSkipVerify = true
	for range 2 { // every start
		var logs bytes.Buffer
		c, err := directory.New(cfg, zerolog.New(&logs))
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Ping(context.Background()); err != nil {
			t.Fatalf("with insecure_skip_verify the untrusted CA is accepted: %v", err)
		}
		c.Close()
		if !strings.Contains(logs.String(), `"level":"warn"`) || !strings.Contains(logs.String(), "verification is OFF") {
			t.Errorf("no warning logged: %s", logs.String())
		}
	}
	if directory.DefaultConfig().InsecureSkipVerify {
		t.Error("certificate verification is off by default")
	}
}

// TestCertificateNameMismatch: a server whose certificate (signed by the
// trusted lab CA) names another host is refused, and the error says so.
func TestCertificateNameMismatch(t *testing.T) {
	t.Parallel()
	lab := adlab.Require(t)
	dir := filepath.Dir(lab.CAFile) // the lab's TLS folder holds a wrong-name certificate
	cert, err := tls.LoadX509KeyPair(filepath.Join(dir, "wrongname.pem"), filepath.Join(dir, "wrongname.key"))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { c.(*tls.Conn).Handshake(); c.Close() }()
		}
	}()
	cfg := lab.Config(lab.BaseDN)
	cfg.URL = directory.URLs{"ldaps://" + ln.Addr().String()}
	err = newClient(t, cfg).Ping(context.Background())
	if err == nil || !strings.Contains(err.Error(), "cannot validate certificate for 127.0.0.1 because it doesn't contain any IP SANs") {
		t.Fatalf("err = %v, want the name mismatch named", err)
	}
}

// TestUsedValuesSpansTheDomain: the extensions in use are read from the
// whole naming context, in scope or not, as umsync shows them ("20-41" is
// 2041), and handed to add one by one (add keeps a set: a value may come
// more than once).
func TestUsedValuesSpansTheDomain(t *testing.T) {
	t.Parallel()
	lab := adlab.Require(t)
	scope, elsewhere := lab.OU(t), lab.OU(t)
	p := adlab.SamPrefix()
	base := 700000000 + int(time.Now().UnixNano()%1000000)*100 // numbers no other test uses
	in, out := fmt.Sprint(base+1), fmt.Sprint(base+2)
	lab.AddUser(t, scope, adlab.User{Sam: p + "used1", Attrs: map[string][]string{"ipPhone": {in}}})
	lab.AddUser(t, elsewhere, adlab.User{Sam: p + "used2", Attrs: map[string][]string{
		"ipPhone": {out[:3] + "-" + out[3:]}}})
	c := newClient(t, lab.Config(scope))
	st, err := c.State(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	if err := c.UsedValues(context.Background(), st, ums.FieldExtension, func(v string) { seen[v]++ }); err != nil {
		t.Fatal(err)
	}
	if seen[in] == 0 || seen[out] == 0 {
		t.Errorf("UsedValues gave %s %d times and %s (in another OU, written with a dash) %d times, want both",
			in, seen[in], out, seen[out])
	}
	if n := seen[out[:3]+"-"+out[3:]]; n != 0 {
		t.Errorf("the raw value was given %d times, not as umsync shows it", n)
	}
}
