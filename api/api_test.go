package api

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"golang.org/x/crypto/bcrypt"

	"github.com/umsync/umsync/internal/crashpoint"
	"github.com/umsync/umsync/mail"
	"github.com/umsync/umsync/store"
	"github.com/umsync/umsync/ums"
)

const (
	anchorA = "aaaaaaaa-0000-0000-0000-000000000001"
	anchorB = "bbbbbbbb-0000-0000-0000-000000000002"
	anchorC = "cccccccc-0000-0000-0000-000000000003"
)

// recordActions stands in for the CLI's actions where a test is about
// something else (the real ones: cmd/umsync's api tests).
type recordActions struct{}

func (recordActions) Run(_ context.Context, action, id, actor string) (string, error) {
	return action + " for " + id + " by " + actor, nil
}

func numbered() []ums.User {
	a := user(anchorA, "alice")
	a.Extension, a.Phone, a.Mobile = "2041", "+4989123456", "+49170111222"
	a.FaxNumbers, a.AliasNumbers = []string{"+4989123499"}, []string{"+4989123477"}
	b := user(anchorB, "bob")
	b.Extension, b.Phone = "2042", "+4930999000"
	c := user(anchorC, "carol")
	c.Extension, c.Phone = "2043", "+4930999000" // the same phone as bob's
	return []ums.User{a, b, c}
}

// The auth matrix: per route, no token and an unknown token are 401, a
// token without the route's scope is 403, one with it is not.
func TestAuthMatrix(t *testing.T) {
	e := newEnv(t, nil, nil, recordActions{})
	e.seed(numbered()...)
	routes := []struct {
		method, path, scope string
		body                any
	}{
		{"GET", "/api/v1/users", ScopeRead, nil},
		{"GET", "/api/v1/users/alice", ScopeRead, nil},
		{"GET", "/api/v1/lookup?number=2041", ScopeRead, nil},
		{"POST", "/api/v1/auth/password", ScopeAuth, map[string]string{"login": "alice", "password": "x"}},
		{"POST", "/api/v1/voicemail/verify-pin", ScopeAuth, map[string]string{"user": "2041", "pin": "x"}},
		{"PUT", "/api/v1/users/alice/pin", ScopeAuth, map[string]string{"old": "x", "new": "y"}},
		{"PUT", "/api/v1/users/alice/password", ScopeAuth, map[string]string{"old": "x", "new": "y"}},
		{"POST", "/api/v1/users/alice/actions/send-infomail", ScopeAdmin, nil},
	}
	for _, r := range routes {
		t.Run(r.method+" "+r.path, func(t *testing.T) {
			e.t = t
			if got := e.do(r.method, r.path, "", r.body); got.code != http.StatusUnauthorized || got.body["error"] == nil {
				t.Errorf("no token: %d %s, want 401 with an error", got.code, got.raw)
			}
			if got := e.do(r.method, r.path, "secret:umsync_not-a-token", r.body); got.code != http.StatusUnauthorized {
				t.Errorf("unknown token: %d %s, want 401", got.code, got.raw)
			}
			for _, name := range []string{"read", "auth", "admin"} {
				got := e.do(r.method, r.path, name, r.body)
				tokenRefused := got.code == 403 || (got.code == 401 && got.body["ok"] == nil)
				if name == r.scope && tokenRefused {
					t.Errorf("token %s: %d %s, want it let in", name, got.code, got.raw)
				}
				if name != r.scope && got.code != http.StatusForbidden {
					t.Errorf("token %s: %d %s, want 403", name, got.code, got.raw)
				}
			}
		})
	}
	e.t = t
	if got := testutil.ToFloat64(e.srv.m.authFailures.WithLabelValues(failToken)); got != float64(2*len(routes)) {
		t.Errorf("token failures counted: %v, want %d", got, 2*len(routes))
	}
	e.srv.FlushAudit()
	calls, err := e.st.APICalls(context.Background(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	actors := map[string]int{}
	for _, c := range calls {
		actors[c.Actor]++
	}
	if actors["api:read"] != len(routes) || actors["api:auth"] != len(routes) || actors["api:admin"] != len(routes) || len(actors) != 3 {
		t.Errorf("audited actors %v: want every call with a token, as the token's name (calls without one are counted, not stored)", actors)
	}
}

func TestUsersListAndShow(t *testing.T) {
	e := newEnv(t, nil, nil, nil)
	e.seed(numbered()...)
	got := e.do("GET", "/api/v1/users", "read", nil)
	if got.code != 200 || len(got.body["users"].([]any)) != 3 || got.body["cursor"] == "" {
		t.Fatalf("list: %d %s", got.code, got.raw)
	}
	first := got.body["users"].([]any)[0].(map[string]any)
	if first["sam_account_name"] != "alice" || first["voicemail"] != "phone_login" || first["effective_settings"] == nil {
		t.Errorf("first user: %v", first)
	}
	got = e.do("GET", "/api/v1/users?search=bo&limit=5&offset=0&state=active&license=none", "read", nil)
	if us := got.body["users"].([]any); got.code != 200 || len(us) != 1 || us[0].(map[string]any)["anchor"] != anchorB {
		t.Errorf("search: %d %s", got.code, got.raw)
	}
	for _, q := range []string{"state=gone", "license=x", "limit=-1", "offset=x", "since=abc", "since=1&search=x", "sort=name"} {
		if got := e.do("GET", "/api/v1/users?"+q, "read", nil); got.code != 400 || got.body["error"] == "" {
			t.Errorf("?%s: %d %s, want 400", q, got.code, got.raw)
		}
	}
	for _, id := range []string{"alice", anchorA, "2041", "ALICE"} {
		if got := e.do("GET", "/api/v1/users/"+id, "read", nil); got.code != 200 || got.body["anchor"] != anchorA {
			t.Errorf("user %s: %d %s", id, got.code, got.raw)
		}
	}
	if got := e.do("GET", "/api/v1/users/nobody", "read", nil); got.code != 404 {
		t.Errorf("unknown user: %d %s", got.code, got.raw)
	}
}

func TestLookupByNumber(t *testing.T) {
	e := newEnv(t, nil, nil, nil)
	e.seed(numbered()...)
	for _, c := range []struct{ number, field string }{
		{"2041", "extension"}, {"20-41", "extension"},
		{"089 123456", "phone"}, {"+49 89 123456", "phone"}, {"0049 89 1234-56", "phone"}, {"+49 (0)89 123456", "phone"},
		{"0170 111222", "mobile"}, {"+49170111222", "mobile"},
		{"089/123499", "fax_numbers"}, {"+49 89 123499", "fax_numbers"},
		{"089 123477", "alias_numbers"}, {"+4989123477", "alias_numbers"},
	} {
		got := e.do("GET", "/api/v1/lookup?number="+strings.ReplaceAll(strings.ReplaceAll(c.number, " ", "%20"), "+", "%2B"), "read", nil)
		if got.code != 200 || got.body["field"] != c.field || got.body["user"].(map[string]any)["anchor"] != anchorA {
			t.Errorf("lookup %q: %d %s, want alice's %s", c.number, got.code, got.raw, c.field)
		}
	}
	if got := e.do("GET", "/api/v1/lookup?number=030%20999000", "read", nil); got.code != 409 {
		t.Errorf("a number two users hold: %d %s, want 409", got.code, got.raw)
	}
	if got := e.do("GET", "/api/v1/lookup?number=0711%20555", "read", nil); got.code != 404 {
		t.Errorf("nobody's number: %d %s, want 404", got.code, got.raw)
	}
	for _, q := range []string{"", "?number=", "?number=abc"} {
		if got := e.do("GET", "/api/v1/lookup"+q, "read", nil); got.code != 400 {
			t.Errorf("lookup%s: %d %s, want 400", q, got.code, got.raw)
		}
	}
	// A deactivated user's number is nobody's.
	us := numbered()
	us[0].State, us[0].Enabled = ums.StateDeactivated, false
	e.seed(us[0])
	if got := e.do("GET", "/api/v1/lookup?number=2041", "read", nil); got.code != 404 {
		t.Errorf("a deactivated user's extension: %d %s, want 404", got.code, got.raw)
	}
}

func TestMalformedBodies(t *testing.T) {
	e := newEnv(t, nil, nil, nil)
	e.seed(numbered()...)
	huge := fmt.Sprintf(`{"login": "alice", "password": "%s"}`, strings.Repeat("x", int(e.set.API.MaxBodyBytes)))
	for name, body := range map[string]string{
		"not JSON":      `{"login": "alice", "password": `,
		"empty":         ``,
		"unknown field": `{"login": "alice", "password": "x", "admin": true}`,
		"wrong type":    `{"login": 7, "password": "x"}`,
		"two objects":   `{"login": "alice", "password": "x"} {}`,
		"huge":          huge,
		"missing":       `{"login": "alice"}`,
	} {
		for _, path := range []string{"/api/v1/auth/password", "/api/v1/voicemail/verify-pin"} {
			got := e.do("POST", path, "auth", body)
			if got.code != 400 || got.body["error"] == nil {
				t.Errorf("%s to %s: %d %s, want 400", name, path, got.code, got.raw)
			}
			if strings.Contains(string(got.raw), "xxxxxxxx") {
				t.Errorf("%s: the answer echoes the body", name)
			}
		}
	}
}

// setSecret stores a secret's hash as the mail worker would have, at the
// API's bcrypt cost.
func (e *env) setSecret(anchor string, kind ums.MailKind, secret string) {
	e.t.Helper()
	e.setSecretAt(anchor, kind, secret, e.set.BcryptCost)
}

// setSecretAt stores a secret's hash made at cost.
func (e *env) setSecretAt(anchor string, kind ums.MailKind, secret string, cost int) {
	e.t.Helper()
	h, err := mail.Hash(secret, cost)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.st.SetSecret(context.Background(), anchor, "test", store.Secret{Kind: kind, Hash: h}, t0); err != nil {
		e.t.Fatal(err)
	}
}

func TestPasswordStoreLocks(t *testing.T) {
	e := newEnv(t, func(s *Settings) { s.API.MaxPasswordFailures = 3; s.API.LoginRate = 100 }, nil, nil)
	e.seed(numbered()...)
	e.setSecret(anchorA, ums.MailPassword, "Right-Pass-2026")
	ok := e.do("POST", "/api/v1/auth/password", "auth", map[string]string{"login": "alice@example.test", "password": "Right-Pass-2026"})
	if ok.code != 200 || ok.body["ok"] != true || ok.body["user"].(map[string]any)["sam_account_name"] != "alice" {
		t.Fatalf("right password: %d %s", ok.code, ok.raw)
	}
	unknown := e.do("POST", "/api/v1/auth/password", "auth", map[string]string{"login": "nobody", "password": "x"})
	wrong := e.do("POST", "/api/v1/auth/password", "auth", map[string]string{"login": "alice", "password": "wrong"})
	if unknown.code != 401 || wrong.code != 401 || string(unknown.raw) != string(wrong.raw) {
		t.Errorf("unknown login %d %s and wrong password %d %s must answer the same 401", unknown.code, unknown.raw, wrong.code, wrong.raw)
	}
	for i := 0; i < 2; i++ {
		e.do("POST", "/api/v1/auth/password", "auth", map[string]string{"login": "alice", "password": "wrong"})
	}
	locked := e.do("POST", "/api/v1/auth/password", "auth", map[string]string{"login": "alice", "password": "Right-Pass-2026"})
	if locked.code != 423 || locked.body["locked"] != true {
		t.Errorf("after 3 wrong passwords the right one: %d %s, want 423", locked.code, locked.raw)
	}
	// A new password (as `users reset-password` mails one) lifts the lock.
	e.setSecret(anchorA, ums.MailPassword, "New-Pass-2027x")
	if got := e.do("POST", "/api/v1/auth/password", "auth", map[string]string{"login": "alice", "password": "New-Pass-2027x"}); got.code != 200 {
		t.Errorf("the new password: %d %s", got.code, got.raw)
	}
	if got := testutil.ToFloat64(e.srv.m.authFailures.WithLabelValues(failPassword)); got != 5 {
		t.Errorf("password failures counted: %v, want 5", got)
	}
	// Changing it: the old one must be right, the new one must fit the policy.
	for _, c := range []struct {
		old, new string
		code     int
	}{
		{"wrong", "Another-Pass-1", 401},
		{"New-Pass-2027x", "short", 422},
		{"New-Pass-2027x", "alllowercase-and-long", 422},
		{"New-Pass-2027x", "Another-Pass-1", 200},
	} {
		got := e.do("PUT", "/api/v1/users/alice/password", "auth", map[string]string{"old": c.old, "new": c.new})
		if got.code != c.code {
			t.Errorf("change %q -> %q: %d %s, want %d", c.old, c.new, got.code, got.raw, c.code)
		}
	}
	if got := e.do("POST", "/api/v1/auth/password", "auth", map[string]string{"login": "alice", "password": "Another-Pass-1"}); got.code != 200 {
		t.Errorf("the changed password: %d %s", got.code, got.raw)
	}
}

func TestPINVerifyLocksAndChanges(t *testing.T) {
	e := newEnv(t, nil, nil, nil)
	e.seed(numbered()...)
	e.setSecret(anchorA, ums.MailPIN, "482916")
	if got := e.do("POST", "/api/v1/voicemail/verify-pin", "auth", map[string]string{"user": "2041", "pin": "482916"}); got.code != 200 || got.body["ok"] != true {
		t.Fatalf("right PIN: %d %s", got.code, got.raw)
	}
	got := e.do("POST", "/api/v1/voicemail/verify-pin", "auth", map[string]string{"user": "2041", "pin": "000000"})
	if got.code != 401 || got.body["remaining"] != float64(2) {
		t.Errorf("wrong PIN: %d %s, want 401 with 2 remaining", got.code, got.raw)
	}
	if got := e.do("PUT", "/api/v1/users/alice/pin", "auth", map[string]string{"old": "482916", "new": "123456"}); got.code != 422 {
		t.Errorf("a run of digits as the new PIN: %d %s, want 422", got.code, got.raw)
	}
	if got := e.do("PUT", "/api/v1/users/alice/pin", "auth", map[string]string{"old": "482916", "new": "739164"}); got.code != 200 {
		t.Errorf("change PIN: %d %s", got.code, got.raw)
	}
	for i := 0; i < 2; i++ {
		e.do("POST", "/api/v1/voicemail/verify-pin", "auth", map[string]string{"user": "alice", "pin": "482916"})
	}
	got = e.do("POST", "/api/v1/voicemail/verify-pin", "auth", map[string]string{"user": "alice", "pin": "000000"})
	if got.code != 423 || got.body["locked"] != true {
		t.Errorf("third wrong PIN in a row: %d %s, want 423", got.code, got.raw)
	}
	u, err := e.st.User(context.Background(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := ums.ParseSettings(u.Settings); !s.VoicemailLocked {
		t.Errorf("settings %q: want the lock", u.Settings)
	}
	if got := e.do("POST", "/api/v1/voicemail/verify-pin", "auth", map[string]string{"user": "alice", "pin": "739164"}); got.code != 423 {
		t.Errorf("right PIN on a locked box: %d %s, want 423", got.code, got.raw)
	}
	if err := e.st.UnlockVoicemail(context.Background(), anchorA, "admin", false, true, t0); err != nil {
		t.Fatal(err)
	}
	if got := e.do("POST", "/api/v1/voicemail/verify-pin", "auth", map[string]string{"user": "alice", "pin": "739164"}); got.code != 200 {
		t.Errorf("after unlock: %d %s", got.code, got.raw)
	}
}

// TestSecretHashCost: a PIN or password a user sets is hashed at the
// configured cost (mail.bcrypt_cost), and one stored at another cost (an
// older config's) still verifies.
func TestSecretHashCost(t *testing.T) {
	const cost = bcrypt.MinCost + 1
	e := newEnv(t, func(s *Settings) { s.BcryptCost = cost }, nil, nil)
	e.seed(numbered()...)
	e.setSecretAt(anchorA, ums.MailPIN, "482916", bcrypt.MinCost)
	e.setSecretAt(anchorA, ums.MailPassword, "Right-Pass-2026", bcrypt.MinCost+2)
	if got := e.do("POST", "/api/v1/voicemail/verify-pin", "auth", map[string]string{"user": "alice", "pin": "482916"}); got.code != 200 {
		t.Errorf("PIN hashed at cost %d: %d %s", bcrypt.MinCost, got.code, got.raw)
	}
	if got := e.do("POST", "/api/v1/auth/password", "auth", map[string]string{"login": "alice", "password": "Right-Pass-2026"}); got.code != 200 {
		t.Errorf("password hashed at cost %d: %d %s", bcrypt.MinCost+2, got.code, got.raw)
	}
	if got := e.do("PUT", "/api/v1/users/alice/pin", "auth", map[string]string{"old": "482916", "new": "739164"}); got.code != 200 {
		t.Fatalf("change PIN: %d %s", got.code, got.raw)
	}
	if got := e.do("PUT", "/api/v1/users/alice/password", "auth", map[string]string{"old": "Right-Pass-2026", "new": "Another-Pass-1"}); got.code != 200 {
		t.Fatalf("change password: %d %s", got.code, got.raw)
	}
	for kind, secret := range map[ums.MailKind]string{ums.MailPIN: "739164", ums.MailPassword: "Another-Pass-1"} {
		h, err := e.st.SecretHash(context.Background(), anchorA, kind)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := bcrypt.Cost([]byte(h)); err != nil || got != cost {
			t.Errorf("%s set through the API: hash cost %d (%v), want %d", kind, got, err, cost)
		}
		if !mail.Verify(h, secret) {
			t.Errorf("%s set through the API: the stored hash does not verify it", kind)
		}
	}
	if got := e.do("POST", "/api/v1/voicemail/verify-pin", "auth", map[string]string{"user": "alice", "pin": "739164"}); got.code != 200 {
		t.Errorf("the new PIN: %d %s", got.code, got.raw)
	}
}

func TestTokenRateLimit(t *testing.T) {
	e := newEnv(t, func(s *Settings) { s.API.TokenRate = 1 }, nil, nil)
	e.seed(numbered()...)
	codes := map[int]int{}
	for i := 0; i < 6; i++ {
		codes[e.do("GET", "/api/v1/users/alice", "read", nil).code]++
	}
	if codes[429] == 0 || codes[200] == 0 {
		t.Errorf("6 calls at 1/s: %v, want some 200 then 429", codes)
	}
	// Another token has its own budget.
	if got := e.do("GET", "/api/v1/users/alice", "all", nil); got.code != 200 {
		t.Errorf("another token: %d", got.code)
	}
}

func TestLoginRateLimit(t *testing.T) {
	e := newEnv(t, func(s *Settings) { s.API.LoginRate = 3; s.API.MaxPasswordFailures = 0 }, nil, nil)
	e.seed(numbered()...)
	codes := map[int]int{}
	for i := 0; i < 5; i++ {
		codes[e.do("POST", "/api/v1/auth/password", "auth", map[string]string{"login": "bob", "password": "x"}).code]++
	}
	if codes[401] != 3 || codes[429] != 2 {
		t.Errorf("5 checks of one login at 3/min: %v, want 3×401, 2×429", codes)
	}
	if got := e.do("POST", "/api/v1/auth/password", "auth", map[string]string{"login": "bob@example.test", "password": "x"}); got.code != 429 {
		t.Errorf("the same user by its mail: %d, want 429 (the limit is per user)", got.code)
	}
	if got := e.do("POST", "/api/v1/auth/password", "auth", map[string]string{"login": "carol", "password": "x"}); got.code != 401 {
		t.Errorf("another login: %d", got.code)
	}
}

func TestMetricsPrecreatedAndLint(t *testing.T) {
	e := newEnv(t, nil, nil, nil)
	problems, err := testutil.GatherAndLint(e.reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
	if n := testutil.CollectAndCount(e.srv.m.authFailures); n != 3 {
		t.Errorf("auth failure series: %d, want 3 (password, pin, token) from the start", n)
	}
	got := e.do("GET", "/api/v1/openapi.yaml", "", nil)
	if got.code != 200 || !strings.HasPrefix(string(got.raw), "openapi: 3.1") {
		t.Errorf("openapi.yaml: %d", got.code)
	}
}

// The tokens file is read again when it changes: a new line lets its
// token in, a deleted line locks it out, without a restart.
func TestTokensFileReread(t *testing.T) {
	e := newEnv(t, nil, nil, nil)
	e.seed(numbered()...)
	tok, err := NewToken(e.set.API.TokensFile, "late", []string{ScopeRead})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // the file is looked at once a second at most
	if got := e.do("GET", "/api/v1/users/alice", "secret:"+tok, nil); got.code != 200 {
		t.Errorf("a token added while running: %d %s", got.code, got.raw)
	}
	data, err := os.ReadFile(e.set.API.TokensFile)
	if err != nil {
		t.Fatal(err)
	}
	var kept []string
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if !strings.HasPrefix(line, "late ") {
			kept = append(kept, line)
		}
	}
	writeFile(t, e.set.API.TokensFile, strings.Join(kept, "\n")+"\n")
	time.Sleep(1100 * time.Millisecond)
	if got := e.do("GET", "/api/v1/users/alice", "secret:"+tok, nil); got.code != 401 {
		t.Errorf("a revoked token: %d, want 401", got.code)
	}
	if got := e.do("GET", "/api/v1/users/alice", "read", nil); got.code != 200 {
		t.Errorf("a kept token: %d", got.code)
	}
	if strings.Contains(string(data), tok) {
		t.Error("the tokens file holds a token, not its hash")
	}
	// A tokens file rewritten readable by others (a tool under umask
	// 022) is refused, on the path a running server takes (the file
	// changed): no token passes any more, not even a kept one, until the
	// file is private again. Keeping the old tokens would keep a revoked one.
	if err := os.Chmod(e.set.API.TokensFile, 0o644); err != nil {
		t.Fatal(err)
	}
	writeFile(t, e.set.API.TokensFile, strings.Join(kept, "\n")+"\n\n")
	time.Sleep(1100 * time.Millisecond)
	if got := e.do("GET", "/api/v1/users/alice", "read", nil); got.code != 401 {
		t.Errorf("a kept token with the tokens file 0644: %d, want 401 (fail closed)", got.code)
	}
	if err := e.srv.Tokens().Reload(); err == nil || !strings.Contains(err.Error(), "0600") {
		t.Errorf("reload of a 0644 tokens file: %v", err)
	}
	if err := os.Chmod(e.set.API.TokensFile, 0o600); err != nil {
		t.Fatal(err)
	}
	writeFile(t, e.set.API.TokensFile, strings.Join(kept, "\n")+"\n")
	time.Sleep(1100 * time.Millisecond)
	if got := e.do("GET", "/api/v1/users/alice", "read", nil); got.code != 200 {
		t.Errorf("a kept token once the file is 0600 again: %d", got.code)
	}
}

// TestLoginLimitersBounded: when the table of per-login limiters is full,
// idle ones (full again) are forgotten, a login still being guessed keeps
// its count, and with no room a new login is refused rather than the
// table cleared (which handed a guesser fresh tries). A reload keeps the
// counts too.
func TestLoginLimitersBounded(t *testing.T) {
	defer func(n int) { maxLimiters = n }(maxLimiters)
	maxLimiters = 3
	e := newEnv(t, func(s *Settings) { s.API.LoginRate = 2; s.API.MaxPasswordFailures = 0 }, nil, nil)
	e.seed(numbered()...)
	check := func(login string) int {
		return e.do("POST", "/api/v1/auth/password", "auth", map[string]string{"login": login, "password": "x"}).code
	}
	check("bob")
	check("bob") // bob's budget (2 a minute) is used up
	if got := check("bob"); got != 429 {
		t.Fatalf("bob's third check: %d, want 429", got)
	}
	if err := e.srv.Update(e.set); err != nil { // a reload
		t.Fatal(err)
	}
	if got := check("bob"); got != 429 {
		t.Errorf("bob after a reload: %d, want 429 (a reload must not reset the count)", got)
	}
	check("nobody1")
	check("nobody2") // the table is full: bob, nobody1, nobody2 (all still in use)
	if got := check("nobody3"); got != 429 {
		t.Errorf("a new login with the table full of busy limiters: %d, want 429", got)
	}
	if got := check("bob"); got != 429 {
		t.Errorf("bob with the table full: %d, want 429 (his count was forgotten)", got)
	}
}

// An unknown login takes as long as a wrong password, so timing does not
// tell which logins exist: each answer, whatever the login, costs one
// bcrypt check at the configured cost (a dummy hash when there is nothing
// to check against). Counted at the crash point "api.verify", not timed: a
// timed comparison failed on a loaded machine (3.0 s against 10.8 s).
// Not parallel: the crash-point hooks are the process's.
func TestUnknownLoginTakesAsLong(t *testing.T) {
	e := newEnv(t, func(s *Settings) {
		s.API.LoginRate = 100
		s.API.MaxPasswordFailures = 0
		s.BcryptCost = bcrypt.DefaultCost
	}, nil, nil)
	e.seed(numbered()...)
	e.setSecret(anchorA, ums.MailPassword, "Right-Pass-2026")
	e.setSecret(anchorB, ums.MailPassword, "Right-Pass-2026")
	var checks atomic.Int64
	remove := crashpoint.OnHit("api.verify", func() { checks.Add(1) })
	defer remove()
	for _, c := range []struct{ name, login string }{
		{"wrong password", "alice"}, {"unknown login", "nobody"}, {"login without a password", "carol"},
	} {
		checks.Store(0)
		for range 3 {
			if got := e.do("POST", "/api/v1/auth/password", "auth", map[string]string{"login": c.login, "password": "wrong"}); got.code != 401 {
				t.Fatalf("%s: %d %s, want 401", c.name, got.code, got.raw)
			}
		}
		if n := checks.Load(); n != 3 {
			t.Errorf("%s: %d bcrypt checks for 3 answers, want 3", c.name, n)
		}
	}
	e.srv.dummy.mu.Lock()
	defer e.srv.dummy.mu.Unlock()
	if cost, err := bcrypt.Cost([]byte(e.srv.dummy.hash)); err != nil || cost != bcrypt.DefaultCost {
		t.Errorf("the dummy hash has cost %d (%v), want the configured %d", cost, err, bcrypt.DefaultCost)
	}
}

// TestRequestTimeout: a call that takes longer than api.request_timeout
// ends with a 500 that says so (a documented answer), not a hang, and the
// store is not touched with the expired context.
func TestRequestTimeout(t *testing.T) {
	e := newEnv(t, func(s *Settings) { s.API.RequestTimeout = 20 * time.Millisecond }, nil, nil)
	e.seed(numbered()...)
	remove := crashpoint.OnHit("api.call", func() { time.Sleep(100 * time.Millisecond) }) // past the deadline
	defer remove()
	got := e.do("GET", "/api/v1/users/alice", "read", nil)
	if got.code != 500 || got.body["error"] != "the call took too long" {
		t.Fatalf("slow call: %d %s, want 500 'the call took too long'", got.code, got.raw)
	}
	remove()
	if got := e.do("GET", "/api/v1/users/alice", "read", nil); got.code != 200 {
		t.Errorf("next call: %d %s", got.code, got.raw)
	}
}
