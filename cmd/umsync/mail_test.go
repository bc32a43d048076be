package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"regexp"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	"golang.org/x/crypto/bcrypt"

	"github.com/umsync/umsync/internal/adlab"
	"github.com/umsync/umsync/internal/logtest"
	"github.com/umsync/umsync/internal/smtptest"
	umsmail "github.com/umsync/umsync/mail"
	"github.com/umsync/umsync/sync/engine"
	"github.com/umsync/umsync/ums"
)

// received sorts what the SMTP peer got by recipient and subject.
func received(t *testing.T, peer *smtptest.Server) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	dec := new(mime.WordDecoder)
	for _, m := range peer.Messages() {
		msg, err := mail.ReadMessage(bytes.NewReader(m.Data))
		if err != nil {
			t.Fatal(err)
		}
		subject, _ := dec.DecodeHeader(msg.Header.Get("Subject"))
		out[m.To[0]] = append(out[m.To[0]], subject)
	}
	return out
}

// textOf returns the text part of the last mail to rcpt.
func textOf(t *testing.T, peer *smtptest.Server, rcpt string) string {
	t.Helper()
	var last []byte
	for _, m := range peer.Messages() {
		if m.To[0] == rcpt {
			last = m.Data
		}
	}
	msg, err := mail.ReadMessage(bytes.NewReader(last))
	if err != nil {
		t.Fatal(err)
	}
	_, params, _ := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	part, err := multipart.NewReader(msg.Body, params["boundary"]).NextPart()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(part)
	return string(b)
}

var mailedSecret = regexp.MustCompile(`(?m)^    (\S+)\s*$`)

// TestMailEndToEnd: serve sends what cycles and admins queue. Users
// activated by the first sync get one info and one password mail; a new AD
// user in scope gets exactly one info mail however many cycles run; unlock,
// reset-password and send-infomail mail the user, and the mailed secrets
// verify against the stored hashes.
func TestMailEndToEnd(t *testing.T) {
	t.Parallel()
	lab := adlab.Require(t)
	ou := lab.OU(t)
	peer := smtptest.Start(t)
	p := adlab.SamPrefix()
	ml0, ml1 := p+"ml0", p+"ml1"
	for i := range 2 {
		lab.AddUser(t, ou, adlab.User{CN: fmt.Sprintf("ml%d", i), Sam: fmt.Sprintf("%sml%d", p, i), Given: "Jürgen", Surname: fmt.Sprintf("Müller%d", i),
			Attrs: map[string][]string{"mail": {fmt.Sprintf("ml%d@example.test", i)}, "ipPhone": {fmt.Sprint(4100 + i)},
				"mobile": {fmt.Sprintf("+49171555010%d", i)}}})
	}
	path := testConfig(t, lab, ou, cfgOpts{directory: "  attributes: {settings: info}\n", mail: fmt.Sprintf(`  transport: smtp
  from: "UMS <ums@example.test>"
  admin_to: ["admin@example.test"]
  smtp: {host: 127.0.0.1, port: %d, tls: none}
  portal_url: https://ums.example.test/
`, peer.Port)})
	cfg, err := loadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	var logs logtest.Buffer
	d, err := startDaemon(context.Background(), path, cfg, zerolog.New(io.MultiWriter(&logs, zerolog.NewTestWriter(t))))
	if err != nil {
		t.Fatal(err)
	}
	defer d.shutdown()
	waitFor(t, "info and password mails of the first sync", func() bool { return len(peer.Messages()) == 4 })
	got := received(t, peer)
	for _, rcpt := range []string{"ml0@example.test", "ml1@example.test"} {
		// No settings (no profiles): the services are the numbers the user has.
		if strings.Join(got[rcpt], "|") != "Your SMS access|Your new UMS password" &&
			strings.Join(got[rcpt], "|") != "Your new UMS password|Your SMS access" {
			t.Errorf("%s got %q", rcpt, got[rcpt])
		}
	}

	// A new user in scope: one info mail, however many cycles run.
	lab.AddUser(t, ou, adlab.User{CN: "mlnew", Sam: p + "mlnew", Given: "Änne", Surname: "Neu", Attrs: map[string][]string{"mail": {"mlnew@example.test"}}})
	for range 3 {
		cycleNow(t, d, engine.ModeDelta)
	}
	waitFor(t, "the new user's mails", func() bool { return len(received(t, peer)["mlnew@example.test"]) == 2 })
	cycleNow(t, d, engine.ModeFull)
	// The peer has a mail a moment before the worker marks it sent.
	waitFor(t, "an empty queue", func() bool {
		out, _, _ := umsync(t, "mail", "queue", "--config", path)
		return strings.Contains(out, "(0 mails not sent)")
	})
	if n := strings.Count(strings.Join(received(t, peer)["mlnew@example.test"], "|"), "Your UMS access"); n != 1 {
		t.Errorf("the new user got %d info mails, want 1", n)
	}

	// Admin actions, while serve runs.
	// Wrong PINs reported by the UMS lock the box at voicemail.max_pin_failures (3).
	umsync(t, "users", "set", "--config", path, ml0, "settings=ums1;vm=phone_login")
	for i, want := range []string{"failures counted", "failures counted", "locked after 3 wrong PINs"} {
		if out, stderr, code := umsync(t, "users", "pin-failure", ml0, "--config", path); code != exitOK || !strings.Contains(out, want) {
			t.Fatalf("pin-failure %d: exit %d %q %s, want %q", i+1, code, out, stderr, want)
		}
	}
	before := len(peer.Messages())
	out, stderr, code := umsync(t, "users", "unlock", ml0, "--config", path)
	if code != exitOK || !strings.Contains(out, ml0+": voicemail unlocked") || !strings.Contains(out, "pin mail queued for ml0@example.test") {
		t.Fatalf("unlock: exit %d\n%s%s", code, out, stderr)
	}
	waitFor(t, "the PIN mail", func() bool { return len(peer.Messages()) == before+1 })
	pin := mailedSecret.FindStringSubmatch(textOf(t, peer, "ml0@example.test"))
	if out, stderr, code := umsync(t, "users", "reset-password", ml1, "--config", path); code != exitOK {
		t.Fatalf("reset-password: exit %d\n%s%s", code, out, stderr)
	}
	waitFor(t, "the password mail", func() bool { return len(peer.Messages()) == before+2 })
	pw := mailedSecret.FindStringSubmatch(textOf(t, peer, "ml1@example.test"))
	waitFor(t, "both marked sent (the hashes stored)", func() bool {
		out, _, _ := umsync(t, "mail", "queue", "--config", path)
		return strings.Contains(out, "(0 mails not sent)")
	})
	if pin == nil || pw == nil {
		t.Fatalf("no secret in the mails: pin %v password %v", pin, pw)
	}
	st := testStore(t, cfg)
	u0, _ := st.User(context.Background(), ml0)
	u1, _ := st.User(context.Background(), ml1)
	pinHash, _ := st.SecretHash(context.Background(), u0.Anchor, ums.MailPIN)
	if !umsmail.Verify(pinHash, pin[1]) || len(pin[1]) != 6 {
		t.Errorf("the mailed PIN %q does not verify against the stored hash", pin[1])
	}
	pwHash, _ := st.SecretHash(context.Background(), u1.Anchor, ums.MailPassword)
	if !umsmail.Verify(pwHash, pw[1]) {
		t.Errorf("the mailed password does not verify against the stored hash")
	}
	for _, h := range []string{pinHash, pwHash} { // mail.bcrypt_cost reaches the worker
		if cost, err := bcrypt.Cost([]byte(h)); err != nil || cost != testHashCost {
			t.Errorf("a stored hash has cost %d (%v), want mail.bcrypt_cost %d", cost, err, testHashCost)
		}
	}
	if u0.Settings != "ums1;vm=phone_login" {
		t.Errorf("ml0 settings after unlock: %q", u0.Settings)
	}
	for _, secret := range []string{pin[1], pw[1]} {
		if strings.Contains(logs.String(), secret) {
			t.Error("a mailed secret is in the logs")
		}
	}

	// The unlock reached AD with the next cycle; each action is audited.
	cycleNow(t, d, engine.ModeDelta)
	if got := lab.Values(t, "CN=ml0,"+ou, "info"); len(got) != 1 || got[0] != "ums1;vm=phone_login" {
		t.Errorf("AD settings of ml0 after unlock = %q", got)
	}
	if out, stderr, code := umsync(t, "users", "reset-pin", ml0, "--config", path); code != exitOK {
		t.Fatalf("reset-pin: exit %d\n%s%s", code, out, stderr)
	}
	waitFor(t, "the reset-pin mail", func() bool { return len(peer.Messages()) == before+3 })
	var shown struct {
		Audit []auditJSON `json:"audit"`
	}
	out, _, _ = umsync(t, "users", "show", ml0, "--config", path, "--output", "json")
	if err := json.Unmarshal([]byte(out), &shown); err != nil {
		t.Fatal(err)
	}
	var trail []string
	for _, a := range shown.Audit {
		trail = append(trail, a.Action+" "+a.Field+" "+a.New)
	}
	if want := []string{"reset-pin mail pin mail queued", "unlock mail pin mail queued", "unlock settings ums1;vm=phone_login",
		"lock settings ums1;vm=phone_login;vmlock=1", "set settings ums1;vm=phone_login"}; strings.Join(trail, "|") != strings.Join(want, "|") {
		t.Errorf("audit trail of ml0:\n%q\nwant\n%q", trail, want)
	}
	if shown.Audit[0].Actor == "" || shown.Audit[0].At == "" {
		t.Errorf("audit entry without actor or time: %+v", shown.Audit[0])
	}
	before++

	for _, tt := range []struct {
		args []string
		err  string
	}{
		{[]string{"users", "reset-pin", ml1}, "user '" + ml1 + "' has no voicemail"},
		{[]string{"users", "send-infomail", "nobody"}, `user 'nobody' not found`},
		{[]string{"mail", "retry", "999"}, "mail 999 is not a failed mail"},
	} {
		if _, stderr, code := umsync(t, append(tt.args, "--config", path)...); code != exitFailure || !strings.Contains(stderr, tt.err) {
			t.Errorf("%v: exit %d %q, want %q", tt.args, code, stderr, tt.err)
		}
	}
	if out, stderr, code := umsync(t, "users", "send-infomail", ml1, "--config", path); code != exitOK {
		t.Fatalf("send-infomail: %d %s %s", code, out, stderr)
	}
	waitFor(t, "the info mail sent again", func() bool { return len(peer.Messages()) == before+3 })

	// Rejected three times (5xx): failed, listed, and sent after a retry.
	peer.Answer(550, 550, 550)
	umsync(t, "users", "send-infomail", ml0, "--config", path)
	var queue []map[string]any
	waitFor(t, "the rejected mail to fail", func() bool {
		out, _, _ := umsync(t, "mail", "queue", "--config", path, "--output", "json")
		json.Unmarshal([]byte(out), &queue)
		return len(queue) == 1 && queue[0]["state"] == "failed"
	})
	if queue[0]["user"] != ml0 || queue[0]["kind"] != "info" || queue[0]["attempts"] != float64(3) ||
		!strings.Contains(fmt.Sprint(queue[0]["last_error"]), "550") {
		t.Errorf("failed mail listed as %v", queue[0])
	}
	if out, _, code := umsync(t, "mail", "retry", "--all", "--config", path); code != exitOK || out != "1 mail(s) queued again\n" {
		t.Errorf("mail retry --all: %d %q", code, out)
	}
	waitFor(t, "the retried mail", func() bool { return len(peer.Messages()) == before+4 })
}
