package mail

import (
	"context"
	"fmt"

	"github.com/rs/zerolog"
)

// CheckSMTP connects to the configured SMTP server as a send does — TLS
// as configured (STARTTLS, implicit or none), AUTH when mail.smtp.username
// is set — and quits without sending a mail. It returns a description of
// what worked, or the step that failed.
func CheckSMTP(ctx context.Context, c Config) (string, error) {
	tr, err := NewTransport(c, zerolog.Nop())
	if err != nil {
		return "", err
	}
	st, ok := tr.(*smtpTransport)
	if !ok {
		return "", fmt.Errorf("mail.transport is %q, not smtp", c.Transport)
	}
	cl, err := st.client()
	if err != nil {
		return "", err
	}
	if err := cl.DialWithContext(ctx); err != nil {
		return "", fmt.Errorf("smtp %s:%d: %w", c.SMTP.Host, c.SMTP.Port, err)
	}
	if err := cl.Close(); err != nil {
		return "", fmt.Errorf("smtp %s:%d: quit: %w", c.SMTP.Host, c.SMTP.Port, err)
	}
	what := fmt.Sprintf("%s:%d answers, tls %s", c.SMTP.Host, c.SMTP.Port, c.SMTP.TLS)
	if c.SMTP.Username != "" {
		what += ", AUTH as " + c.SMTP.Username + " accepted"
	}
	return what, nil
}
