package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"golang.org/x/time/rate"

	"github.com/umsync/umsync/internal/crashpoint"
	"github.com/umsync/umsync/store"
	"github.com/umsync/umsync/ums"
)

// Store is what the API needs of the store.
type Store interface {
	ListUsersAt(ctx context.Context, f store.UserFilter) ([]ums.User, int64, error)
	Changes(ctx context.Context, since int64, limit int) ([]store.Change, int64, error)
	User(ctx context.Context, id string) (ums.User, error)
	UsersWithNumber(ctx context.Context, ext, e164 string) ([]ums.User, error)
	UserByLogin(ctx context.Context, login string) (ums.User, error)
	SecretHash(ctx context.Context, anchor string, kind ums.MailKind) (string, error)
	SetSecret(ctx context.Context, anchor, actor string, secret store.Secret, now time.Time) error
	PasswordFailures(ctx context.Context, anchor string) (int, error)
	RecordPasswordFailure(ctx context.Context, anchor, actor string, max int, now time.Time) (int, error)
	ResetPasswordFailures(ctx context.Context, anchor string) error
	PINFailures(ctx context.Context, anchor string) (int, error)
	RecordPINFailure(ctx context.Context, anchor, actor string, max int, toDirectory bool, now time.Time) (bool, error)
	ResetPINFailures(ctx context.Context, anchor string) error
	AuditStore
}

// PasswordChecker checks a user's password against the directory (a bind
// as the user): ok says whether it is right; an error is a failure to ask.
type PasswordChecker interface {
	CheckPassword(ctx context.Context, dn, password string) (ok bool, err error)
}

// Actions runs the CLI's admin actions on one user (ID as the CLI takes
// it), audited as actor; it returns what was done, for the answer.
type Actions interface {
	Run(ctx context.Context, action, id, actor string) (string, error)
}

// ErrActionRefused wraps why an action does not fit the user (a 409).
var ErrActionRefused = errors.New("refused")

// Settings are the parts of other config sections the API follows; the
// daemon replaces them on reload.
type Settings struct {
	API            Config
	Numbers        ums.NumberPlan
	Profiles       ums.Profiles
	Language       string // mail.language: the default language setting
	MaxPINFailures int
	// SettingsToDirectory: a voicemail lock is queued for AD with the
	// settings (sync.fields.settings writes to the directory).
	SettingsToDirectory bool
	PINPolicy           ums.PINPolicy
	PasswordLength      int      // the fewest characters of a password a user sets
	PasswordClass       []string // classes a password a user sets must hold
	// BcryptCost is the cost of the hashes of passwords and PINs users set
	// (mail.bcrypt_cost).
	BcryptCost int
}

// Server answers the API's calls.
type Server struct {
	store    Store
	tokens   *Tokens
	dir      PasswordChecker // nil unless password_check is directory
	actions  Actions         // nil: no admin actions
	log      zerolog.Logger
	m        *metrics
	settings atomic.Pointer[Settings]
	audit    *auditor
	now      func() time.Time
	dummy    dummyHash

	mu     sync.Mutex
	tokenL map[string]*rate.Limiter
	loginL map[string]*rate.Limiter
}

// New builds the API's handler state; tokens are read from the tokens
// file (and again when it changes).
func New(s Settings, st Store, dir PasswordChecker, actions Actions, log zerolog.Logger, reg prometheus.Registerer) (*Server, error) {
	toks, err := LoadTokens(s.API.TokensFile)
	if err != nil {
		return nil, err
	}
	srv := &Server{store: st, tokens: toks, dir: dir, actions: actions, log: log.With().Str("component", "api").Logger(),
		m: newMetrics(reg), now: time.Now, tokenL: map[string]*rate.Limiter{}, loginL: map[string]*rate.Limiter{}}
	srv.settings.Store(&s)
	srv.audit = newAuditor(st, func() time.Duration { return srv.settings.Load().API.AuditRetention }, srv.m.auditDropped, srv.log)
	toks.mu.Lock()
	toks.report = func(err error) {
		srv.log.Error().Err(err).Msg("API tokens file not read: every call is refused until it is fixed")
	}
	toks.mu.Unlock()
	return srv, nil
}

// Update takes the settings of a reloaded config and reads the tokens
// file again.
func (s *Server) Update(set Settings) error {
	s.settings.Store(&set)
	// The limiters keep their state (a reload must not give an attacker
	// fresh guesses); they take the new rates.
	s.mu.Lock()
	for _, l := range s.tokenL {
		l.SetLimit(rate.Limit(set.API.TokenRate))
		l.SetBurst(int(2*set.API.TokenRate) + 1)
	}
	for _, l := range s.loginL {
		l.SetLimit(loginLimit(set.API.LoginRate))
		l.SetBurst(set.API.LoginRate)
	}
	s.mu.Unlock()
	return s.tokens.Reload()
}

// FlushAudit waits until every call answered so far is audited in the
// store.
func (s *Server) FlushAudit() { s.audit.Flush() }

// Close writes the audit still queued and stops its writer; call it after
// the listener has stopped.
func (s *Server) Close() { s.audit.Close() }

// Tokens are the loaded tokens.
func (s *Server) Tokens() *Tokens { return s.tokens }

// Handler routes the API's calls.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /api/v1/openapi.yaml", s.wrap("openapi", "", s.openapi))
	mux.Handle("GET /api/v1/users", s.wrap("users", ScopeRead, s.listUsers))
	mux.Handle("GET /api/v1/users/{id}", s.wrap("user", ScopeRead, s.getUser))
	mux.Handle("GET /api/v1/lookup", s.wrap("lookup", ScopeRead, s.lookup))
	mux.Handle("POST /api/v1/auth/password", s.wrap("auth_password", ScopeAuth, s.checkPassword))
	mux.Handle("POST /api/v1/voicemail/verify-pin", s.wrap("verify_pin", ScopeAuth, s.verifyPIN))
	mux.Handle("PUT /api/v1/users/{id}/pin", s.wrap("set_pin", ScopeAuth, s.setPIN))
	mux.Handle("PUT /api/v1/users/{id}/password", s.wrap("set_password", ScopeAuth, s.setPassword))
	mux.Handle("POST /api/v1/users/{id}/actions/{action}", s.wrap("action", ScopeAdmin, s.action))
	mux.Handle("/", s.wrap("unknown", "", func(*call) error { return errf(http.StatusNotFound, "no such API call") }))
	return mux
}

// call is one request being answered.
type call struct {
	w      http.ResponseWriter
	r      *http.Request
	token  Token
	set    *Settings
	target string // the user's anchor, for the audit
}

// apiError is an answer other than success.
type apiError struct {
	code int
	body any
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %v", e.code, e.body) }

type errorBody struct {
	Error string `json:"error"`
}

func errf(code int, format string, a ...any) error {
	return &apiError{code: code, body: errorBody{Error: fmt.Sprintf(format, a...)}}
}

// statusWriter remembers the status code written.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// wrap adds what every call gets: limits, the token and its scope, the
// per-token rate limit, JSON errors, metrics and the audit.
func (s *Server) wrap(route, scope string, h func(*call) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := s.now()
		set := s.settings.Load()
		ctx, cancel := context.WithTimeout(r.Context(), set.API.RequestTimeout)
		defer cancel()
		r = r.WithContext(ctx)
		r.Body = http.MaxBytesReader(w, r.Body, set.API.MaxBodyBytes)
		sw := &statusWriter{ResponseWriter: w}
		c := &call{w: sw, r: r, set: set}
		err := s.authorize(c, scope)
		if err == nil {
			crashpoint.Hit("api.call") // tests: a call that takes longer than the request timeout
			err = h(c)
		}
		if err != nil {
			var ae *apiError
			if !errors.As(err, &ae) {
				s.log.Error().Err(err).Str("route", route).Msg("API call failed")
				ae = &apiError{code: http.StatusInternalServerError, body: errorBody{Error: "internal error (see umsync's log)"}}
				if errors.Is(err, context.DeadlineExceeded) {
					ae.body = errorBody{Error: "the call took too long"}
				}
			}
			writeJSON(sw, ae.code, ae.body)
		}
		code := sw.code
		s.m.requests.WithLabelValues(route, strconv.Itoa(code)).Inc()
		s.m.duration.WithLabelValues(route).Observe(s.now().Sub(start).Seconds())
		if c.token.Name == "" {
			// No token, or an unknown one (or the public document): counted
			// in the metrics, not written to the store, so that nobody
			// without a token makes umsync write.
			return
		}
		s.audit.record(store.APICall{At: start, Actor: c.actor(), Method: r.Method, Route: route, Target: c.target, Code: code})
	})
}

// authorize checks the bearer token and its scope, and the token's rate.
func (s *Server) authorize(c *call, scope string) error {
	if scope == "" {
		return nil
	}
	h := c.r.Header.Get("Authorization")
	secret, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || secret == "" {
		s.m.authFailures.WithLabelValues(failToken).Inc()
		c.w.Header().Set("WWW-Authenticate", `Bearer realm="umsync"`)
		return errf(http.StatusUnauthorized, "no bearer token")
	}
	tok, ok := s.tokens.Check(strings.TrimSpace(secret))
	if !ok {
		s.m.authFailures.WithLabelValues(failToken).Inc()
		c.w.Header().Set("WWW-Authenticate", `Bearer realm="umsync", error="invalid_token"`)
		return errf(http.StatusUnauthorized, "unknown token")
	}
	c.token = tok
	if !tok.Has(scope) {
		return errf(http.StatusForbidden, "token %q lacks the %s scope", tok.Name, scope)
	}
	if !s.limiter(s.tokenL, tok.Name, rate.Limit(c.set.API.TokenRate), int(2*c.set.API.TokenRate)+1).Allow() {
		c.w.Header().Set("Retry-After", "1")
		return errf(http.StatusTooManyRequests, "too many calls with this token")
	}
	return nil
}

// maxLimiters bounds the limiters kept per kind (tokens, logins).
var maxLimiters = 100_000

// refuseAll is the limiter of a key that finds no room: it allows nothing.
var refuseAll = rate.NewLimiter(0, 0)

// limiter returns the limiter of key in m, made with r and burst. When m
// is full, the limiters that are full again (idle long enough to be no
// different from a new one) are forgotten; forgetting the others would
// hand a guesser fresh tries, so if that frees no room the new key is
// refused (429) until it does.
func (s *Server) limiter(m map[string]*rate.Limiter, key string, r rate.Limit, burst int) *rate.Limiter {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := m[key]
	if ok {
		return l
	}
	if len(m) >= maxLimiters {
		now := time.Now()
		for k, l := range m {
			if l.TokensAt(now) >= float64(l.Burst()) {
				delete(m, k)
			}
		}
		if len(m) >= maxLimiters {
			return refuseAll
		}
	}
	l = rate.NewLimiter(r, burst)
	m[key] = l
	return l
}

// loginLimit is the rate of login checks: per per minute.
func loginLimit(per int) rate.Limit { return rate.Every(time.Minute / time.Duration(per)) }

// loginAllowed applies the per-login rate of password and PIN checks.
func (s *Server) loginAllowed(c *call, login string) error {
	per := c.set.API.LoginRate
	if !s.limiter(s.loginL, strings.ToLower(login), loginLimit(per), per).Allow() {
		c.w.Header().Set("Retry-After", "60")
		return errf(http.StatusTooManyRequests, "too many checks for this login; wait a minute")
	}
	return nil
}

// decode reads a JSON body strictly: unknown fields, trailing data, a
// body too large or not JSON are a 400.
func decode(c *call, v any) error {
	dec := json.NewDecoder(c.r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errf(http.StatusBadRequest, "request body larger than %d bytes", mbe.Limit)
		}
		if errors.Is(err, io.EOF) {
			return errf(http.StatusBadRequest, "request body is empty: want a JSON object")
		}
		return errf(http.StatusBadRequest, "request body: %s", jsonProblem(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errf(http.StatusBadRequest, "request body: one JSON object only")
	}
	return nil
}

// jsonProblem describes a decode error without echoing the body (it may
// hold a password).
func jsonProblem(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("not valid JSON (at byte %d)", se.Offset)
	case errors.As(err, &te):
		return fmt.Sprintf("%s must be a %s", te.Field, te.Type)
	case strings.HasPrefix(err.Error(), "json: unknown field"):
		return strings.TrimPrefix(err.Error(), "json: ")
	}
	return "not valid JSON"
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}
