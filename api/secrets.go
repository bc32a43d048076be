package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"unicode"

	"github.com/umsync/umsync/internal/crashpoint"
	"github.com/umsync/umsync/mail"
	"github.com/umsync/umsync/store"
	"github.com/umsync/umsync/ums"
)

// dummyHash is compared against when a login is unknown or has no
// password or PIN yet, so that the answer takes about as long as for a
// wrong one: a hash at the configured cost, made when first needed and
// again after a reload changed the cost.
type dummyHash struct {
	mu   sync.Mutex
	cost int
	hash string
}

func (d *dummyHash) at(cost int) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.hash == "" || d.cost != cost {
		d.hash, _ = mail.Hash("umsync: no such login", cost)
		d.cost = cost
	}
	return d.hash
}

// verifyNothing takes the time of a check of secret at the configured
// cost, for a login or box that has nothing to check against.
func (s *Server) verifyNothing(c *call, secret string) {
	verify(s.dummy.at(c.set.BcryptCost), secret)
}

// verify checks secret against a bcrypt hash: every check of a password or
// PIN, real or dummy, goes through here (tests count them at the crash
// point "api.verify": each answer costs exactly one).
func verify(hash, secret string) bool {
	crashpoint.Hit("api.verify")
	return mail.Verify(hash, secret)
}

type passwordRequest struct {
	Login    string `json:"login"`
	Password string `json:"password"`
}

type authUser struct {
	Anchor         string `json:"anchor"`
	SAMAccountName string `json:"sam_account_name"`
	DisplayName    string `json:"display_name"`
}

type authBody struct {
	OK        bool      `json:"ok"`
	User      *authUser `json:"user,omitempty"`
	Error     string    `json:"error,omitempty"`
	Locked    bool      `json:"locked,omitempty"`
	Remaining *int      `json:"remaining,omitempty"`
}

func deny(code int, b authBody) error { return &apiError{code: code, body: b} }

var wrongPassword = authBody{Error: "wrong login or password"}

func (s *Server) checkPassword(c *call) error {
	var req passwordRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	if req.Login == "" || req.Password == "" {
		return errf(http.StatusBadRequest, "login and password are required")
	}
	u, err := s.store.UserByLogin(c.r.Context(), req.Login)
	// The per-login rate counts per user, whichever login names it.
	key := "password:" + u.Anchor
	if u.Anchor == "" {
		key = "password:?" + strings.ToLower(req.Login)
	}
	if err := s.loginAllowed(c, key); err != nil {
		return err
	}
	if errors.Is(err, store.ErrNotFound) {
		s.verifyNothing(c, req.Password)
		s.m.authFailures.WithLabelValues(failPassword).Inc()
		return deny(http.StatusUnauthorized, wrongPassword)
	}
	if err != nil {
		return err
	}
	c.target = u.Anchor
	if err := s.passwordOK(c, u, req.Password); err != nil {
		return err
	}
	writeJSON(c.w, http.StatusOK, authBody{OK: true,
		User: &authUser{Anchor: u.Anchor, SAMAccountName: u.SAMAccountName, DisplayName: u.DisplayName}})
	return nil
}

// passwordOK checks u's password as api.password_check says, counts a
// wrong one and locks the login at api.max_password_failures.
func (s *Server) passwordOK(c *call, u ums.User, password string) error {
	ctx := c.r.Context()
	max := c.set.API.MaxPasswordFailures
	if c.set.API.PasswordCheck == CheckDirectory {
		// AD's own lockout policy counts; umsync's lock would need a
		// reset-password, which mails nothing in this mode.
		max = 0
	}
	failures, err := s.store.PasswordFailures(ctx, u.Anchor)
	if err != nil {
		return err
	}
	if max > 0 && failures >= max {
		s.verifyNothing(c, password)
		s.m.authFailures.WithLabelValues(failPassword).Inc()
		return deny(http.StatusLocked, authBody{Locked: true,
			Error: "login locked after wrong passwords: an admin runs umsync users reset-password"})
	}
	var right bool
	switch {
	case u.State != ums.StateActive || !u.Enabled:
		// A deactivated or disabled user never passes.
		s.verifyNothing(c, password)
	case c.set.API.PasswordCheck == CheckDirectory:
		if s.dir == nil {
			return errors.New("api: password_check is directory but no directory is wired")
		}
		if right, err = s.dir.CheckPassword(ctx, u.DN, password); err != nil {
			return fmt.Errorf("api: check password in the directory: %w", err)
		}
	default:
		hash, err := s.store.SecretHash(ctx, u.Anchor, ums.MailPassword)
		if err != nil {
			return err
		}
		if hash == "" {
			s.verifyNothing(c, password)
		} else {
			right = verify(hash, password)
		}
	}
	if right {
		if failures > 0 {
			return s.store.ResetPasswordFailures(ctx, u.Anchor)
		}
		return nil
	}
	s.m.authFailures.WithLabelValues(failPassword).Inc()
	n, err := s.store.RecordPasswordFailure(ctx, u.Anchor, c.actor(), max, s.now())
	if err != nil {
		return err
	}
	if max > 0 && n >= max {
		return deny(http.StatusLocked, authBody{Locked: true,
			Error: "login locked after wrong passwords: an admin runs umsync users reset-password"})
	}
	return deny(http.StatusUnauthorized, wrongPassword)
}

func (c *call) actor() string { return "api:" + c.token.Name }

type pinRequest struct {
	User string `json:"user"`
	PIN  string `json:"pin"`
}

func (s *Server) verifyPIN(c *call) error {
	var req pinRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	if req.User == "" || req.PIN == "" {
		return errf(http.StatusBadRequest, "user and pin are required")
	}
	u, err := s.findUser(c, req.User)
	if err != nil {
		return err
	}
	if err := s.loginAllowed(c, "pin:"+u.Anchor); err != nil {
		return err
	}
	if err := s.pinOK(c, u, req.PIN); err != nil {
		return err
	}
	writeJSON(c.w, http.StatusOK, authBody{OK: true})
	return nil
}

// pinOK checks u's voicemail PIN; a wrong one counts with the same count
// `users pin-failure` keeps, and locks the box at voicemail.max_pin_failures.
func (s *Server) pinOK(c *call, u ums.User, pin string) error {
	ctx := c.r.Context()
	set, _ := ums.ParseSettings(u.Settings)
	if u.State != ums.StateActive || set.Voicemail == ums.VoicemailDisabled {
		return errf(http.StatusNotFound, "user %q has no voicemail box", u.SAMAccountName)
	}
	if set.VoicemailLocked {
		s.verifyNothing(c, pin)
		s.m.authFailures.WithLabelValues(failPIN).Inc()
		return deny(http.StatusLocked, authBody{Locked: true, Error: "voicemail box locked: an admin runs umsync users unlock"})
	}
	hash, err := s.store.SecretHash(ctx, u.Anchor, ums.MailPIN)
	if err != nil {
		return err
	}
	if hash != "" && verify(hash, pin) {
		return s.store.ResetPINFailures(ctx, u.Anchor)
	}
	if hash == "" {
		s.verifyNothing(c, pin)
	}
	s.m.authFailures.WithLabelValues(failPIN).Inc()
	limit := c.set.MaxPINFailures
	locked, err := s.store.RecordPINFailure(ctx, u.Anchor, c.actor(), limit, c.set.SettingsToDirectory, s.now())
	if err != nil {
		return err
	}
	if locked {
		return deny(http.StatusLocked, authBody{Locked: true, Error: "voicemail box locked: an admin runs umsync users unlock"})
	}
	n, err := s.store.PINFailures(ctx, u.Anchor)
	if err != nil {
		return err
	}
	remaining := max(limit-n, 0)
	return deny(http.StatusUnauthorized, authBody{Error: "wrong PIN", Remaining: &remaining})
}

type changeRequest struct {
	Old string `json:"old"`
	New string `json:"new"`
}

func (s *Server) setPIN(c *call) error {
	var req changeRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	u, err := s.findUser(c, c.r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := s.loginAllowed(c, "pin:"+u.Anchor); err != nil {
		return err
	}
	if err := s.pinOK(c, u, req.Old); err != nil {
		return err
	}
	if err := c.set.PINPolicy.Check(req.New, u.Extension); err != nil {
		return errf(http.StatusUnprocessableEntity, "%v", err)
	}
	return s.storeSecret(c, u, ums.MailPIN, req.New)
}

func (s *Server) setPassword(c *call) error {
	var req changeRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	u, err := s.findUser(c, c.r.PathValue("id"))
	if err != nil {
		return err
	}
	if c.set.API.PasswordCheck == CheckDirectory {
		return errf(http.StatusConflict, "passwords are the users' AD passwords (api.password_check: directory): change it in Windows")
	}
	if err := s.loginAllowed(c, "password:"+u.Anchor); err != nil {
		return err
	}
	if err := s.passwordOK(c, u, req.Old); err != nil {
		return err
	}
	if err := passwordRule(req.New, c.set.PasswordLength, c.set.PasswordClass, u); err != nil {
		return errf(http.StatusUnprocessableEntity, "%v", err)
	}
	return s.storeSecret(c, u, ums.MailPassword, req.New)
}

func (s *Server) storeSecret(c *call, u ums.User, kind ums.MailKind, secret string) error {
	hash, err := mail.Hash(secret, c.set.BcryptCost)
	if err != nil {
		return err
	}
	if err := s.store.SetSecret(c.r.Context(), u.Anchor, c.actor(), store.Secret{Kind: kind, Hash: hash}, s.now()); err != nil {
		return err
	}
	writeJSON(c.w, http.StatusOK, authBody{OK: true})
	return nil
}

// passwordRule says why a password a user chose breaks the policy
// (mail.password: the length and classes of generated ones).
func passwordRule(pw string, length int, classes []string, u ums.User) error {
	if n := len([]rune(pw)); n < length || n > 128 {
		return fmt.Errorf("a password has %d to 128 characters, this one %d", length, n)
	}
	has := map[string]func(rune) bool{
		"lower": unicode.IsLower, "upper": unicode.IsUpper, "digit": unicode.IsDigit,
		"symbol": func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.IsSpace(r) },
	}
	for _, cl := range classes {
		if f := has[cl]; f != nil && !strings.ContainsFunc(pw, f) {
			return fmt.Errorf("a password needs a character of each class: %s (no %s)", strings.Join(classes, ", "), cl)
		}
	}
	low := strings.ToLower(pw)
	if u.SAMAccountName != "" && strings.Contains(low, strings.ToLower(u.SAMAccountName)) {
		return errors.New("a password must not contain the login name")
	}
	return nil
}

var actionNames = []string{"send-infomail", "reset-password", "reset-pin", "unlock", "reset-settings"}

type actionBody struct {
	OK      bool   `json:"ok"`
	Message string `json:"message"`
}

func (s *Server) action(c *call) error {
	action := c.r.PathValue("action")
	known := false
	for _, a := range actionNames {
		known = known || a == action
	}
	if !known {
		return errf(http.StatusNotFound, "no action %q (want one of %s)", action, strings.Join(actionNames, ", "))
	}
	u, err := s.findUser(c, c.r.PathValue("id"))
	if err != nil {
		return err
	}
	if s.actions == nil {
		return errors.New("api: no admin actions wired")
	}
	msg, err := s.actions.Run(c.r.Context(), action, u.Anchor, c.actor())
	if errors.Is(err, ErrActionRefused) {
		return errf(http.StatusConflict, "%v", err)
	}
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusAccepted, actionBody{OK: true, Message: msg})
	return nil
}
