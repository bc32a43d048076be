package api

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

// Scopes a token may hold.
const (
	ScopeRead  = "read"  // users, lookup
	ScopeAuth  = "auth"  // password and PIN checks and changes
	ScopeAdmin = "admin" // the admin actions
)

var allScopes = []string{ScopeRead, ScopeAuth, ScopeAdmin}

var tokenNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// Token is one line of the tokens file: a name, its scopes and the
// SHA-256 of the token.
type Token struct {
	Name   string
	Scopes []string
	hash   [sha256.Size]byte
}

// Has says whether the token holds scope.
func (t Token) Has(scope string) bool { return slices.Contains(t.Scopes, scope) }

// ParseScopes checks a comma-separated list of scopes.
func ParseScopes(s string) ([]string, error) {
	var out []string
	for _, x := range strings.Split(s, ",") {
		x = strings.TrimSpace(x)
		if !slices.Contains(allScopes, x) {
			return nil, fmt.Errorf("unknown scope %q (want some of %s)", x, strings.Join(allScopes, ","))
		}
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out, nil
}

// parseTokens reads a tokens file's content: NAME SCOPES SHA256-HEX per
// line; blank lines and lines starting with # are skipped.
func parseTokens(data []byte) ([]Token, error) {
	var out []Token
	var errs []error
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 3 {
			errs = append(errs, fmt.Errorf("line %d: want NAME SCOPES SHA256-HEX", n))
			continue
		}
		t := Token{Name: f[0]}
		var err error
		if t.Scopes, err = ParseScopes(f[1]); err != nil {
			errs = append(errs, fmt.Errorf("line %d: %w", n, err))
			continue
		}
		h, err := hex.DecodeString(f[2])
		if err != nil || len(h) != sha256.Size {
			errs = append(errs, fmt.Errorf("line %d: the hash must be 64 hex digits", n))
			continue
		}
		copy(t.hash[:], h)
		out = append(out, t)
	}
	return out, errors.Join(errs...)
}

// Tokens are the tokens of a tokens file, read again when the file
// changes (checked at most once a second) or on Reload.
type Tokens struct {
	path string

	mu      sync.Mutex
	tokens  []Token
	mod     time.Time
	size    int64
	checked time.Time
	err     error // the last read's problem, nil if it was fine
	// report, if set, hears of a re-read that failed (once per new
	// problem): the server logs it.
	report func(error)
}

// LoadTokens reads the tokens file at path. A missing file is no tokens.
func LoadTokens(path string) (*Tokens, error) {
	t := &Tokens{path: path}
	return t, t.Reload()
}

// Reload reads the file again. A file that cannot be read, or that others
// may read, leaves no token at all (every call is refused until it is
// fixed): keeping the tokens read before would keep a token an admin just
// revoked. Of a file that reads, the lines that parse are taken.
func (t *Tokens) Reload() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.reloadLocked()
}

func (t *Tokens) reloadLocked() error {
	t.checked = time.Now()
	st, err := os.Stat(t.path)
	if errors.Is(err, os.ErrNotExist) {
		t.tokens, t.mod, t.size, t.err = nil, time.Time{}, 0, nil
		return nil
	}
	if err != nil {
		return t.failLocked(fmt.Errorf("api tokens %s: %w", t.path, err))
	}
	if st.Mode().Perm()&0o077 != 0 {
		return t.failLocked(fmt.Errorf("api tokens %s: mode %v: must not be readable by others (chmod 0600)", t.path, st.Mode().Perm()))
	}
	data, err := os.ReadFile(t.path)
	if err != nil {
		return t.failLocked(fmt.Errorf("api tokens %s: %w", t.path, err))
	}
	toks, perr := parseTokens(data)
	t.tokens, t.mod, t.size = toks, st.ModTime(), st.Size()
	t.err = nil
	if perr != nil {
		t.err = fmt.Errorf("api tokens %s: %w", t.path, perr)
	}
	return t.err
}

// failLocked drops every token (fail closed) and reports err if it is new.
func (t *Tokens) failLocked(err error) error {
	if t.report != nil && (t.err == nil || t.err.Error() != err.Error()) {
		t.report(err)
	}
	t.tokens, t.mod, t.size, t.err = nil, time.Time{}, 0, err
	return err
}

// maybeReload re-reads the file when its time or size changed.
func (t *Tokens) maybeReload() {
	if time.Since(t.checked) < time.Second {
		return
	}
	t.checked = time.Now()
	st, err := os.Stat(t.path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if t.tokens != nil {
			t.reloadLocked()
		}
	case err == nil && (!st.ModTime().Equal(t.mod) || st.Size() != t.size):
		t.reloadLocked()
	}
}

// Check finds the token whose hash matches secret, comparing with every
// line in constant time.
func (t *Tokens) Check(secret string) (Token, bool) {
	t.mu.Lock()
	t.maybeReload()
	toks := t.tokens
	t.mu.Unlock()
	sum := sha256.Sum256([]byte(secret))
	var found Token
	ok := 0
	for _, tok := range toks {
		if subtle.ConstantTimeCompare(sum[:], tok.hash[:]) == 1 {
			found, ok = tok, 1
		}
	}
	return found, ok == 1
}

// Count is how many tokens are loaded.
func (t *Tokens) Count() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.tokens)
}

// NewToken makes a random token for name with scopes, appends its hash
// line to the tokens file at path (created 0600) and returns the token:
// the only time it is ever shown.
func NewToken(path, name string, scopes []string) (string, error) {
	if !tokenNameRE.MatchString(name) {
		return "", fmt.Errorf("token name %q: want letters, digits, '.', '_' or '-' (at most 64)", name)
	}
	if len(scopes) == 0 {
		return "", errors.New("a token needs at least one scope")
	}
	existing, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("api tokens %s: %w", path, err)
	}
	toks, _ := parseTokens(existing)
	for _, t := range toks {
		if t.Name == name {
			return "", fmt.Errorf("api tokens %s: a token named %q exists (delete its line to replace it)", path, name)
		}
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	secret := "umsync_" + base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(secret))
	line := fmt.Sprintf("%s %s %s\n", name, strings.Join(scopes, ","), hex.EncodeToString(sum[:]))
	if len(existing) > 0 && !bytes.HasSuffix(existing, []byte("\n")) {
		line = "\n" + line
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return "", fmt.Errorf("api tokens: %w", err)
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return "", fmt.Errorf("api tokens: %w", err)
	}
	if _, err := f.WriteString(line); err != nil {
		f.Close()
		return "", fmt.Errorf("api tokens: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("api tokens: %w", err)
	}
	return secret, nil
}
