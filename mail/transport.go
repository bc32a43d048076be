package mail

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/rs/zerolog"
	gomail "github.com/wneessen/go-mail"
)

// Transport delivers one message; name is unique per mail (the file
// transport's file name).
type Transport interface {
	Send(ctx context.Context, m *gomail.Msg, name string) error
}

// NewTransport builds the configured transport. Skipping certificate
// verification is logged as a warning every time.
func NewTransport(c Config, log zerolog.Logger) (Transport, error) {
	switch c.Transport {
	case TransportSMTP:
		if c.SMTP.InsecureSkipVerify {
			log.Warn().Str("host", c.SMTP.Host).Msg("mail.smtp.insecure_skip_verify is set: the SMTP server's certificate is NOT verified")
		}
		tc := &tls.Config{ServerName: c.SMTP.Host, InsecureSkipVerify: c.SMTP.InsecureSkipVerify, MinVersion: tls.VersionTLS12} //nolint:gosec // explicit and logged
		if c.SMTP.CAFile != "" {
			pem, err := os.ReadFile(c.SMTP.CAFile)
			if err != nil {
				return nil, fmt.Errorf("mail.smtp.ca_file: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("mail.smtp.ca_file %s: no PEM certificate in it", c.SMTP.CAFile)
			}
			tc.RootCAs = pool
		}
		return &smtpTransport{cfg: c.SMTP, tls: tc}, nil
	case TransportFile:
		if err := os.MkdirAll(c.File.Dir, 0o700); err != nil {
			return nil, fmt.Errorf("mail.file.dir: %w", err)
		}
		return fileTransport{dir: c.File.Dir}, nil
	}
	return nil, errors.New("mail.transport is not set")
}

type smtpTransport struct {
	cfg SMTP
	tls *tls.Config
}

// Send dials, sends one message and quits. A connection per send keeps
// the worker simple; a UMS sends a few mails an hour.
func (t *smtpTransport) Send(ctx context.Context, m *gomail.Msg, _ string) error {
	c, err := t.client()
	if err != nil {
		return err
	}
	return c.DialAndSendWithContext(ctx, m)
}

// client is a go-mail client for the configured server: TLS as
// configured, AUTH when a username is set.
func (t *smtpTransport) client() (*gomail.Client, error) {
	opts := []gomail.Option{gomail.WithPort(t.cfg.Port), gomail.WithTimeout(t.cfg.Timeout), gomail.WithTLSConfig(t.tls)}
	switch t.cfg.TLS {
	case "implicit":
		opts = append(opts, gomail.WithSSL())
	case "none":
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	}
	if t.cfg.Username != "" {
		pw, err := t.cfg.password() // read per send: rotating the file needs no restart
		if err != nil {
			return nil, err
		}
		// Without TLS (allowed on loopback only, see Validate) go-mail's
		// discovery offers no mechanism a local relay has (it leaves out
		// PLAIN and LOGIN unencrypted): ask for PLAIN explicitly.
		auth := gomail.SMTPAuthAutoDiscover
		if t.cfg.TLS == "none" {
			auth = gomail.SMTPAuthPlainNoEnc
		}
		opts = append(opts, gomail.WithSMTPAuth(auth), gomail.WithUsername(t.cfg.Username), gomail.WithPassword(pw))
	}
	return gomail.NewClient(t.cfg.Host, opts...)
}

// fileTransport writes each mail as an .eml file (0600: a password mail
// holds the password) — for demos and for systems that pick mails up from
// a folder. A file is written under a temporary name and then linked to
// its final name, which fails if that name exists (like O_EXCL): a reader
// never sees half a mail, and no mail ever replaces another.
type fileTransport struct{ dir string }

// maxNameTries bounds the suffixes tried when a mail's name is taken (the
// same mail sent again within a second, after a claim was taken over).
const maxNameTries = 100

func (t fileTransport) Send(_ context.Context, m *gomail.Msg, name string) error {
	f, err := os.CreateTemp(t.dir, ".tmp-*.eml") // O_EXCL, 0600
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := m.WriteTo(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	for i := range maxNameTries {
		final := name + ".eml"
		if i > 0 {
			final = fmt.Sprintf("%s-%d.eml", name, i)
		}
		err := os.Link(f.Name(), filepath.Join(t.dir, final))
		if !errors.Is(err, fs.ErrExist) {
			return err
		}
	}
	return fmt.Errorf("mail file %s: %d names taken", name, maxNameTries)
}
