package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/umsync/umsync/internal/adlab"
	"github.com/umsync/umsync/internal/openapitest"
	"github.com/umsync/umsync/internal/smtptest"
	"github.com/umsync/umsync/ums"
)

// lastSecret is the secret in the text of the last mail to rcpt whose
// subject is subject.
func lastSecret(t *testing.T, peer *smtptest.Server, rcpt, subject string) string {
	t.Helper()
	dec := new(mime.WordDecoder)
	secret := ""
	for _, m := range peer.Messages() {
		if m.To[0] != rcpt {
			continue
		}
		msg, err := mail.ReadMessage(bytes.NewReader(m.Data))
		if err != nil {
			t.Fatal(err)
		}
		if s, _ := dec.DecodeHeader(msg.Header.Get("Subject")); s != subject {
			continue
		}
		_, params, _ := mime.ParseMediaType(msg.Header.Get("Content-Type"))
		part, err := multipart.NewReader(msg.Body, params["boundary"]).NextPart()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(part)
		if m := mailedSecret.FindStringSubmatch(string(b)); m != nil {
			secret = m[1]
		}
	}
	if secret == "" {
		t.Fatalf("no mail %q with a secret to %s", subject, rcpt)
	}
	return secret
}

// apiToken runs `umsync api token NAME --scopes SCOPES` and returns the
// token it printed.
func apiToken(t *testing.T, path, name, scopes string) string {
	t.Helper()
	out, stderr, code := umsync(t, "api", "token", name, "--scopes", scopes, "--config", path)
	if code != exitOK || !strings.HasPrefix(out, "umsync_") || !strings.Contains(stderr, "shown only now") {
		t.Fatalf("api token: exit %d %q %s", code, out, stderr)
	}
	return strings.TrimSpace(out)
}

// TestAPIEndToEnd: serve with the API and mail: a password the worker
// mailed (SMTP peer) verifies through the API, a wrong one does not, the
// login locks after api.max_password_failures until `users
// reset-password` mails a new one; wrong PINs lock the box, AD's settings
// attribute shows the lock, `users unlock` mails a new PIN that verifies;
// an admin action through the API mails like the CLI's.
func TestAPIEndToEnd(t *testing.T) {
	t.Parallel()
	lab := adlab.Require(t)
	ou := lab.OU(t)
	peer := smtptest.Start(t)
	ap := adlab.SamPrefix() + "ap0"
	dn := lab.AddUser(t, ou, adlab.User{Sam: ap, Given: "Jürgen", Surname: "Api", Attrs: map[string][]string{
		"mail": {ap + "@example.test"}, "ipPhone": {"4200"}, "telephoneNumber": {"089 4200-0"}}})
	path := testConfig(t, lab, ou, cfgOpts{schedule: "@every 2s", directory: "  attributes: {settings: info}\n", mail: fmt.Sprintf(`  transport: smtp
  from: "UMS <ums@example.test>"
  smtp: {host: 127.0.0.1, port: %d, tls: none}
`, peer.Port), extra: `api:
  listen: 127.0.0.1:0
  tokens_file: api-tokens
  max_password_failures: 2
`})
	tokFile := filepath.Join(filepath.Dir(path), "api-tokens")
	ums1 := apiToken(t, path, "ums1", "read,auth,admin")
	reader := apiToken(t, path, "reader", "read")
	if _, stderr, code := umsync(t, "api", "token", "ums1", "--scopes", "read", "--config", path); code != exitFailure || !strings.Contains(stderr, "exists") {
		t.Errorf("a second token of one name: exit %d %s", code, stderr)
	}
	if _, _, code := umsync(t, "api", "token", "x", "--scopes", "root", "--config", path); code != exitUsage {
		t.Errorf("an unknown scope: exit %d, want %d", code, exitUsage)
	}
	if st, err := os.Stat(tokFile); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("tokens file: %v %v, want 0600", st, err)
	}
	if data, _ := os.ReadFile(tokFile); strings.Contains(string(data), ums1) || !strings.HasPrefix(string(data), "ums1 read,auth,admin ") {
		t.Errorf("tokens file holds the token or no hash line:\n%s", data)
	}

	var logs bytes.Buffer
	var logMu sync.Mutex
	cfg, err := loadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	d, err := startDaemon(context.Background(), path, cfg, zerolog.New(io.MultiWriter(lockedWriter{&logMu, &logs}, zerolog.NewTestWriter(t))))
	if err != nil {
		t.Fatal(err)
	}
	defer d.shutdown()
	api := openapitest.Client{T: t, BaseURL: "http://" + d.APIAddr()}
	waitFor(t, "the info and password mails", func() bool { return len(peer.Messages()) == 2 })
	waitFor(t, "the mails marked sent", func() bool {
		out, _, _ := umsync(t, "mail", "queue", "--config", path)
		return strings.Contains(out, "(0 mails not sent)")
	})
	pw := lastSecret(t, peer, ap+"@example.test", "Your new UMS password")

	check := func(login, password string) openapitest.Response {
		return api.Do("POST", "/api/v1/auth/password", ums1, map[string]string{"login": login, "password": password})
	}
	if r := check(ap, pw); r.Code != 200 || r.Body["ok"] != true {
		t.Fatalf("the mailed password: %d %s", r.Code, r.Raw)
	}
	if r := check(ap+"@example.test", pw); r.Code != 200 {
		t.Errorf("the mailed password with the mail as login: %d %s", r.Code, r.Raw)
	}
	if r := api.Do("POST", "/api/v1/auth/password", reader, map[string]string{"login": ap, "password": pw}); r.Code != 403 {
		t.Errorf("a read token checking a password: %d, want 403", r.Code)
	}
	if r := check(ap, pw+"x"); r.Code != 401 || r.Body["ok"] != false {
		t.Errorf("a wrong password: %d %s", r.Code, r.Raw)
	}
	if r := check(ap, "wrong"); r.Code != 423 {
		t.Errorf("the 2nd wrong password in a row: %d %s, want 423", r.Code, r.Raw)
	}
	if r := check(ap, pw); r.Code != 423 {
		t.Errorf("the right password on a locked login: %d %s, want 423", r.Code, r.Raw)
	}
	before := len(peer.Messages())
	if out, stderr, code := umsync(t, "users", "reset-password", ap, "--config", path); code != exitOK {
		t.Fatalf("reset-password: %d %s %s", code, out, stderr)
	}
	waitFor(t, "the new password mail", func() bool { return len(peer.Messages()) == before+1 })
	waitFor(t, "the new password stored", func() bool {
		return check(ap, lastSecret(t, peer, ap+"@example.test", "Your new UMS password")).Code == 200
	})

	// Lookup through the API: the phone from AD in national format.
	if r := api.Do("GET", "/api/v1/lookup?number=089%204200-0", reader, nil); r.Code != 200 || r.Body["field"] != "phone" {
		t.Errorf("lookup of the phone: %d %s", r.Code, r.Raw)
	}

	// Wrong PINs through the API lock the box, in AD too.
	umsync(t, "users", "set", "--config", path, ap, "settings=ums1;vm=phone_login")
	for i, want := range []int{401, 401, 423} {
		r := api.Do("POST", "/api/v1/voicemail/verify-pin", ums1, map[string]string{"user": "4200", "pin": "000000"})
		if r.Code != want {
			t.Fatalf("wrong PIN %d: %d %s, want %d", i+1, r.Code, r.Raw, want)
		}
	}
	waitFor(t, "the lock written to AD", func() bool {
		v := lab.Values(t, dn, "info")
		return len(v) == 1 && v[0] == "ums1;vm=phone_login;vmlock=1"
	})
	before = len(peer.Messages())
	if out, stderr, code := umsync(t, "users", "unlock", ap, "--config", path); code != exitOK {
		t.Fatalf("unlock: %d %s %s", code, out, stderr)
	}
	waitFor(t, "the new PIN mail", func() bool { return len(peer.Messages()) == before+1 })
	pin := lastSecret(t, peer, ap+"@example.test", "Your new voicemail PIN")
	waitFor(t, "the new PIN verifies", func() bool {
		return api.Do("POST", "/api/v1/voicemail/verify-pin", ums1, map[string]string{"user": ap, "pin": pin}).Code == 200
	})

	// Locked again, unlocked through the API: as `users unlock` does, a new
	// PIN mail, and the box opens.
	for range 3 {
		api.Do("POST", "/api/v1/voicemail/verify-pin", ums1, map[string]string{"user": ap, "pin": "000000"})
	}
	before = len(peer.Messages())
	if r := api.Do("POST", "/api/v1/users/"+ap+"/actions/unlock", ums1, nil); r.Code != 202 || !strings.Contains(fmt.Sprint(r.Body["message"]), "pin mail queued") {
		t.Errorf("unlock through the API: %d %s", r.Code, r.Raw)
	}
	waitFor(t, "the PIN mail of the API's unlock", func() bool { return len(peer.Messages()) == before+1 })
	pin = lastSecret(t, peer, ap+"@example.test", "Your new voicemail PIN")
	waitFor(t, "that PIN verifies", func() bool {
		return api.Do("POST", "/api/v1/voicemail/verify-pin", ums1, map[string]string{"user": ap, "pin": pin}).Code == 200
	})
	if r := api.Do("POST", "/api/v1/users/"+ap+"/actions/reset-settings", ums1, nil); r.Code != 202 {
		t.Errorf("reset-settings through the API: %d %s", r.Code, r.Raw)
	}

	// An admin action through the API does what the CLI does: a mail.
	before = len(peer.Messages())
	if r := api.Do("POST", "/api/v1/users/"+ap+"/actions/send-infomail", ums1, nil); r.Code != 202 {
		t.Errorf("send-infomail: %d %s", r.Code, r.Raw)
	}
	if r := api.Do("POST", "/api/v1/users/"+ap+"/actions/reset-pin", reader, nil); r.Code != 403 {
		t.Errorf("an admin action with a read token: %d, want 403", r.Code)
	}
	waitFor(t, "the info mail", func() bool { return len(peer.Messages()) == before+1 })
	if r := api.Do("POST", "/api/v1/users/"+ap+"/actions/nope", ums1, nil); r.Code != 404 {
		t.Errorf("an unknown action: %d %s", r.Code, r.Raw)
	}

	// Every call is audited with the token's name; no secret in the logs.
	d.api.srv.FlushAudit()
	st := testStore(t, cfg)
	calls, err := st.APICalls(context.Background(), 100)
	if err != nil || len(calls) < 10 || calls[0].Actor != "api:ums1" || calls[0].Route != "action" {
		t.Errorf("audited API calls: %d, newest %+v, %v", len(calls), calls[0], err)
	}
	logMu.Lock()
	defer logMu.Unlock()
	for _, secret := range []string{pw, pin, ums1, reader} {
		if strings.Contains(logs.String(), secret) {
			t.Error("a secret is in the logs")
		}
	}
	if code, _, body := get(t, "http://"+d.Addr()+"/"); code != 200 || !strings.Contains(body, `<b id="api">on</b>`) {
		t.Errorf("status page: %d, want the API on", code)
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// TestAPIMirrorFollowsChanges: a UMS that reads the list once and then
// follows ?since= while cycles (AD changes, a user leaving) and CLI edits
// and a purge commit ends with exactly the store's users.
func TestAPIMirrorFollowsChanges(t *testing.T) {
	t.Parallel()
	lab := adlab.Require(t)
	ou := lab.OU(t)
	p := adlab.SamPrefix()
	var dns []string
	for i := range 6 {
		dns = append(dns, lab.AddUser(t, ou, adlab.User{Sam: fmt.Sprintf("%smi%d", p, i), Given: "Mia", Surname: fmt.Sprint(i),
			Attrs: map[string][]string{"ipPhone": {fmt.Sprint(4300 + i)}}}))
	}
	path := testConfig(t, lab, ou, cfgOpts{schedule: "@every 1s", directory: "  attributes: {settings: info}\n",
		sync: "  max_deactivation_percent: 100\n  max_deactivations: 100\n", extra: "api:\n  listen: 127.0.0.1:0\n  tokens_file: api-tokens\n  token_rate: 1000\n"})
	token := apiToken(t, path, "mirror", "read")
	d := startTestDaemon(t, path, zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel))
	api := openapitest.Client{T: t, BaseURL: "http://" + d.APIAddr()}

	mirror := map[string]string{} // anchor -> the user's JSON (sans effective settings)
	apply := func(users []any) {
		for _, x := range users {
			u := x.(map[string]any)
			anchor := u["anchor"].(string)
			if u["state"] == "purged" {
				delete(mirror, anchor)
				continue
			}
			delete(u, "effective_settings")
			mirror[anchor] = fmt.Sprint(u)
		}
	}
	r := api.Do("GET", "/api/v1/users", token, nil)
	if r.Code != 200 {
		t.Fatalf("list: %d %s", r.Code, r.Raw)
	}
	apply(r.Body["users"].([]any))
	cursor := r.Body["cursor"].(string)

	stop := make(chan struct{})
	done := make(chan struct{})
	stopped := sync.OnceFunc(func() { close(stop); <-done })
	defer stopped()
	polls := 0
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			case <-time.After(15 * time.Millisecond):
			}
			r := api.Do("GET", "/api/v1/users?since="+cursor+"&limit=2", token, nil)
			if r.Code != 200 {
				t.Errorf("since %s: %d %s", cursor, r.Code, r.Raw)
				return
			}
			apply(r.Body["users"].([]any))
			cursor = r.Body["cursor"].(string)
			polls++
		}
	}()
	// Changes from every side while the mirror follows.
	for i := range 4 {
		lab.Modify(t, dns[i], "mobile", fmt.Sprintf("0171 55500%d", i))
		if _, stderr, code := umsync(t, "users", "set", "--config", path, fmt.Sprintf("%smi%d", p, 5-i), fmt.Sprintf("settings=ums1;rings=%d", i+2)); code != exitOK {
			t.Fatalf("users set: %s", stderr)
		}
		time.Sleep(300 * time.Millisecond)
	}
	lab.Modify(t, dns[1], "userAccountControl", "514") // disabled: deactivated by a cycle
	lab.Delete(t, dns[2])                              // gone from AD: deactivated, then purged below
	lab.AddUser(t, ou, adlab.User{Sam: p + "minew", Given: "Neu", Attrs: map[string][]string{"ipPhone": {"4399"}}})
	st := configStore(t, path)
	waitFor(t, "the disabled user deactivated and the new one in", func() bool {
		u1, err1 := st.User(context.Background(), p+"mi1")
		u2, err2 := st.User(context.Background(), p+"mi2")
		_, errNew := st.User(context.Background(), p+"minew")
		return err1 == nil && u1.State == ums.StateDeactivated && err2 == nil && u2.State == ums.StateDeactivated && errNew == nil
	})
	// A purge (an import that drops mi2) through the store, as the CLI's
	// import writes it.
	all, err := st.AllUsers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var keep []ums.User
	for _, u := range all {
		if u.SAMAccountName != p+"mi2" {
			keep = append(keep, u)
		}
	}
	if _, err := st.ImportUsers(context.Background(), keep, true, false, "test", time.Now()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond) // a cycle more
	d.sched.Load().Stop()
	time.Sleep(200 * time.Millisecond)
	stopped()
	r = api.Do("GET", "/api/v1/users?since="+cursor, token, nil)
	apply(r.Body["users"].([]any))
	if polls < 10 {
		t.Errorf("only %d polls", polls)
	}

	want := map[string]string{}
	r = api.Do("GET", "/api/v1/users", token, nil)
	for _, x := range r.Body["users"].([]any) {
		u := x.(map[string]any)
		delete(u, "effective_settings")
		want[u["anchor"].(string)] = fmt.Sprint(u)
	}
	stored, err := st.AllUsers(context.Background())
	if err != nil || len(stored) != len(want) {
		t.Fatalf("store has %d users, the list %d (%v)", len(stored), len(want), err)
	}
	if _, err := st.User(context.Background(), p+"mi2"); err == nil {
		t.Error("mi2 was not purged")
	}
	if len(mirror) != len(want) {
		t.Errorf("mirror has %d users, the store %d", len(mirror), len(want))
	}
	for anchor, w := range want {
		if mirror[anchor] != w {
			t.Errorf("mirror of %s:\n%s\nstore:\n%s", anchor, mirror[anchor], w)
		}
	}
}

// TestAPIPasswordCheckDirectory: with password_check: directory, a lab
// user's AD password passes (a bind as the user over the verified LDAPS),
// a wrong one and a disabled user's right one do not, and umsync mails
// no passwords.
func TestAPIPasswordCheckDirectory(t *testing.T) {
	t.Parallel()
	lab := adlab.Require(t)
	ou := lab.OU(t)
	const pw = "Ad-Pass-2026!x"
	p := adlab.SamPrefix()
	dp0, dp1 := p+"dp0", p+"dp1"
	on := lab.AddPlainUser(t, ou, dp0, pw)
	lab.Modify(t, on, "mail", dp0+"@example.test")
	off := lab.AddPlainUser(t, ou, dp1, pw)
	lab.Modify(t, off, "mail", dp1+"@example.test")
	path := testConfig(t, lab, ou, cfgOpts{schedule: "@every 1s", sync: "  max_deactivation_percent: 100\n  max_deactivations: 100\n",
		mail:  "  transport: file\n  from: ums@example.test\n  file: {dir: mails}\n",
		extra: "api:\n  listen: 127.0.0.1:0\n  tokens_file: api-tokens\n  password_check: directory\n"})
	token := apiToken(t, path, "ums", "auth")
	d := startTestDaemon(t, path, zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel))
	api := openapitest.Client{T: t, BaseURL: "http://" + d.APIAddr()}
	check := func(login, password string) int {
		return api.Do("POST", "/api/v1/auth/password", token, map[string]string{"login": login, "password": password}).Code
	}
	if code := check(dp0, pw); code != 200 {
		t.Errorf("the AD password: %d, want 200", code)
	}
	if code := check(dp0, pw+"x"); code != 401 {
		t.Errorf("a wrong password: %d, want 401", code)
	}
	if code := check(dp0, ""); code != 400 {
		t.Errorf("an empty password: %d, want 400", code)
	}
	if code := check(dp1, pw); code != 200 {
		t.Fatalf("dp1 before it is disabled: %d", code)
	}
	lab.Modify(t, off, "userAccountControl", "514")
	if code := check(dp1, pw); code != 401 {
		t.Errorf("a disabled user's right password: %d, want 401", code)
	}
	if _, stderr, code := umsync(t, "users", "reset-password", dp0, "--config", path); code != exitFailure || !strings.Contains(stderr, "AD password") {
		t.Errorf("reset-password with directory passwords: exit %d %s", code, stderr)
	}
	if r := api.Do("PUT", "/api/v1/users/"+dp0+"/password", token, map[string]string{"old": pw, "new": "Other-Pass-2027"}); r.Code != 409 {
		t.Errorf("changing an AD password through the API: %d %s, want 409", r.Code, r.Raw)
	}
	if files, _ := filepath.Glob(filepath.Join(filepath.Dir(path), "mails", "*")); len(files) > 0 {
		for _, f := range files {
			if data, _ := os.ReadFile(f); strings.Contains(string(data), "password") && strings.Contains(string(data), "Your new UMS password") {
				t.Errorf("a password mail was sent: %s", f)
			}
		}
	}
}

// selfSigned writes a certificate for 127.0.0.1 and its key into dir.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "umsync api test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "api.crt"), filepath.Join(dir, "api.key")
	writeTestFile(t, certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	writeTestFile(t, keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}))
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

func writeTestFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestAPIServesTLS: with a certificate the API listens with TLS 1.2 or
// newer only; plain HTTP and TLS 1.1 are refused.
func TestAPIServesTLS(t *testing.T) {
	t.Parallel()
	lab := adlab.Require(t)
	ou := lab.OU(t)
	certFile, keyFile, pool := selfSigned(t, t.TempDir())
	path := testConfig(t, lab, ou, cfgOpts{extra: fmt.Sprintf("api:\n  listen: 127.0.0.1:0\n  tokens_file: api-tokens\n  tls_cert_file: %s\n  tls_key_file: %s\n", certFile, keyFile)})
	token := apiToken(t, path, "ums", "read")
	d := startTestDaemon(t, path, zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel))
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	api := openapitest.Client{T: t, BaseURL: "https://" + d.APIAddr(), HTTP: hc}
	if r := api.Do("GET", "/api/v1/users", token, nil); r.Code != 200 {
		t.Errorf("over TLS: %d %s", r.Code, r.Raw)
	}
	// Go's TLS server answers plain HTTP with a 400 "client sent an HTTP
	// request to an HTTPS server", or drops it.
	if res, err := http.Get("http://" + d.APIAddr() + "/api/v1/openapi.yaml"); err == nil {
		res.Body.Close()
		if res.StatusCode == 200 {
			t.Error("plain HTTP answered")
		}
	}
	old := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MaxVersion: tls.VersionTLS11}}}
	if _, err := old.Get("https://" + d.APIAddr() + "/api/v1/openapi.yaml"); err == nil {
		t.Error("TLS 1.1 accepted")
	}
}
