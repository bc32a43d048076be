package main

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	yaml "go.yaml.in/yaml/v3"

	"github.com/umsync/umsync/api"
	"github.com/umsync/umsync/configs"
	"github.com/umsync/umsync/directory"
	"github.com/umsync/umsync/mail"
	"github.com/umsync/umsync/store"
	"github.com/umsync/umsync/sync/engine"
	"github.com/umsync/umsync/sync/plan"
	"github.com/umsync/umsync/ums"
)

// Config is the whole umsync config file. Each section's type and its
// Validate belong to the package that uses it.
type Config struct {
	Directory  directory.Config `yaml:"directory"`
	Store      store.Config     `yaml:"store"`
	Sync       engine.Config    `yaml:"sync"`
	License    LicenseConfig    `yaml:"license"`
	Extensions ExtensionsConfig `yaml:"extensions"`
	Validation ValidationConfig `yaml:"validation"`
	Profiles   []ProfileConfig  `yaml:"profiles"`
	Voicemail  VoicemailConfig  `yaml:"voicemail"`
	Mail       mail.Config      `yaml:"mail"`
	API        api.Config       `yaml:"api"`

	// templates are the mail templates Validate loaded (and tried), kept
	// for the mail worker: parsed once per config load.
	templates *mail.Templates `yaml:"-"`
	Telemetry TelemetryConfig `yaml:"telemetry"`
	Log       LogConfig       `yaml:"log"`
}

// ExtensionsConfig is the `extensions:` section: the pool (sipXecs'
// extension pool) users without an extension get theirs from.
type ExtensionsConfig struct {
	Ranges     []string      `yaml:"ranges"`
	Quarantine time.Duration `yaml:"quarantine"`
}

// ValidationConfig is the `validation:` section. A violation is a problem
// recorded for that user and field, never a failed cycle.
type ValidationConfig struct {
	ExtensionMinDigits int `yaml:"extension_min_digits"`
	ExtensionMaxDigits int `yaml:"extension_max_digits"`
}

// limits are the rules the sync, `users set` and import check extensions
// against.
func (v ValidationConfig) limits() ums.Limits {
	return ums.Limits{ExtensionMin: v.ExtensionMinDigits, ExtensionMax: v.ExtensionMaxDigits}
}

// LicenseConfig is the `license:` section.
type LicenseConfig struct {
	// Seats is how many users may hold a UMS license at once; 0: no cap.
	Seats int `yaml:"seats"`
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
		Directory:  directory.DefaultConfig(),
		Store:      store.DefaultConfig(),
		Sync:       engine.DefaultConfig(),
		Extensions: ExtensionsConfig{Quarantine: 30 * 24 * time.Hour},
		Validation: ValidationConfig{ExtensionMinDigits: 2, ExtensionMaxDigits: 4},
		Voicemail:  VoicemailConfig{MaxPINFailures: 3, PINLength: 6},
		Mail:       mail.DefaultConfig(),
		API:        api.DefaultConfig(),
		Telemetry:  TelemetryConfig{Listen: "127.0.0.1:9742", ReadyMaxAge: 15 * time.Minute},
		Log:        LogConfig{Level: "info", Format: "json"},
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
// file's folder and validates. All problems come back at once.
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
	lines := map[int]string{}
	var problems []error
	if len(root.Content) > 0 {
		checkKeys(root.Content[0], reflect.TypeOf(cfg), "", lines, &problems)
		if err := root.Content[0].Decode(&cfg); err != nil {
			problems = append(problems, typeErrors(err, lines)...)
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
	for _, p := range cfg.Validate() {
		if !bad[problemPath(p)] {
			problems = append(problems, p)
		}
	}
	if len(problems) > 0 {
		return nil, &ConfigError{Path: path, Problems: problems}
	}
	return &cfg, nil
}

var durationType = reflect.TypeOf(time.Duration(0))

// checkKeys walks the YAML tree along the Go type, reporting unknown keys
// with their YAML path and remembering which path sits on which line.
func checkKeys(n *yaml.Node, t reflect.Type, path string, lines map[int]string, problems *[]error) {
	if path != "" {
		lines[n.Line] = path
	}
	switch {
	case t.Kind() == reflect.Struct && t != durationType:
		if n.Kind != yaml.MappingNode {
			if n.Tag != "!!null" {
				*problems = append(*problems, fmt.Errorf("%s: must be a mapping (line %d)", orRoot(path), n.Line))
			}
			return
		}
		fields := map[string]reflect.Type{}
		for i := 0; i < t.NumField(); i++ {
			name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
			fields[name] = t.Field(i).Type
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			key, val := n.Content[i], n.Content[i+1]
			p := join(path, key.Value)
			ft, ok := fields[key.Value]
			if !ok {
				*problems = append(*problems, fmt.Errorf("%s: unknown key (line %d)", p, key.Line))
				continue
			}
			checkKeys(val, ft, p, lines, problems)
		}
	case t.Kind() == reflect.Slice && n.Kind == yaml.SequenceNode:
		for i, item := range n.Content {
			checkKeys(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i), lines, problems)
		}
	}
}

var lineRE = regexp.MustCompile(`^line (\d+): (.*)$`)

// typeErrors turns yaml.v3's "line 7: cannot unmarshal …" into errors that
// name the YAML path of line 7.
func typeErrors(err error, lines map[int]string) []error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return []error{err}
	}
	var out []error
	for _, msg := range te.Errors {
		if m := lineRE.FindStringSubmatch(msg); m != nil {
			line, _ := strconv.Atoi(m[1])
			if p, ok := lines[line]; ok {
				out = append(out, fmt.Errorf("%s: %s (line %d)", p, m[2], line))
				continue
			}
		}
		out = append(out, errors.New(msg))
	}
	return out
}

// problemPath is the YAML path a problem starts with ("directory.url").
func problemPath(err error) string {
	p, _, _ := strings.Cut(err.Error(), ": ")
	return p
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func orRoot(path string) string {
	if path == "" {
		return "(top level)"
	}
	return path
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

// Validate returns every problem in the config, each with its YAML path.
func (c *Config) Validate() []error {
	var errs []error
	errs = append(errs, c.Directory.Validate("directory")...)
	errs = append(errs, c.Store.Validate("store")...)
	errs = append(errs, c.Sync.Validate("sync")...)
	errs = append(errs, c.Mail.Validate("mail")...)
	errs = append(errs, c.API.Validate("api")...)
	if c.API.Enabled() && c.API.Listen == c.Telemetry.Listen && !strings.HasSuffix(c.API.Listen, ":0") {
		errs = append(errs, fmt.Errorf("api.listen: must differ from telemetry.listen (%s)", c.Telemetry.Listen))
	}
	if c.Mail.Enabled() {
		t, err := mail.LoadTemplates(configs.MailTemplates, c.Mail.Templates)
		if err != nil {
			errs = append(errs, fmt.Errorf("mail.templates: %w", err))
		}
		c.templates = t
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
	for i, r := range c.Extensions.Ranges {
		if _, err := plan.ParseRange(r); err != nil {
			errs = append(errs, fmt.Errorf("extensions.ranges[%d]: %v", i, err))
		}
	}
	if c.Extensions.Quarantine < 0 {
		errs = append(errs, fmt.Errorf("extensions.quarantine: must not be negative"))
	}
	if len(c.Extensions.Ranges) > 0 {
		if r := c.Sync.Fields["extension"]; r.Direction != "to_directory" && r.Direction != "both" {
			errs = append(errs, fmt.Errorf("extensions.ranges: assigned numbers are written to AD, so sync.fields.extension must be to_directory or both"))
		}
	}
	if v := c.Validation; v.ExtensionMinDigits < 1 || v.ExtensionMaxDigits < v.ExtensionMinDigits {
		errs = append(errs, fmt.Errorf("validation: want 1 <= extension_min_digits <= extension_max_digits, got %d and %d",
			v.ExtensionMinDigits, v.ExtensionMaxDigits))
	}
	if c.License.Seats < 0 {
		errs = append(errs, fmt.Errorf("license.seats: must not be negative (0 is no cap), got %d", c.License.Seats))
	}
	_, perrs := c.profiles()
	errs = append(errs, perrs...)
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
	return errs
}

// mailTemplates are the built-in mail templates with the overrides in
// mail.templates, every one tried on sample data: the ones Validate
// loaded, or loaded now for a config that was not validated.
func (c *Config) mailTemplates() (*mail.Templates, error) {
	if c.templates != nil {
		return c.templates, nil
	}
	return mail.LoadTemplates(configs.MailTemplates, c.Mail.Templates)
}
