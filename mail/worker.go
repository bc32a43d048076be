package mail

import (
	"context"
	"crypto/rand"
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

// Store is what the worker needs of the store. A mail is claimed before
// it is built, and its outcome is recorded only while the claim is the
// worker's (see store.ClaimMail).
type Store interface {
	DueMails(ctx context.Context, now time.Time, limit int) ([]store.Mail, error)
	ClaimMail(ctx context.Context, id int64, by string, now, until time.Time) (store.Mail, error)
	RenewClaim(ctx context.Context, id int64, by string, until time.Time) error
	User(ctx context.Context, id string) (ums.User, error)
	MailSent(ctx context.Context, id int64, by string, secret *store.Secret, now time.Time) error
	MailAttemptFailed(ctx context.Context, id int64, by, reason string, rejected, failed bool, next time.Time) error
	MailQueue(ctx context.Context, now time.Time) (int, time.Duration, error)
}

// ClaimLease is how long a worker's claim on a mail lasts; the worker
// renews it every third of that while it builds and sends the mail. A
// mail whose worker died is sent by another (or the restarted) worker
// once the lease ran out.
const ClaimLease = 30 * time.Second

// Results of a send; the values of umsync_mail_sent_total's result label.
const (
	ResultSent   = "sent"   // the server accepted it
	ResultRetry  = "retry"  // a passing failure (4xx, no connection): tried again later
	ResultFailed = "failed" // failed for good (5xx answers, no address): see umsync mail queue
)

// Worker drains the mail outbox.
type Worker struct {
	cfg       Config
	rules     Rules
	store     Store
	transport Transport
	templates *Templates
	log       zerolog.Logger
	now       func() time.Time
	host      string
	// name identifies this worker in its claims: host/pid/random, unique
	// also among workers of one process.
	name string
	// claimed, if set, is called after a mail was claimed and before it is
	// built: the tests' seam to order two workers.
	claimed func(store.Mail)
	// renewEvery is how often a claim is renewed while its mail is built
	// and sent (a third of ClaimLease).
	renewEvery time.Duration

	sent          *prometheus.CounterVec
	depth, oldest prometheus.Gauge

	mu sync.Mutex // held by Drain and Reconfigure
}

// Reconfigure gives the worker a reloaded config; it waits for a send in
// progress.
func (w *Worker) Reconfigure(cfg Config, rules Rules, tr Transport, t *Templates) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.cfg, w.rules, w.transport, w.templates = cfg, rules, tr, t
}

// PollInterval is how often the worker looks for due mails; the first
// retry of a mail is due 2 s after its failure, so it goes out within
// seconds.
const PollInterval = 2 * time.Second

// NewWorker builds a worker; its metrics are registered on reg.
// Rules are what the worker needs besides the mail: section.
type Rules struct {
	// PINs is the policy of the voicemail PINs the worker makes.
	PINs ums.PINPolicy
	// DirectoryLogin: users log in to the UMS with their Windows (AD)
	// password (api.password_check: directory), so the info mail says so
	// and no password mail is sent.
	DirectoryLogin bool
}

func NewWorker(cfg Config, rules Rules, st Store, tr Transport, t *Templates, log zerolog.Logger,
	reg prometheus.Registerer) *Worker {
	host, _ := os.Hostname()
	w := &Worker{cfg: cfg, rules: rules, store: st, transport: tr, templates: t, now: time.Now, host: host,
		name: fmt.Sprintf("%s/%d/%s", host, os.Getpid(), rand.Text()[:8]), renewEvery: ClaimLease / 3,
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
			if w.claimAndSend(ctx, m.ID) {
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

// claimAndSend claims mail id, sends it and records the outcome; it
// reports success. A mail another worker claimed first is left to it.
func (w *Worker) claimAndSend(ctx context.Context, id int64) bool {
	now := w.now()
	m, err := w.store.ClaimMail(ctx, id, w.name, now, now.Add(ClaimLease))
	if errors.Is(err, store.ErrNotFound) {
		w.log.Debug().Int64("mail_id", id).Msg("mail claimed by another worker (or done): skipped")
		return false
	}
	if err != nil {
		w.log.Error().Err(err).Int64("mail_id", id).Msg("could not claim a mail")
		return false
	}
	if w.claimed != nil {
		w.claimed(m)
	}
	release := w.keepClaim(ctx, m.ID)
	defer release()
	return w.send(ctx, m, now)
}

// keepClaim renews the claim on mail id every renewEvery until the
// returned func is called, so that a slow server does not cost a live
// worker its claim.
func (w *Worker) keepClaim(ctx context.Context, id int64) (release func()) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(w.renewEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if err := w.store.RenewClaim(ctx, id, w.name, w.now().Add(ClaimLease)); err != nil && ctx.Err() == nil {
				w.log.Warn().Err(err).Int64("mail_id", id).Msg("could not renew the claim on a mail being sent")
				return
			}
		}
	}()
	return func() { cancel(); <-done }
}

// send sends the claimed mail m and records the outcome; it reports
// success. claimedAt names the file of the file transport.
func (w *Worker) send(ctx context.Context, m store.Mail, claimedAt time.Time) bool {
	log := w.log.With().Int64("mail_id", m.ID).Str("kind", string(m.Kind)).Str("user_anchor", m.Anchor).Logger()
	msg, secret, err := w.compose(ctx, m)
	if err == nil {
		// Send only while the claim is ours: a worker that stalled after
		// its claim, whose mail another worker took over, sends nothing.
		if err := w.store.RenewClaim(context.WithoutCancel(ctx), m.ID, w.name, w.now().Add(ClaimLease)); err != nil {
			log.Warn().Err(err).Msg("mail not sent: its claim is no longer this worker's (or the store did not answer)")
			return false
		}
		crashpoint.Hit("mail.send-before")
		err = w.transport.Send(ctx, msg, fmt.Sprintf("%s-%06d-%s", claimedAt.UTC().Format("20060102T150405"), m.ID, m.Kind))
	}
	now := w.now()
	if err == nil {
		crashpoint.Hit("mail.send-after") // the server has it, the outbox does not know yet
		var stored *store.Secret
		if secret != "" {
			h, herr := Hash(secret, w.cfg.BcryptCost)
			if herr != nil {
				log.Error().Err(herr).Msg("could not hash the secret of a sent mail")
			} else {
				stored = &store.Secret{Kind: m.Kind, Hash: h}
			}
		}
		err := w.store.MailSent(context.WithoutCancel(ctx), m.ID, w.name, stored, now)
		if errors.Is(err, store.ErrClaimLost) {
			// Our lease ran out and another worker sent the mail again (or
			// the user was purged): its secret is the one stored, not ours.
			w.sent.WithLabelValues(string(m.Kind), ResultSent).Inc()
			log.Warn().Msg("mail sent, but its claim was taken over meanwhile: this copy's secret is not stored (the other worker's is)")
			return false
		}
		if err != nil {
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
	if ferr := w.store.MailAttemptFailed(context.WithoutCancel(ctx), m.ID, w.name, err.Error(), rejected, failed, next); ferr != nil {
		if errors.Is(ferr, store.ErrClaimLost) {
			log.Warn().Err(err).Msg("mail not sent, and its claim was taken over meanwhile: the other worker records the outcome")
			return false
		}
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
	from, err := configAddress(w.cfg.From)
	if err != nil {
		return nil, "", permanentError{fmt.Errorf("mail.from: %w", err)}
	}
	msg.FromMailAddress(from)
	d := Data{PortalURL: w.cfg.PortalURL, Host: w.host, DirectoryLogin: w.rules.DirectoryLogin}
	lang := w.cfg.Language
	var secret string
	if m.Kind == ums.MailAlert {
		if len(w.cfg.AdminTo) == 0 {
			return nil, "", permanentError{errors.New("mail.admin_to is empty: nobody to alert")}
		}
		for i, s := range w.cfg.AdminTo {
			a, err := configAddress(s)
			if err != nil {
				return nil, "", permanentError{fmt.Errorf("mail.admin_to[%d]: %w", i, err)}
			}
			msg.AddToMailAddress(a)
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
		d.User, lang = userData(&u), language(&u, w.cfg.Language)
		to, err := userAddress(d.User.DisplayName, u.Mail)
		if err != nil {
			return nil, "", permanentError{fmt.Errorf("user %s: %w", u.SAMAccountName, err)}
		}
		msg.ToMailAddress(to)
		switch m.Kind {
		case ums.MailPassword:
			if secret, err = w.cfg.Password.Generate(); err != nil {
				return nil, "", err
			}
			d.Password = secret
		case ums.MailPIN:
			if secret, err = w.rules.PINs.Generate(u.Extension); err != nil {
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
