package mail

import (
	"bytes"
	"context"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"
	"golang.org/x/crypto/bcrypt"

	"github.com/umsync/umsync/configs"
	"github.com/umsync/umsync/internal/smtptest"
	"github.com/umsync/umsync/store"
	"github.com/umsync/umsync/ums"
)

type rig struct {
	store  *store.Store
	dbPath string
	peer   *smtptest.Server
	cfg    Config
	logs   *bytes.Buffer
	clock  time.Time
}

func newRig(t *testing.T) *rig {
	t.Helper()
	r := &rig{peer: smtptest.Start(t), logs: &bytes.Buffer{}, clock: time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)}
	r.dbPath = filepath.Join(t.TempDir(), "umsync.db")
	st, err := store.Open(context.Background(), store.Config{Path: r.dbPath, BusyTimeout: time.Second}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	r.store = st
	r.cfg = DefaultConfig()
	r.cfg.Transport, r.cfg.From, r.cfg.AdminTo = TransportSMTP, "UMS Büro <ums@example.test>", []string{"admin@example.test"}
	r.cfg.SMTP.Host, r.cfg.SMTP.Port, r.cfg.SMTP.TLS = "127.0.0.1", r.peer.Port, "none"
	r.cfg.PortalURL = "https://ums.example.test/"
	return r
}

// worker is a fresh worker (as after a restart) on the rig's clock.
func (r *rig) worker(t *testing.T) (*Worker, *prometheus.Registry) {
	t.Helper()
	tmpl, err := LoadTemplates(configs.MailTemplates, "")
	if err != nil {
		t.Fatal(err)
	}
	tr, err := NewTransport(r.cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	w := NewWorker(r.cfg, Rules{PINs: ums.PINPolicy{Length: 8}}, r.store, tr, tmpl, zerolog.New(r.logs), reg)
	w.now = func() time.Time { return r.clock }
	return w, reg
}

func (r *rig) addUser(t *testing.T, sam, display, mailAddr, settings string) ums.User {
	t.Helper()
	u := ums.User{Anchor: "0000-" + sam, DN: "CN=" + sam + ",DC=example,DC=test", SAMAccountName: sam,
		DisplayName: display, Mail: mailAddr, Extension: "2041", Mobile: "+491715550001",
		FaxNumbers: []string{"+49895550001"}, Settings: settings, Enabled: true, State: ums.StateActive,
		FirstSeen: r.clock, UpdatedAt: r.clock, License: ums.LicenseActive}
	if _, err := r.store.ApplyCycle(context.Background(), store.CycleWrite{Users: []*ums.User{&u},
		Run: store.Run{Mode: "full", StartedAt: r.clock, Result: store.ResultSuccess}}); err != nil {
		t.Fatal(err)
	}
	return u
}

func (r *rig) queue(t *testing.T, kind ums.MailKind, u ums.User, key string) {
	t.Helper()
	if ok, err := r.store.QueueMail(context.Background(), store.Mail{Key: key, Kind: kind, Anchor: u.Anchor}, r.clock); err != nil || !ok {
		t.Fatalf("QueueMail(%s) = %v, %v", key, ok, err)
	}
}

// parsed is one received mail, decoded.
type parsed struct {
	header     mail.Header
	from, to   string // decoded display names and addresses
	subject    string
	text, html string
	partTypes  []string
}

func parse(t *testing.T, m smtptest.Message) parsed {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(m.Data))
	if err != nil {
		t.Fatal(err)
	}
	dec := new(mime.WordDecoder)
	p := parsed{header: msg.Header}
	p.subject, _ = dec.DecodeHeader(msg.Header.Get("Subject"))
	from, _ := mail.ParseAddress(msg.Header.Get("From"))
	to, _ := mail.ParseAddress(msg.Header.Get("To"))
	p.from, p.to = from.Name+" <"+from.Address+">", to.Name+" <"+to.Address+">"
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("Content-Type %q (%v), want multipart/alternative", msg.Header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		part, err := mr.NextPart() // decodes quoted-printable
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(part)
		ct, _, _ := mime.ParseMediaType(part.Header.Get("Content-Type"))
		p.partTypes = append(p.partTypes, ct)
		switch ct {
		case "text/plain":
			p.text = string(body)
		case "text/html":
			p.html = string(body)
		}
	}
	return p
}

// TestInfoMailContentAndEncoding: headers, non-ASCII names (RFC 2047),
// multipart/alternative with a text and an HTML part, the user's numbers,
// the user's language.
func TestInfoMailContentAndEncoding(t *testing.T) {
	r := newRig(t)
	en := r.addUser(t, "jmueller", "Jürgen Müller", "jmueller@example.test", "")
	de := r.addUser(t, "aschulz", "Änne Schulz", "aschulz@example.test", "ums1;vm=phone_login;lang=de")
	r.queue(t, ums.MailInfo, en, "info:"+en.Anchor)
	r.queue(t, ums.MailInfo, de, "info:"+de.Anchor)
	w, reg := r.worker(t)
	if n := w.Drain(context.Background()); n != 2 {
		t.Fatalf("Drain sent %d, want 2", n)
	}
	msgs := r.peer.Messages()
	if len(msgs) != 2 {
		t.Fatalf("peer got %d mails", len(msgs))
	}
	if msgs[0].From != "ums@example.test" || len(msgs[0].To) != 1 || msgs[0].To[0] != "jmueller@example.test" {
		t.Errorf("envelope %q -> %q", msgs[0].From, msgs[0].To)
	}
	raw := string(msgs[0].Data)
	if strings.Contains(raw, "Jürgen") || strings.Contains(raw, "Büro") {
		t.Errorf("raw message carries unencoded non-ASCII:\n%s", raw[:min(len(raw), 600)])
	}
	p := parse(t, msgs[0])
	if p.to != "Jürgen Müller <jmueller@example.test>" || p.from != "UMS Büro <ums@example.test>" {
		t.Errorf("decoded To %q From %q", p.to, p.from)
	}
	if p.subject != "Your fax and SMS access" || p.header.Get("Auto-Submitted") != "auto-generated" ||
		p.header.Get("Message-Id") == "" || p.header.Get("Date") == "" {
		t.Errorf("headers: %v", p.header)
	}
	if strings.Join(p.partTypes, ",") != "text/plain,text/html" {
		t.Errorf("parts %v", p.partTypes)
	}
	if strings.Contains(p.text, "Voicemail") { // no settings: no voice mailbox
		t.Errorf("text names voicemail for a user without a voice mailbox:\n%s", p.text)
	}
	for _, want := range []string{"Hello Jürgen Müller", "+49895550001", "Your extension: 2041",
		"https://ums.example.test/ (your login is jmueller)"} {
		if !strings.Contains(p.text, want) {
			t.Errorf("text part lacks %q:\n%s", want, p.text)
		}
	}
	if !strings.Contains(p.html, "<p>Hello Jürgen Müller,</p>") || !strings.Contains(p.html, `<a href="https://ums.example.test/">`) {
		t.Errorf("html part:\n%s", p.html)
	}
	g := parse(t, msgs[1])
	if g.subject != "Ihr Zugang zu Voicemail" || strings.Contains(g.text, "Fax") || !strings.Contains(g.text, "Hallo Änne Schulz") ||
		!strings.Contains(g.text, "Voicemail: an, mit Anmeldung per Telefon") {
		t.Errorf("German mail: %q\n%s", g.subject, g.text)
	}
	if v := testutil.ToFloat64(w.sent.WithLabelValues("info", ResultSent)); v != 2 {
		t.Errorf("umsync_mail_sent_total{kind=info,result=sent} = %v", v)
	}
	if n, err := testutil.GatherAndCount(reg, "umsync_mail_queue_depth"); err != nil || n != 1 || testutil.ToFloat64(w.depth) != 0 {
		t.Errorf("queue depth metric: %d series, %v, value %v", n, err, testutil.ToFloat64(w.depth))
	}
}

// TestServerDownThenUp: mails wait while the server is down, are retried
// within seconds, and go out exactly once when it is back.
func TestServerDownThenUp(t *testing.T) {
	r := newRig(t)
	u := r.addUser(t, "down", "Down User", "down@example.test", "")
	r.queue(t, ums.MailInfo, u, "info:"+u.Anchor)
	r.peer.Stop()
	w, _ := r.worker(t)
	for i := range 3 {
		if n := w.Drain(context.Background()); n != 0 {
			t.Fatalf("sent %d with the server down", n)
		}
		if i < 2 {
			r.clock = r.clock.Add(2 * time.Second << i) // the backoff: 2 s, 4 s (then 8 s)
		}
	}
	ms, _ := r.store.Mails(context.Background(), "")
	if len(ms) != 1 || ms[0].State != store.MailQueued || ms[0].Attempts != 3 || !strings.Contains(ms[0].LastError, "connect") {
		t.Fatalf("while down: %+v", ms)
	}
	if testutil.ToFloat64(w.depth) != 1 || testutil.ToFloat64(w.oldest) != 6 {
		t.Errorf("queue gauges: depth %v oldest %v s", testutil.ToFloat64(w.depth), testutil.ToFloat64(w.oldest))
	}
	r.peer.Restart(t)
	if n := w.Drain(context.Background()); n != 0 {
		t.Fatalf("sent before its backoff (8 s) was over")
	}
	r.clock = r.clock.Add(8 * time.Second)
	w.Drain(context.Background())
	w.Drain(context.Background())
	r.clock = r.clock.Add(time.Hour)
	w.Drain(context.Background())
	if got := r.peer.Messages(); len(got) != 1 {
		t.Fatalf("delivered %d times, want once", len(got))
	}
	if v := testutil.ToFloat64(w.sent.WithLabelValues("info", ResultRetry)); v != 3 {
		t.Errorf("retries counted %v, want 3", v)
	}
}

// TestTemporaryThenSuccessAndPermanentFailure: a 4xx is retried and then
// sent once; 5xx answers fail the mail after reject_attempts, it is listed
// as failed, and an admin's retry sends it.
func TestTemporaryThenSuccessAndPermanentFailure(t *testing.T) {
	r := newRig(t)
	a := r.addUser(t, "tmp", "Temp User", "tmp@example.test", "")
	r.peer.Answer(451)
	r.queue(t, ums.MailInfo, a, "info:"+a.Anchor)
	w, _ := r.worker(t)
	w.Drain(context.Background())
	if len(r.peer.Messages()) != 0 {
		t.Fatal("a 451 counted as delivered")
	}
	r.clock = r.clock.Add(2 * time.Second)
	w.Drain(context.Background())
	if len(r.peer.Messages()) != 1 {
		t.Fatalf("after the 451 and a retry: %d delivered", len(r.peer.Messages()))
	}

	b := r.addUser(t, "rej", "Rejected User", "rej@example.test", "")
	r.peer.Answer(550, 550, 550)
	r.queue(t, ums.MailInfo, b, "info:"+b.Anchor)
	for range 5 {
		w.Drain(context.Background())
		r.clock = r.clock.Add(time.Minute)
	}
	failed, _ := r.store.Mails(context.Background(), store.MailFailed)
	if len(failed) != 1 || failed[0].SAMAccountName != "rej" || failed[0].Attempts != 3 || !strings.Contains(failed[0].LastError, "550") {
		t.Fatalf("failed mails: %+v", failed)
	}
	if v := testutil.ToFloat64(w.sent.WithLabelValues("info", ResultFailed)); v != 1 {
		t.Errorf("failed counted %v", v)
	}
	if n, err := r.store.RetryMails(context.Background(), 0, r.clock); n != 1 || err != nil {
		t.Fatalf("RetryMails = %d, %v", n, err)
	}
	w.Drain(context.Background())
	if got := r.peer.Messages(); len(got) != 2 || got[1].To[0] != "rej@example.test" {
		t.Fatalf("after retry: %d delivered", len(got))
	}
}

var secretLine = regexp.MustCompile(`(?m)^    (\S+)\s*$`)

// mailedSecrets maps the kind of each password or PIN mail in msgs to the
// secret in it.
func mailedSecrets(t *testing.T, msgs []smtptest.Message) map[ums.MailKind]string {
	t.Helper()
	secrets := map[ums.MailKind]string{}
	for _, m := range msgs {
		p := parse(t, m)
		s := secretLine.FindStringSubmatch(p.text)
		if s == nil {
			t.Fatalf("no secret line in:\n%s", p.text)
		}
		kind := ums.MailPassword
		if strings.Contains(p.subject, "PIN") {
			kind = ums.MailPIN
		}
		secrets[kind] = s[1]
	}
	return secrets
}

// TestSecretHashCost: the worker hashes the secrets it mails at
// mail.bcrypt_cost. After a reload to another cost, the next secret is
// hashed at that one, and the hash stored at the old cost still verifies.
func TestSecretHashCost(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	r.cfg.BcryptCost = bcrypt.MinCost + 1
	u := r.addUser(t, "cost", "Cost User", "cost@example.test", "ums1;vm=phone_login")
	r.queue(t, ums.MailPassword, u, "password:"+u.Anchor+":activation")
	r.queue(t, ums.MailPIN, u, "pin:"+u.Anchor+":activation")
	w, _ := r.worker(t)
	if n := w.Drain(ctx); n != 2 {
		t.Fatalf("sent %d, want 2", n)
	}
	hashOK := func(kind ums.MailKind, secret string, cost int) {
		t.Helper()
		h, err := r.store.SecretHash(ctx, u.Anchor, kind)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := bcrypt.Cost([]byte(h)); err != nil || got != cost {
			t.Errorf("%s: stored hash has cost %d (%v), want %d", kind, got, err, cost)
		}
		if !Verify(h, secret) {
			t.Errorf("%s: the stored hash (cost %d) does not verify the mailed secret", kind, cost)
		}
	}
	first := mailedSecrets(t, r.peer.Messages())
	hashOK(ums.MailPassword, first[ums.MailPassword], bcrypt.MinCost+1)
	hashOK(ums.MailPIN, first[ums.MailPIN], bcrypt.MinCost+1)

	cfg := w.cfg
	cfg.BcryptCost = bcrypt.MinCost + 2
	w.Reconfigure(cfg, w.rules, w.transport, w.templates)
	r.queue(t, ums.MailPassword, u, "password:"+u.Anchor+":reset")
	if n := w.Drain(ctx); n != 1 {
		t.Fatalf("after the reload: sent %d, want 1", n)
	}
	second := mailedSecrets(t, r.peer.Messages()[2:])
	hashOK(ums.MailPassword, second[ums.MailPassword], bcrypt.MinCost+2)
	hashOK(ums.MailPIN, first[ums.MailPIN], bcrypt.MinCost+1)
}

// TestSecretsOnlyAsHashes: the password and PIN in the mails verify against
// the stored hashes, and appear neither in the database's bytes nor in the
// logs.
func TestSecretsOnlyAsHashes(t *testing.T) {
	r := newRig(t)
	u := r.addUser(t, "sec", "Secret User", "sec@example.test", "ums1;vm=phone_login")
	r.queue(t, ums.MailPassword, u, "password:"+u.Anchor+":activation")
	r.queue(t, ums.MailPIN, u, "pin:"+u.Anchor+":activation")
	w, _ := r.worker(t)
	if n := w.Drain(context.Background()); n != 2 {
		t.Fatalf("sent %d", n)
	}
	secrets := mailedSecrets(t, r.peer.Messages())
	if pw := secrets[ums.MailPassword]; len(pw) != 14 || !regexp.MustCompile(`[a-z]`).MatchString(pw) ||
		!regexp.MustCompile(`[A-Z]`).MatchString(pw) || !regexp.MustCompile(`[0-9]`).MatchString(pw) {
		t.Errorf("password %q breaks the policy (14, all classes)", pw)
	}
	if pin := secrets[ums.MailPIN]; !regexp.MustCompile(`^[0-9]{8}$`).MatchString(pin) {
		t.Errorf("PIN %q: want 8 digits", pin)
	}
	for kind, secret := range secrets {
		h, err := r.store.SecretHash(context.Background(), u.Anchor, kind)
		if err != nil || !Verify(h, secret) {
			t.Errorf("%s: stored hash %q does not verify the mailed secret (%v)", kind, h, err)
		}
		if Verify(h, secret+"x") {
			t.Errorf("%s: hash verifies a wrong secret", kind)
		}
	}
	r.store.Close() // flush the WAL into the file
	files, _ := filepath.Glob(r.dbPath + "*")
	for _, f := range files {
		b, _ := os.ReadFile(f)
		for kind, secret := range secrets {
			if bytes.Contains(b, []byte(secret)) {
				t.Errorf("the %s is in %s in plaintext", kind, f)
			}
		}
	}
	for kind, secret := range secrets {
		if strings.Contains(r.logs.String(), secret) {
			t.Errorf("the %s is in the logs", kind)
		}
	}
	if !strings.Contains(r.logs.String(), `"message":"mail sent"`) {
		t.Errorf("logs lack the sends:\n%s", r.logs)
	}
}

// TestRestartSendsEachQueuedMailOnce: mails queued before a restart are
// sent once by the new worker, and not again by a third.
func TestRestartSendsEachQueuedMailOnce(t *testing.T) {
	r := newRig(t)
	for _, sam := range []string{"r1", "r2", "r3"} {
		u := r.addUser(t, sam, sam, sam+"@example.test", "")
		r.queue(t, ums.MailInfo, u, "info:"+u.Anchor)
	}
	if ok, _ := r.store.QueueMail(context.Background(), store.Mail{Key: "info:0000-r1", Kind: ums.MailInfo, Anchor: "0000-r1"}, r.clock); ok {
		t.Error("the same key was queued twice")
	}
	w1, _ := r.worker(t)
	w1.Drain(context.Background())
	w2, _ := r.worker(t)
	if n := w2.Drain(context.Background()); n != 0 {
		t.Errorf("the restarted worker sent %d again", n)
	}
	if got := r.peer.Messages(); len(got) != 3 {
		t.Errorf("delivered %d, want 3", len(got))
	}
}

// TestFileTransportAndAlerts: the file transport writes one 0600 .eml per
// mail; an alert goes to admin_to, at most once per cause per hour.
func TestFileTransportAndAlerts(t *testing.T) {
	r := newRig(t)
	r.cfg.Transport, r.cfg.File.Dir = TransportFile, filepath.Join(t.TempDir(), "mail")
	ctx := context.Background()
	for i, want := range []bool{true, false} {
		if ok, err := r.store.QueueAlert(ctx, "safety", "it would deactivate 60 of 100 users", r.clock.Add(time.Duration(i)*time.Minute)); ok != want || err != nil {
			t.Fatalf("alert %d queued %v, %v; want %v", i, ok, err, want)
		}
	}
	if ok, _ := r.store.QueueAlert(ctx, "safety", "again", r.clock.Add(61*time.Minute)); !ok {
		t.Error("an alert an hour later was not queued")
	}
	w, _ := r.worker(t)
	r.clock = r.clock.Add(2 * time.Hour)
	if n := w.Drain(ctx); n != 2 {
		t.Fatalf("sent %d alerts, want 2", n)
	}
	files, _ := filepath.Glob(filepath.Join(r.cfg.File.Dir, "*.eml"))
	if len(files) != 2 {
		t.Fatalf(".eml files: %v", files)
	}
	st, _ := os.Stat(files[0])
	b, _ := os.ReadFile(files[0])
	p := parse(t, smtptest.Message{Data: b})
	if st.Mode().Perm() != 0o600 || p.to != " <admin@example.test>" || p.subject != "[umsync] sync stopped by the safety limits" ||
		!strings.Contains(p.text, "it would deactivate 60 of 100 users") {
		t.Errorf("alert file %o To %q Subject %q\n%s", st.Mode().Perm(), p.to, p.subject, p.text)
	}
}

// TestWorkerDirectoryLogin: a worker whose users log in with their AD
// password (Rules.DirectoryLogin) says so in the info mail it sends.
func TestWorkerDirectoryLogin(t *testing.T) {
	r := newRig(t)
	u := r.addUser(t, "jmueller", "Jürgen Müller", "jmueller@example.test", "")
	r.queue(t, ums.MailInfo, u, "info:"+u.Anchor)
	w, _ := r.worker(t)
	w.rules.DirectoryLogin = true
	if n := w.Drain(context.Background()); n != 1 {
		t.Fatalf("Drain sent %d, want 1", n)
	}
	if p := parse(t, r.peer.Messages()[0]); !strings.Contains(p.text, "with your Windows password") {
		t.Errorf("info mail in directory-login mode:\n%s", p.text)
	}
}
