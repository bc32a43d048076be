package mail_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/umsync/umsync/internal/smtptest"
	"github.com/umsync/umsync/mail"
)

// TestCheckSMTP: a server that answers passes and receives no mail; one
// that does not offer the STARTTLS the config demands, and one that is
// down, fail naming why.
func TestCheckSMTP(t *testing.T) {
	srv := smtptest.Start(t)
	cfg := mail.DefaultConfig()
	cfg.Transport, cfg.From = mail.TransportSMTP, "ums@example.test"
	cfg.SMTP.Host, cfg.SMTP.Port, cfg.SMTP.TLS, cfg.SMTP.Timeout = "127.0.0.1", srv.Port, "none", 5*time.Second
	what, err := mail.CheckSMTP(context.Background(), cfg)
	if err != nil || !strings.Contains(what, "answers") {
		t.Fatalf("CheckSMTP = %q, %v", what, err)
	}
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("the check sent %d mails", n)
	}
	cfg.SMTP.TLS = "starttls"
	if _, err := mail.CheckSMTP(context.Background(), cfg); err == nil || !strings.Contains(strings.ToLower(err.Error()), "starttls") {
		t.Errorf("starttls against a server without it: err %v", err)
	}
	cfg.SMTP.TLS = "none"

	// AUTH: accepted with the right password, refused with a wrong one;
	// still no mail sent.
	srv.RequireAuth("umsync", "s3cret")
	pw := filepath.Join(t.TempDir(), "smtp-password")
	os.WriteFile(pw, []byte("s3cret\n"), 0o600)
	cfg.SMTP.Username, cfg.SMTP.PasswordFile = "umsync", pw
	if what, err := mail.CheckSMTP(context.Background(), cfg); err != nil || !strings.Contains(what, "AUTH as umsync accepted") {
		t.Errorf("AUTH with the right password: %q, %v", what, err)
	}
	os.WriteFile(pw, []byte("wrong\n"), 0o600)
	if _, err := mail.CheckSMTP(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "535") {
		t.Errorf("AUTH with a wrong password: err %v, want the server's 535", err)
	}
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("the AUTH checks sent %d mails", n)
	}
	cfg.SMTP.Username, cfg.SMTP.PasswordFile = "", ""
	srv.Stop()
	if _, err := mail.CheckSMTP(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("server down: err %v", err)
	}
}
