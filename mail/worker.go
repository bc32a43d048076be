package mail

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	gomail "github.com/wneessen/go-mail"

	"github.com/umsync/umsync/internal/crashpoint"
	"github.com/umsync/umsync/store"
	"github.com/umsync/umsync/ums"
)

// Store is what the worker needs of the store.
type Store interface {
	DueMails(ctx context.Context, now time.Time, limit int) ([]store.Mail, error)
	User(ctx context.Context, id string) (ums.User, error)
	MailSent(ctx context.Context, id int64, secret *store.Secret, now time.Time) error
	MailAttemptFailed(ctx context.Context, id int64, reason string, rejected, failed bool, next time.Time) error
	MailQueue(ctx context.Context, now time.Time) (int, time.Duration, error)
}

// Results of a send; the values of umsync_mail_sent_total's result label.
const (
	ResultSent   = "sent"   // the server accepted it
	ResultRetry  = "retry"  // a passing failure (4xx, no connection): tried again later
	ResultFailed = "failed" // failed for good (5xx answers, no address): see umsync mail queue
)

// Worker drains the mail outbox.
type Worker struct {
	cfg       Config
	pins      ums.PINPolicy
	store     Store
	transport Transport
	templates *Templates
	log       zerolog.Logger
	now       func() time.Time
	host      string

	sent          *prometheus.CounterVec
	depth, oldest prometheus.Gauge

	mu sync.Mutex // held by Drain and Reconfigure
}

// Reconfigure gives the worker a reloaded config; it waits for a send in
// progress.
func (w *Worker) Reconfigure(cfg Config, pins ums.PINPolicy, tr Transport, t *Templates) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.cfg, w.pins, w.transport, w.templates = cfg, pins, tr, t
}

// PollInterval is how often the worker looks for due mails; the first
// retry of a mail is due 2 s after its failure, so it goes out within
// seconds.
const PollInterval = 2 * time.Second

// NewWorker builds a worker; its metrics are registered on reg.
func NewWorker(cfg Config, pins ums.PINPolicy, st Store, tr Transport, t *Templates, log zerolog.Logger,
	reg prometheus.Registerer) *Worker {
	host, _ := os.Hostname()
	w := &Worker{cfg: cfg, pins: pins, store: st, transport: tr, templates: t, now: time.Now, host: host,
		log: log.With().Str("component", "mail").Logger(),
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "umsync_mail_sent_total",
			Help: "Mail send attempts by kind (info, password, pin, alert) and result (sent, retry, failed)."},
			[]string{"kind", "result"}),
		depth: prometheus.NewGauge(prometheus.GaugeOpts{Name: "umsync_mail_queue_depth",
			Help: "Mails queued and not sent yet."}),
		oldest: prometheus.NewGauge(prometheus.GaugeOpts{Name: "umsync_mail_oldest_queued_age_seconds",
			Help: "Age of the oldest mail not sent yet (0: the queue is empty)."}),
	}
	for _, k := range Kinds {
		for _, r := range []string{ResultSent, ResultRetry, ResultFailed} {
			w.sent.WithLabelValues(string(k), r)
		}
	}
	if reg != nil {
		reg.MustRegister(w.sent, w.depth, w.oldest)
	}
	return w
}

// Run drains the outbox every PollInterval until ctx ends.
func (w *Worker) Run(ctx context.Context) {
	t := time.NewTicker(PollInterval)
	defer t.Stop()
	for {
		w.Drain(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// drainBatch is how many due mails one round takes.
const drainBatch = 50

// Drain sends every mail that is due now and returns how many were sent.
func (w *Worker) Drain(ctx context.Context) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	defer w.refreshGauges(ctx)
	sent := 0
	for ctx.Err() == nil {
		ms, err := w.store.DueMails(ctx, w.now(), drainBatch)
		if err != nil {
			w.log.Error().Err(err).Msg("could not read the mail outbox")
			return sent
		}
		for _, m := range ms {
			if ctx.Err() != nil {
				return sent
			}
			if w.send(ctx, m) {
				sent++
			}
		}
		if len(ms) < drainBatch {
			return sent
		}
	}
	return sent
}

func (w *Worker) refreshGauges(ctx context.Context) {
	depth, oldest, err := w.store.MailQueue(context.WithoutCancel(ctx), w.now())
	if err != nil {
		w.log.Warn().Err(err).Msg("could not measure the mail queue")
		return
	}
	w.depth.Set(float64(depth))
	w.oldest.Set(oldest.Seconds())
}

// permanentError fails a mail at once (nothing a retry could mend).
type permanentError struct{ error }

// send tries one mail and records the outcome; it reports success.
func (w *Worker) send(ctx context.Context, m store.Mail) bool {
	log := w.log.With().Int64("mail_id", m.ID).Str("kind", string(m.Kind)).Str("user_anchor", m.Anchor).Logger()
	msg, secret, err := w.compose(ctx, m)
	if err == nil {
		crashpoint.Hit("mail.send-before")
		err = w.transport.Send(ctx, msg, fmt.Sprintf("%s-%06d-%s", w.now().UTC().Format("20060102T150405"), m.ID, m.Kind))
	}
	now := w.now()
	if err == nil {
		crashpoint.Hit("mail.send-after") // the server has it, the outbox does not know yet
		var stored *store.Secret
		if secret != "" {
			h, herr := Hash(secret)
			if herr != nil {
				log.Error().Err(herr).Msg("could not hash the secret of a sent mail")
			} else {
				stored = &store.Secret{Kind: m.Kind, Hash: h}
			}
		}
		if err := w.store.MailSent(context.WithoutCancel(ctx), m.ID, stored, now); err != nil {
			// Sent but not marked: it goes out again (with a new secret).
			log.Error().Err(err).Msg("mail sent but not marked sent: it will be sent again")
			return false
		}
		crashpoint.Hit("mail.marked")
		w.sent.WithLabelValues(string(m.Kind), ResultSent).Inc()
		log.Info().Msg("mail sent")
		return true
	}
	var perm permanentError
	var se *gomail.SendError
	rejected := errors.As(err, &se) && !se.IsTemp() && !errors.Is(err, context.Canceled)
	failed := errors.As(err, &perm) || (rejected && m.Rejections+1 >= w.cfg.RejectAttempts)
	next := now.Add(backoff(m.Attempts, w.cfg.RetryMax))
	if ferr := w.store.MailAttemptFailed(context.WithoutCancel(ctx), m.ID, err.Error(), rejected, failed, next); ferr != nil {
		log.Error().Err(ferr).Msg("could not record the failed mail attempt")
	}
	if failed {
		w.sent.WithLabelValues(string(m.Kind), ResultFailed).Inc()
		log.Error().Err(err).Int("attempts", m.Attempts+1).
			Msg("mail failed for good; see umsync mail queue, retry with umsync mail retry")
		return false
	}
	w.sent.WithLabelValues(string(m.Kind), ResultRetry).Inc()
	log.Warn().Err(err).Time("next_attempt", next).Msg("mail not sent; will retry")
	return false
}

// backoff is 2 s, 4 s, 8 s … after each failed attempt, at most max.
func backoff(attempts int, max time.Duration) time.Duration {
	return min(2*time.Second<<min(attempts, 20), max)
}

// compose renders m for its recipient; a password or PIN mail makes its
// secret now (returned, to be hashed once the server accepted the mail).
func (w *Worker) compose(ctx context.Context, m store.Mail) (*gomail.Msg, string, error) {
	msg := gomail.NewMsg()
	if err := msg.From(w.cfg.From); err != nil {
		return nil, "", permanentError{fmt.Errorf("mail.from: %w", err)}
	}
	d := Data{PortalURL: w.cfg.PortalURL, Host: w.host}
	lang := w.cfg.Language
	var secret string
	if m.Kind == ums.MailAlert {
		if len(w.cfg.AdminTo) == 0 {
			return nil, "", permanentError{errors.New("mail.admin_to is empty: nobody to alert")}
		}
		if err := msg.To(w.cfg.AdminTo...); err != nil {
			return nil, "", permanentError{fmt.Errorf("mail.admin_to: %w", err)}
		}
		d.Alert = AlertData{Cause: m.Cause, Title: alertTitles[m.Cause], Text: m.Body}
		if d.Alert.Title == "" {
			d.Alert.Title = m.Cause
		}
	} else {
		u, err := w.store.User(ctx, m.Anchor)
		if errors.Is(err, store.ErrNotFound) {
			return nil, "", permanentError{errors.New("the user is no longer in the store")}
		}
		if err != nil {
			return nil, "", err
		}
		if u.Mail == "" {
			return nil, "", permanentError{fmt.Errorf("user %s has no mail address", u.SAMAccountName)}
		}
		if err := msg.AddToFormat(userData(&u).DisplayName, u.Mail); err != nil {
			return nil, "", permanentError{fmt.Errorf("user %s: mail address %q: %w", u.SAMAccountName, u.Mail, err)}
		}
		d.User, lang = userData(&u), language(&u, w.cfg.Language)
		switch m.Kind {
		case ums.MailPassword:
			if secret, err = w.cfg.Password.Generate(); err != nil {
				return nil, "", err
			}
			d.Password = secret
		case ums.MailPIN:
			if secret, err = w.pins.Generate(u.Extension); err != nil {
				return nil, "", err
			}
			d.PIN = secret
		}
	}
	subject, text, html, err := w.templates.Render(m.Kind, lang, d)
	if err != nil {
		return nil, "", permanentError{fmt.Errorf("template %s/%s: %w", lang, m.Kind, err)}
	}
	msg.Subject(subject)
	msg.SetBodyString(gomail.TypeTextPlain, text)
	msg.AddAlternativeString(gomail.TypeTextHTML, html)
	msg.SetMessageID()
	msg.SetDate()
	msg.SetGenHeader("Auto-Submitted", "auto-generated") // RFC 3834: no auto-replies
	return msg, secret, nil
}

var alertTitles = map[string]string{
	"safety":  "sync stopped by the safety limits",
	"license": "more eligible users than licenses",
	"writes":  "a write to AD failed for good",
}
