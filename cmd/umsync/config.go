package main

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"time"

	yaml "go.yaml.in/yaml/v3"

	"github.com/umsync/umsync/api"
	"github.com/umsync/umsync/configs"
	"github.com/umsync/umsync/directory"
	"github.com/umsync/umsync/mail"
	"github.com/umsync/umsync/store"
	"github.com/umsync/umsync/sync/engine"
	"github.com/umsync/umsync/ums"
)

// Config is the whole umsync config file. Each section's type and its
// Validate belong to the package that uses it; the UMS sections (license,
// extensions, validation, profiles, voicemail) to package ums.
type Config struct {
	Directory directory.Config `yaml:"directory"`
	Store     store.Config     `yaml:"store"`
	Sync      engine.Config    `yaml:"sync"`
	// UMS are the top-level sections license:, extensions:, validation:,
	// profiles: and voicemail:, as written.
	UMS       ums.Config      `yaml:",inline"`
	Mail      mail.Config     `yaml:"mail"`
	API       api.Config      `yaml:"api"`
	Telemetry TelemetryConfig `yaml:"telemetry"`
	Log       LogConfig       `yaml:"log"`

	// rules and templates are what loadConfig parsed, once: the UMS rules
	// (ranges, limits, profiles in priority order, PIN policy) and the mail
	// templates, shared by the engine, the CLI, the API and the mail worker.
	rules     ums.Rules       `yaml:"-"`
	templates *mail.Templates `yaml:"-"`
}

// TelemetryConfig is the `telemetry:` section: the HTTP listener for
// /metrics, /healthz and /readyz.
type TelemetryConfig struct {
	Listen string `yaml:"listen"`
	// ReadyMaxAge: /readyz is unready when the last successful sync ended
	// longer ago than this.
	ReadyMaxAge time.Duration `yaml:"ready_max_age"`
	// StatusDetails lists names, addresses and error texts on the status
	// page at / (which has no login); off, it shows counts only.
	StatusDetails bool `yaml:"status_details"`
	// Hosts are more names (or addresses) clients may reach the listener
	// by, beside its listen address and loopback names. With
	// StatusDetails on, a request with any other Host header is refused
	// (421), so a rebound DNS name cannot read the page from a browser.
	Hosts []string `yaml:"hosts"`
}

// LogConfig is the `log:` section.
type LogConfig struct {
	Level  string `yaml:"level"`  // debug|info|warn|error
	Format string `yaml:"format"` // json|console
}

func defaultConfig() Config {
	return Config{
		Directory: directory.DefaultConfig(),
		Store:     store.DefaultConfig(),
		Sync:      engine.DefaultConfig(),
		UMS:       ums.DefaultConfig(),
		Mail:      mail.DefaultConfig(),
		API:       api.DefaultConfig(),
		Telemetry: TelemetryConfig{Listen: "127.0.0.1:9742", ReadyMaxAge: 15 * time.Minute},
		Log:       LogConfig{Level: "info", Format: "json"},
	}
}

// ConfigError lists every problem found in a config file.
type ConfigError struct {
	Path     string
	Problems []error
}

func (e *ConfigError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "config %s: %d problem(s):", e.Path, len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  " + p.Error())
	}
	return b.String()
}

// loadConfig reads, strictly decodes, resolves relative paths against the
// file's folder, validates and parses. All problems come back at once.
func loadConfig(path string) (*Config, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	cfg := defaultConfig()
	var root yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(raw)).Decode(&root); err != nil {
		return nil, &ConfigError{Path: path, Problems: []error{fmt.Errorf("not valid YAML: %w", err)}}
	}
	var problems []error
	if len(root.Content) > 0 {
		problems = checkNode(root.Content[0], reflect.TypeOf(cfg), "")
		if root.Content[0].Kind != yaml.MappingNode && len(problems) > 0 {
			return nil, &ConfigError{Path: path, Problems: problems} // no section to judge
		}
		// checkNode tries every value as Decode does; should Decode still
		// find something it did not, that is reported as yaml says it.
		if err := root.Content[0].Decode(&cfg); err != nil && len(problems) == 0 {
			problems = append(problems, err)
		}
	}
	// Validate also when keys were unknown or values mistyped: a typo must
	// not hide the other problems. A mistyped value kept its default, so
	// what Validate says about it is left out.
	bad := map[string]bool{}
	for _, p := range problems {
		bad[problemPath(p)] = true
	}
	cfg.resolvePaths(filepath.Dir(path))
	rules, templates, errs := cfg.parse()
	for _, p := range errs {
		if !bad[problemPath(p)] {
			problems = append(problems, p)
		}
	}
	if len(problems) > 0 {
		return nil, &ConfigError{Path: path, Problems: problems}
	}
	cfg.rules, cfg.templates = rules, templates
	return &cfg, nil
}

// problemPath is the YAML path a problem starts with ("directory.url").
func problemPath(err error) string {
	p, _, _ := strings.Cut(err.Error(), ": ")
	return p
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// resolvePaths makes relative file paths relative to the config's folder.
func (c *Config) resolvePaths(dir string) {
	for _, p := range []*string{&c.Directory.CAFile, &c.Directory.BindPasswordFile, &c.Store.Path,
		&c.Mail.SMTP.PasswordFile, &c.Mail.SMTP.CAFile, &c.Mail.File.Dir, &c.Mail.Templates,
		&c.API.TLSCertFile, &c.API.TLSKeyFile, &c.API.TokensFile} {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
}

// parse checks every section and returns every problem, each with its
// YAML path, and what it parsed: the UMS rules and, with mail, the mail
// templates (built-in ones with the overrides of mail.templates, each tried
// on sample data). It changes nothing; loadConfig keeps what it returns.
func (c *Config) parse() (ums.Rules, *mail.Templates, []error) {
	var errs []error
	errs = append(errs, c.Directory.Validate("directory")...)
	errs = append(errs, c.Store.Validate("store")...)
	errs = append(errs, c.Sync.Validate("sync")...)
	errs = append(errs, c.Mail.Validate("mail")...)
	errs = append(errs, c.API.Validate("api")...)
	if c.API.Enabled() && c.API.Listen == c.Telemetry.Listen && !strings.HasSuffix(c.API.Listen, ":0") {
		errs = append(errs, fmt.Errorf("api.listen: must differ from telemetry.listen (%s)", c.Telemetry.Listen))
	}
	var templates *mail.Templates
	if c.Mail.Enabled() {
		t, err := mail.LoadTemplates(configs.MailTemplates, c.Mail.Templates)
		if err != nil {
			errs = append(errs, fmt.Errorf("mail.templates: %w", err))
		}
		templates = t
	}
	for _, f := range sortedKeys(c.Sync.Fields) {
		if r := c.Sync.Fields[f]; r.Direction != "from_directory" && r.Direction != "" &&
			len(c.Directory.Attributes.Of(ums.Field(f))) == 0 {
			errs = append(errs, fmt.Errorf("sync.fields.%s: writes to the directory, but directory.attributes.%s is empty", f, f))
		}
	}
	if host, _, err := net.SplitHostPort(c.Telemetry.Listen); err != nil {
		errs = append(errs, fmt.Errorf("telemetry.listen: want host:port, got %q", c.Telemetry.Listen))
	} else if ip := net.ParseIP(host); host != "localhost" && ip == nil && host != "" {
		errs = append(errs, fmt.Errorf("telemetry.listen: host must be an IP address or localhost, got %q", host))
	}
	rules, uerrs := c.UMS.Parse(ums.NumberPlan{CountryCode: c.Directory.CountryCode}, directory.CheckDN) // profiles' groups
	errs = append(errs, uerrs...)
	if len(c.UMS.Extensions.Ranges) > 0 {
		if r := c.Sync.Fields["extension"]; r.Direction != "to_directory" && r.Direction != "both" {
			errs = append(errs, fmt.Errorf("extensions.ranges: assigned numbers are written to AD, so sync.fields.extension must be to_directory or both"))
		}
	}
	if len(c.UMS.Profiles) > 0 {
		if r, ok := c.Sync.Fields["settings"]; ok && (r.Direction == "from_directory" || r.Direction == "") {
			errs = append(errs, fmt.Errorf("profiles: umsync computes the settings and writes them to AD, so sync.fields.settings must be to_directory or both"))
		}
	}
	for i, h := range c.Telemetry.Hosts {
		if net.ParseIP(strings.Trim(h, "[]")) == nil && !validHostName.MatchString(h) {
			errs = append(errs, fmt.Errorf("telemetry.hosts[%d]: want a host name or IP address without port, got %q", i, h))
		}
	}
	if c.Telemetry.ReadyMaxAge <= 0 {
		errs = append(errs, fmt.Errorf("telemetry.ready_max_age: must be positive"))
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("log.level: must be debug, info, warn or error, got %q", c.Log.Level))
	}
	switch c.Log.Format {
	case "json", "console":
	default:
		errs = append(errs, fmt.Errorf("log.format: must be json or console, got %q", c.Log.Format))
	}
	return rules, templates, errs
}

// mailTemplates are the built-in mail templates with the overrides in
// mail.templates, every one tried on sample data: the ones loadConfig
// parsed, or loaded now for a config that was not loaded from a file.
func (c *Config) mailTemplates() (*mail.Templates, error) {
	if c.templates != nil {
		return c.templates, nil
	}
	return mail.LoadTemplates(configs.MailTemplates, c.Mail.Templates)
}
