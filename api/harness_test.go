package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/umsync/umsync/configs"
	"github.com/umsync/umsync/store"
	"github.com/umsync/umsync/ums"
)

// specValidator checks every response the tests get against
// configs/openapi.yaml: the spec and the code cannot drift apart.
var specValidator = sync.OnceValues(func() (validator.Validator, error) {
	doc, err := libopenapi.NewDocument(configs.OpenAPI)
	if err != nil {
		return nil, err
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		return nil, errs[0]
	}
	return v, nil
})

func TestOpenAPIDocumentIsValid(t *testing.T) {
	v, err := specValidator()
	if err != nil {
		t.Fatal(err)
	}
	if ok, errs := v.ValidateDocument(); !ok {
		for _, e := range errs {
			t.Errorf("openapi.yaml: %s: %s", e.Message, e.Reason)
		}
	}
}

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
		PINPolicy: ums.PINPolicy{Length: 6}, PasswordLength: 12, PasswordClass: []string{"lower", "upper", "digit"}}
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

// do calls the API with token (a name in e.tokens, or "" for none, or a
// literal "secret:..." token) and checks the response against the spec.
func (e *env) do(method, path, token string, body any) resp {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, e.http.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if secret, ok := strings.CutPrefix(token, "secret:"); ok {
		req.Header.Set("Authorization", "Bearer "+secret)
	} else if token != "" {
		req.Header.Set("Authorization", "Bearer "+e.tokens[token])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	validateResponse(e.t, req, res, raw)
	r := resp{code: res.StatusCode, raw: raw}
	if strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &r.body); err != nil {
			e.t.Fatalf("%s %s: answer is not a JSON object: %v: %s", method, path, err, raw)
		}
	}
	return r
}

// validateResponse checks one response against the OpenAPI document.
func validateResponse(t *testing.T, req *http.Request, res *http.Response, raw []byte) {
	t.Helper()
	v, err := specValidator()
	if err != nil {
		t.Fatal(err)
	}
	res.Body = io.NopCloser(bytes.NewReader(raw))
	vreq := req.Clone(context.Background())
	vreq.Body = http.NoBody
	if ok, errs := v.ValidateHttpResponse(vreq, res); !ok {
		for _, ve := range errs {
			t.Errorf("%s %s -> %d: not as openapi.yaml says: %s: %s %v\n%s", req.Method, req.URL.Path, res.StatusCode,
				ve.Message, ve.Reason, schemaErrors(ve.SchemaValidationErrors), raw)
		}
	}
}

func schemaErrors[T any](errs []T) []string {
	var out []string
	for _, e := range errs {
		data, _ := json.Marshal(e)
		out = append(out, string(data))
	}
	return out
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
