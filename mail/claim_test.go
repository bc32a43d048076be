package mail

import (
	"context"
	"fmt"
	"net/mail"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	gomail "github.com/wneessen/go-mail"
	"golang.org/x/crypto/bcrypt"

	"github.com/umsync/umsync/configs"
	"github.com/umsync/umsync/internal/smtptest"
	"github.com/umsync/umsync/store"
	"github.com/umsync/umsync/ums"
)

// workerOn is a worker with its own store handle on the rig's database
// file (as a second serve process would have) and its own log.
func (r *rig) workerOn(t *testing.T, tr Transport) (*Worker, *store.Store, *logBuffer) {
	t.Helper()
	st, err := store.Open(context.Background(), store.Config{Path: r.dbPath, BusyTimeout: 10 * time.Second}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	tmpl, err := LoadTemplates(configs.MailTemplates, "")
	if err != nil {
		t.Fatal(err)
	}
	if tr == nil {
		if tr, err = NewTransport(r.cfg, zerolog.Nop()); err != nil {
			t.Fatal(err)
		}
	}
	logs := &logBuffer{}
	w := NewWorker(r.cfg, Rules{PINs: ums.PINPolicy{Length: 8}}, st, tr, tmpl, zerolog.New(logs), prometheus.NewRegistry())
	w.now = func() time.Time { return r.clock }
	w.renewEvery = time.Hour // renewals would move the leases these tests expire
	return w, st, logs
}

type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// mailedPasswords maps each recipient to the passwords it received.
func mailedPasswords(t *testing.T, msgs []smtptest.Message) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, m := range msgs {
		p := parse(t, m)
		s := secretLine.FindStringSubmatch(p.text)
		if s == nil {
			t.Fatalf("no password in the mail to %v:\n%s", m.To, p.text)
		}
		out[m.To[0]] = append(out[m.To[0]], s[1])
	}
	return out
}

// TestTwoWorkersSendEachMailOnce: two workers, each with its own store
// handle on one database (two serve processes; the single-writer lock is
// not in the way), drain 200 password mails (users reset-password) at
// the same time. Besides the real race of both, the seam makes the worst
// case happen for every mail: right after one worker claimed it, the other
// tries to send that very mail. Each mail goes out exactly once, and every
// mailed password verifies against the stored hash.
func TestTwoWorkersSendEachMailOnce(t *testing.T) {
	const users = 200
	r := newRig(t)
	r.cfg.BcryptCost = bcrypt.MinCost // 400 bcrypt runs at the default cost take minutes under -race
	ctx := context.Background()
	anchors := map[string]string{} // address -> anchor
	for i := range users {
		sam := fmt.Sprintf("u%03d", i)
		u := r.addUser(t, sam, "User "+sam, sam+"@example.test", "")
		anchors[u.Mail] = u.Anchor
		if err := r.store.QueueUserMail(ctx, u.Anchor, "admin", "reset-password", ums.MailPassword, r.clock); err != nil {
			t.Fatal(err)
		}
	}
	a, _, _ := r.workerOn(t, nil)
	b, _, _ := r.workerOn(t, nil)
	var tries, stolen atomic.Int64
	a.claimed = func(m store.Mail) {
		tries.Add(1)
		if b.claimAndSend(ctx, m.ID) {
			stolen.Add(1)
		}
	}
	b.claimed = func(m store.Mail) {
		tries.Add(1)
		if a.claimAndSend(ctx, m.ID) {
			stolen.Add(1)
		}
	}
	var sentA, sentB int
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); sentA = a.Drain(ctx) }()
	go func() { defer wg.Done(); sentB = b.Drain(ctx) }()
	wg.Wait()

	if tries.Load() != users || stolen.Load() != 0 {
		t.Errorf("the other worker tried %d claimed mails and sent %d of them; want %d and 0", tries.Load(), stolen.Load(), users)
	}
	if sentA+sentB != users {
		t.Errorf("workers report %d + %d sent, want %d", sentA, sentB, users)
	}
	msgs := r.peer.Messages()
	if len(msgs) != users {
		t.Errorf("the server got %d mails, want %d", len(msgs), users)
	}
	for addr, pws := range mailedPasswords(t, msgs) {
		if len(pws) != 1 {
			t.Errorf("%s got %d password mails", addr, len(pws))
			continue
		}
		h, err := r.store.SecretHash(ctx, anchors[addr], ums.MailPassword)
		if err != nil || !Verify(h, pws[0]) {
			t.Errorf("%s: the mailed password does not verify against the stored hash (%v)", addr, err)
		}
	}
	if ms, _ := r.store.Mails(ctx, store.MailSent); len(ms) != users {
		t.Errorf("%d mails marked sent, want %d", len(ms), users)
	}
}

// takeover is a transport that, on its first send, lets another worker
// take the mail over before the message reaches the server: the lease runs
// out (the clock moves past it) and then takeover runs.
type takeover struct {
	next     Transport
	takeover func()
	once     sync.Once
}

func (x *takeover) Send(ctx context.Context, m *gomail.Msg, name string) error {
	x.once.Do(x.takeover)
	return x.next.Send(ctx, m, name)
}

// TestTakenOverClaimStoresNoHash: worker a claims a password mail and
// stalls past its lease; worker b claims it again and sends it.
//   - Stalled between claim and send: a sends nothing at all.
//   - Stalled while the server takes the message: a's copy goes out, but
//     its hash is not stored — the stored hash stays b's.
func TestTakenOverClaimStoresNoHash(t *testing.T) {
	for _, during := range []string{"build", "send"} {
		t.Run(during, func(t *testing.T) {
			r := newRig(t)
			ctx := context.Background()
			u := r.addUser(t, "slow", "Slow Worker", "slow@example.test", "")
			if err := r.store.QueueUserMail(ctx, u.Anchor, "admin", "reset-password", ums.MailPassword, r.clock); err != nil {
				t.Fatal(err)
			}
			b, _, _ := r.workerOn(t, nil)
			var bSent int
			takeOver := func() {
				r.clock = r.clock.Add(ClaimLease + time.Second)
				bSent = b.Drain(ctx)
			}
			var tr Transport
			if during == "send" {
				real, err := NewTransport(r.cfg, zerolog.Nop())
				if err != nil {
					t.Fatal(err)
				}
				tr = &takeover{next: real, takeover: takeOver}
			}
			a, _, aLogs := r.workerOn(t, tr)
			if during == "build" {
				a.claimed = func(store.Mail) { takeOver() }
			}
			if n := a.Drain(ctx); n != 0 {
				t.Errorf("the worker that lost its claim reports %d sent", n)
			}
			if bSent != 1 {
				t.Fatalf("the worker taking over sent %d, want 1", bSent)
			}
			msgs := r.peer.Messages()
			wantMails := map[string]int{"build": 1, "send": 2}[during]
			if len(msgs) != wantMails {
				t.Fatalf("the server got %d mails, want %d", len(msgs), wantMails)
			}
			pws := mailedPasswords(t, msgs)["slow@example.test"]
			h, _ := r.store.SecretHash(ctx, u.Anchor, ums.MailPassword)
			if !Verify(h, pws[0]) {
				t.Error("the stored hash is not the one of the worker that took over")
			}
			if during == "send" {
				if Verify(h, pws[1]) {
					t.Error("the worker that lost its claim stored its hash")
				}
				if !strings.Contains(aLogs.String(), "its claim was taken over meanwhile") {
					t.Errorf("no warning from the worker that lost its claim:\n%s", aLogs)
				}
			}
			ms, _ := r.store.Mails(ctx, "")
			if len(ms) != 1 || ms[0].State != store.MailSent || ms[0].Attempts != 1 || ms[0].ClaimedBy != "" {
				t.Errorf("outbox: %+v", ms)
			}
		})
	}
}

// TestRecipientNameEncoded: a display name with a quote and a backslash
// gets its info mail, the To header quoted as RFC 5322 wants and decoding
// to the name; control characters are stripped from a name (no header
// injection); an address with a control character gets no mail: the mail
// fails at once with the reason.
func TestRecipientNameEncoded(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	obrien := r.addUser(t, "obrien", `O"Brien \ Test`, "obrien@example.test", "")
	evil := r.addUser(t, "evil", "Evil\r\nBcc: victim@example.test", "evil@example.test", "")
	bad := r.addUser(t, "badaddr", "Bad Address", "bad@example.test\r\nBcc: victim@example.test", "")
	for _, u := range []ums.User{obrien, evil, bad} {
		r.queue(t, ums.MailInfo, u, "info:"+u.Anchor)
	}
	w, _ := r.worker(t)
	if n := w.Drain(ctx); n != 2 {
		t.Fatalf("sent %d, want 2", n)
	}
	msgs := r.peer.Messages()
	if len(msgs) != 2 {
		t.Fatalf("the server got %d mails", len(msgs))
	}
	raw := string(msgs[0].Data)
	if !strings.Contains(raw, "\r\nTo: \"O\\\"Brien \\\\ Test\" <obrien@example.test>\r\n") {
		t.Errorf("To header not quoted as wanted:\n%s", raw[:min(len(raw), 600)])
	}
	if p := parse(t, msgs[0]); p.to != `O"Brien \ Test <obrien@example.test>` || !strings.Contains(p.text, `Hello O"Brien \ Test`) {
		t.Errorf("decoded To %q; text:\n%s", p.to, p.text)
	}
	m1, err := mail.ReadMessage(strings.NewReader(string(msgs[1].Data)))
	if err != nil {
		t.Fatal(err)
	}
	if to, _ := mail.ParseAddress(m1.Header.Get("To")); to == nil || to.Name != "EvilBcc: victim@example.test" ||
		m1.Header.Get("Bcc") != "" || len(msgs[1].To) != 1 || msgs[1].To[0] != "evil@example.test" {
		t.Errorf("a name with CR LF: To %q, Bcc %q, envelope %v", m1.Header.Get("To"), m1.Header.Get("Bcc"), msgs[1].To)
	}
	failed, _ := r.store.Mails(ctx, store.MailFailed)
	if len(failed) != 1 || failed[0].Anchor != bad.Anchor || failed[0].Attempts != 1 ||
		!strings.Contains(failed[0].LastError, "user badaddr: the mail address holds control characters") {
		t.Errorf("failed mails: %+v", failed)
	}
}

// TestFileTransportNeverOverwrites: a mail sent twice under one name (a
// claim taken over within the same second) makes two files.
func TestFileTransportNeverOverwrites(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "mail")
	tr, err := NewTransport(Config{Transport: TransportFile, File: struct {
		Dir string `yaml:"dir"`
	}{Dir: dir}}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	for _, subject := range []string{"first", "second", "third"} {
		m := gomail.NewMsg()
		if err := m.From("ums@example.test"); err != nil {
			t.Fatal(err)
		}
		m.Subject(subject)
		m.SetBodyString(gomail.TypeTextPlain, subject)
		if err := tr.Send(context.Background(), m, "20261124T090000-000001-info"); err != nil {
			t.Fatal(err)
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	want := []string{"20261124T090000-000001-info-1.eml", "20261124T090000-000001-info-2.eml", "20261124T090000-000001-info.eml"}
	if len(files) != len(want) {
		t.Fatalf("files %v, want %v (and no temporary file left)", files, want)
	}
	for i, f := range files {
		if filepath.Base(f) != want[i] {
			t.Errorf("file %d is %s, want %s", i, filepath.Base(f), want[i])
		}
	}
}
