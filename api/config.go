package api

import (
	"crypto/tls"
	"fmt"
	"net"
	"time"
)

// Password checks (api.password_check).
const (
	// CheckStore: the password umsync mailed (bcrypt hash in the store).
	CheckStore = "store"
	// CheckDirectory: the user's AD password, by a bind as the user.
	CheckDirectory = "directory"
)

// Config is the `api:` section. An empty Listen means no API.
type Config struct {
	Listen      string `yaml:"listen"`
	TLSCertFile string `yaml:"tls_cert_file"`
	TLSKeyFile  string `yaml:"tls_key_file"`
	// TokensFile holds one token a line: NAME SCOPES SHA256-HEX.
	TokensFile string `yaml:"tokens_file"`
	// MaxPasswordFailures wrong passwords in a row lock a login (0: off).
	MaxPasswordFailures int    `yaml:"max_password_failures"`
	PasswordCheck       string `yaml:"password_check"` // store | directory
	// MaxBodyBytes is the largest request body; a larger one is a 400.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// RequestTimeout is how long one call may take.
	RequestTimeout time.Duration `yaml:"request_timeout"`
	// TokenRate is how many calls per second one token may make (burst:
	// twice as many); more get 429.
	TokenRate float64 `yaml:"token_rate"`
	// LoginRate is how many password or PIN checks per minute one login
	// may have; more get 429.
	LoginRate int `yaml:"login_rate"`
	// AuditRetention is how long the audit of API calls is kept (a mirror
	// polling every second writes 86,400 a day).
	AuditRetention time.Duration `yaml:"audit_retention"`
}

// DefaultConfig returns the defaults that apply before the YAML is decoded.
func DefaultConfig() Config {
	return Config{MaxPasswordFailures: 5, PasswordCheck: CheckStore, MaxBodyBytes: 64 << 10,
		RequestTimeout: 10 * time.Second, TokenRate: 50, LoginRate: 10, AuditRetention: 90 * 24 * time.Hour}
}

// Enabled says whether the API listens at all.
func (c *Config) Enabled() bool { return c.Listen != "" }

// TLS says whether the listener serves TLS (a certificate is set).
func (c *Config) TLS() bool { return c.TLSCertFile != "" }

// Validate returns every problem with its YAML path under prefix.
func (c *Config) Validate(prefix string) []error {
	var errs []error
	add := func(key, format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s.%s: %s", prefix, key, fmt.Sprintf(format, a...)))
	}
	switch c.PasswordCheck {
	case CheckStore, CheckDirectory:
	default:
		add("password_check", "must be store or directory, got %q", c.PasswordCheck)
	}
	if c.MaxPasswordFailures < 0 {
		add("max_password_failures", "must not be negative (0 is off), got %d", c.MaxPasswordFailures)
	}
	if c.MaxBodyBytes < 1024 {
		add("max_body_bytes", "want at least 1024, got %d", c.MaxBodyBytes)
	}
	if c.RequestTimeout <= 0 {
		add("request_timeout", "must be positive")
	}
	if c.TokenRate <= 0 {
		add("token_rate", "must be positive, got %v", c.TokenRate)
	}
	if c.LoginRate <= 0 {
		add("login_rate", "must be positive, got %d", c.LoginRate)
	}
	if c.AuditRetention < time.Hour {
		add("audit_retention", "want at least 1h, got %v", c.AuditRetention)
	}
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		add("tls_key_file", "tls_cert_file and tls_key_file go together")
	} else if c.TLS() {
		if _, err := tls.LoadX509KeyPair(c.TLSCertFile, c.TLSKeyFile); err != nil {
			add("tls_cert_file", "%v", err)
		}
	}
	if !c.Enabled() {
		return errs
	}
	host, _, err := net.SplitHostPort(c.Listen)
	switch {
	case err != nil:
		add("listen", "want host:port, got %q", c.Listen)
	case !Loopback(host) && !c.TLS():
		add("tls_cert_file", "required: api.listen %q is not a loopback address, and passwords and PINs must not cross the network in clear text", c.Listen)
	}
	if c.TokensFile == "" {
		add("tokens_file", "required when api.listen is set (make one with `umsync api token NAME --scopes read`)")
	}
	return errs
}

// Loopback says whether host (of a listen address) is only reachable from
// this machine: localhost or a loopback IP. An empty host is every
// interface.
func Loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
