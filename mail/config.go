package mail

import (
	"fmt"
	"net"
	"net/mail"
	"os"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Config is the `mail:` section. Without a transport no mail is queued.
type Config struct {
	// Transport is smtp, file (one .eml per mail in File.Dir) or "" (off).
	Transport string   `yaml:"transport"`
	From      string   `yaml:"from"`
	AdminTo   []string `yaml:"admin_to"`
	SMTP      SMTP     `yaml:"smtp"`
	File      struct {
		Dir string `yaml:"dir"`
	} `yaml:"file"`
	// Templates is a folder whose <lang>/<kind>.tmpl files replace the
	// built-in ones (see configs/mail).
	Templates string `yaml:"templates"`
	// Language of users whose settings name none: de or en.
	Language string `yaml:"language"`
	// PortalURL is the UMS web portal, named in the info and password mails.
	PortalURL string `yaml:"portal_url"`
	// PasswordOnActivation sends a new user a password mail with the info mail.
	PasswordOnActivation bool `yaml:"password_on_activation"`
	// Password is the policy of generated passwords.
	Password PasswordPolicy `yaml:"password"`
	// BcryptCost is bcrypt's cost of the password and PIN hashes umsync
	// stores: of the secrets it mails and of those users set through the
	// API (so it applies with or without a transport). Each step up
	// doubles the time to make or check a hash, for umsync and for whoever
	// guesses at a stolen one. Hashes stored at another cost still verify
	// (the cost is in the hash); a new cost applies to the secrets stored
	// from then on.
	BcryptCost int `yaml:"bcrypt_cost"`
	// RetryMax caps the backoff between tries of a mail (2 s, 4 s, 8 s …).
	RetryMax time.Duration `yaml:"retry_max"`
	// RejectAttempts is how many permanent (5xx) answers fail a mail.
	RejectAttempts int `yaml:"reject_attempts"`
}

// SMTP is the `mail.smtp:` section.
type SMTP struct {
	Host string `yaml:"host"`
	Port int    `yaml:"port"`
	// TLS is starttls (required), implicit (TLS from the first byte) or none.
	TLS          string `yaml:"tls"`
	Username     string `yaml:"username"`
	PasswordFile string `yaml:"password_file"`
	PasswordEnv  string `yaml:"password_env"`
	// CAFile verifies the server's certificate (default: the system's CAs).
	CAFile             string        `yaml:"ca_file"`
	InsecureSkipVerify bool          `yaml:"insecure_skip_verify"`
	Timeout            time.Duration `yaml:"timeout"`
}

// Transports.
const (
	TransportSMTP = "smtp"
	TransportFile = "file"
)

// DefaultConfig returns the defaults that apply before the YAML is decoded.
func DefaultConfig() Config {
	return Config{Language: "en", PasswordOnActivation: true, RetryMax: 5 * time.Minute, RejectAttempts: 3,
		BcryptCost: bcrypt.DefaultCost,
		SMTP:       SMTP{Port: 587, TLS: "starttls", Timeout: 10 * time.Second},
		Password:   PasswordPolicy{Length: 14, Classes: []string{"lower", "upper", "digit", "symbol"}}}
}

// Enabled says whether mails are queued and sent.
func (c *Config) Enabled() bool { return c.Transport != "" }

// Validate returns every problem with its YAML path under prefix.
func (c *Config) Validate(prefix string) []error {
	var errs []error
	add := func(key, format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s.%s: %s", prefix, key, fmt.Sprintf(format, a...)))
	}
	if c.BcryptCost < bcrypt.MinCost || c.BcryptCost > bcrypt.MaxCost {
		add("bcrypt_cost", "want %d to %d, got %d", bcrypt.MinCost, bcrypt.MaxCost, c.BcryptCost)
	}
	switch c.Transport {
	case "":
		return errs
	case TransportSMTP:
		s := c.SMTP
		if s.Host == "" {
			add("smtp.host", "required with transport smtp")
		}
		if s.Port < 1 || s.Port > 65535 {
			add("smtp.port", "want 1-65535, got %d", s.Port)
		}
		switch s.TLS {
		case "starttls", "implicit":
		case "none":
			if s.Username != "" && !loopback(s.Host) {
				add("smtp.tls", "none would send the SMTP password in clear to %s: use starttls or implicit", s.Host)
			}
		default:
			add("smtp.tls", "must be starttls, implicit or none, got %q", s.TLS)
		}
		if s.Username != "" && s.PasswordFile == "" && s.PasswordEnv == "" {
			add("smtp.password_file", "required with a username (or password_env)")
		}
		if s.PasswordFile != "" && s.PasswordEnv != "" {
			add("smtp.password_env", "set password_file or password_env, not both")
		}
		if s.PasswordFile != "" {
			if _, err := os.Stat(s.PasswordFile); err != nil {
				add("smtp.password_file", "%v", err)
			}
		}
		if s.PasswordEnv != "" && os.Getenv(s.PasswordEnv) == "" {
			add("smtp.password_env", "variable %s is empty or not set", s.PasswordEnv)
		}
		if s.CAFile != "" {
			if _, err := os.Stat(s.CAFile); err != nil {
				add("smtp.ca_file", "%v", err)
			}
		}
		if s.Timeout <= 0 {
			add("smtp.timeout", "must be positive")
		}
	case TransportFile:
		if c.File.Dir == "" {
			add("file.dir", "required with transport file")
		}
	default:
		add("transport", "must be smtp or file (or left out: no mails), got %q", c.Transport)
	}
	if _, err := mail.ParseAddress(c.From); err != nil {
		add("from", "want an address like \"UMS <ums@example.com>\": %v", err)
	}
	for i, a := range c.AdminTo {
		if _, err := mail.ParseAddress(a); err != nil {
			add(fmt.Sprintf("admin_to[%d]", i), "%v", err)
		}
	}
	if c.Language != "de" && c.Language != "en" {
		add("language", "must be de or en, got %q", c.Language)
	}
	if err := c.Password.Validate(); err != nil {
		add("password", "%v", err)
	}
	if c.RetryMax < time.Second {
		add("retry_max", "must be at least 1s")
	}
	if c.RejectAttempts < 1 {
		add("reject_attempts", "must be at least 1")
	}
	return errs
}

// Warnings returns what is valid but weak, each with its YAML path under
// prefix: a bcrypt_cost below bcrypt's default.
func (c *Config) Warnings(prefix string) []string {
	var w []string
	if c.BcryptCost >= bcrypt.MinCost && c.BcryptCost < bcrypt.DefaultCost {
		w = append(w, fmt.Sprintf("%s.bcrypt_cost: %d is below bcrypt's default %d: a stolen store's password and PIN hashes are %d times cheaper to guess",
			prefix, c.BcryptCost, bcrypt.DefaultCost, 1<<(bcrypt.DefaultCost-c.BcryptCost)))
	}
	return w
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// smtpPassword reads the SMTP password from its file or variable.
func (s SMTP) password() (string, error) {
	if s.PasswordFile != "" {
		b, err := os.ReadFile(s.PasswordFile)
		if err != nil {
			return "", fmt.Errorf("read mail.smtp.password_file: %w", err)
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	}
	if s.PasswordEnv != "" {
		return os.Getenv(s.PasswordEnv), nil
	}
	return "", nil
}

var passwordClasses = []string{"lower", "upper", "digit", "symbol"}

// PasswordPolicy is what a generated password is made of.
type PasswordPolicy struct {
	Length int `yaml:"length"`
	// Classes must each appear at least once: lower, upper, digit, symbol.
	Classes []string `yaml:"classes"`
}

// Validate checks the policy.
func (p PasswordPolicy) Validate() error {
	if len(p.Classes) == 0 {
		return fmt.Errorf("classes: want some of %s", strings.Join(passwordClasses, ", "))
	}
	for _, c := range p.Classes {
		if !slices.Contains(passwordClasses, c) {
			return fmt.Errorf("classes: unknown class %q (want %s)", c, strings.Join(passwordClasses, ", "))
		}
	}
	if p.Length < 10 || p.Length > 64 {
		return fmt.Errorf("length: want 10 to 64, got %d", p.Length)
	}
	return nil
}
