package api

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"golang.org/x/crypto/bcrypt"

	"github.com/umsync/umsync/internal/openapitest"
	"github.com/umsync/umsync/store"
	"github.com/umsync/umsync/ums"
)

func TestOpenAPIDocumentIsValid(t *testing.T) { openapitest.ValidateDocument(t) }

// env is one API under test: a real store in t.TempDir(), a tokens file
// with a token per scope set, the handler behind an httptest server.
type env struct {
	t      *testing.T
	st     *store.Store
	srv    *Server
	http   *httptest.Server
	reg    *prometheus.Registry
	tokens map[string]string // name -> secret: read, auth, admin, all
	set    Settings
}

func testSettings(dir string) Settings {
	cfg := DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.TokensFile = filepath.Join(dir, "api-tokens")
	return Settings{API: cfg, Numbers: ums.NumberPlan{CountryCode: "49"}, Language: "en", MaxPINFailures: 3,
		PINPolicy: ums.PINPolicy{Length: 6}, PasswordLength: 12, PasswordClass: []string{"lower", "upper", "digit"},
		BcryptCost: bcrypt.MinCost} // the default costs a second of CPU a hash under -race
}

func newEnv(t *testing.T, change func(*Settings), dir PasswordChecker, actions Actions) *env {
	t.Helper()
	tmp := t.TempDir()
	st, err := store.Open(context.Background(), store.Config{Path: filepath.Join(tmp, "umsync.db"), BusyTimeout: 5 * time.Second},
		zerolog.New(zerolog.NewTestWriter(t)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	set := testSettings(tmp)
	if change != nil {
		change(&set)
	}
	e := &env{t: t, st: st, reg: prometheus.NewRegistry(), tokens: map[string]string{}, set: set}
	for name, scopes := range map[string][]string{"read": {ScopeRead}, "auth": {ScopeAuth}, "admin": {ScopeAdmin},
		"all": {ScopeRead, ScopeAuth, ScopeAdmin}} {
		if e.tokens[name], err = NewToken(set.API.TokensFile, name, scopes); err != nil {
			t.Fatal(err)
		}
	}
	if e.srv, err = New(set, st, dir, actions, zerolog.New(zerolog.NewTestWriter(t)), e.reg); err != nil {
		t.Fatal(err)
	}
	e.http = httptest.NewServer(e.srv.Handler())
	t.Cleanup(e.http.Close)
	return e
}

// resp is an answer, its body decoded.
type resp struct {
	code int
	raw  []byte
	body map[string]any
}

// do calls the API with token (a name in e.tokens, "" for none, or a
// literal "secret:..." token); every answer is checked against the spec.
func (e *env) do(method, path, token string, body any) resp {
	e.t.Helper()
	if secret, ok := strings.CutPrefix(token, "secret:"); ok {
		token = secret
	} else if token != "" {
		token = e.tokens[token]
	}
	r := openapitest.Client{T: e.t, BaseURL: e.http.URL}.Do(method, path, token, body)
	return resp{code: r.Code, raw: r.Raw, body: r.Body}
}

var t0 = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

// seed imports users into the store.
func (e *env) seed(users ...ums.User) {
	e.t.Helper()
	if _, err := e.st.ImportUsers(context.Background(), users, false, false, "test", t0); err != nil {
		e.t.Fatal(err)
	}
}

func user(anchor, sam string) ums.User {
	return ums.User{Anchor: anchor, DN: "CN=" + sam + ",OU=T,DC=example,DC=test", SAMAccountName: sam,
		GivenName: "Jürgen", Surname: "Müller", DisplayName: "Jürgen " + sam, Mail: sam + "@example.test",
		Enabled: true, State: ums.StateActive, FirstSeen: t0, UpdatedAt: t0,
		Settings: ums.Settings{Voicemail: ums.VoicemailPhoneLogin}.Encode()}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
