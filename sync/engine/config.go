package engine

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/umsync/umsync/sync/plan"
	"github.com/umsync/umsync/ums"
)

// Config is the `sync:` section of the umsync config.
type Config struct {
	// Mode is active (the default) or staging: a standby that runs full
	// cycles on full_schedule, keeps its store current and records each
	// plan, but writes nothing to the directory.
	Mode string `yaml:"mode"`
	// Schedule is a cron spec (5 fields, @every, @hourly…; CRON_TZ=Zone
	// prefix allowed) for the delta cycles `serve` runs.
	Schedule string `yaml:"schedule"`
	// FullSchedule is the cron spec of the full reconcile, which catches
	// what a delta cannot (e.g. a user_filter that stops matching).
	FullSchedule string `yaml:"full_schedule"`
	// Retention is how long a deactivated user is kept before it is purged
	// (deleted from the store for good). 0 keeps them forever.
	Retention time.Duration `yaml:"retention"`
	// MaxDeactivations and MaxDeactivationPercent (of active users) stop a
	// cycle that would deactivate more; 0 turns a limit off.
	MaxDeactivations       int     `yaml:"max_deactivations"`
	MaxDeactivationPercent float64 `yaml:"max_deactivation_percent"`
	// ShutdownTimeout bounds how long shutdown waits for a cancelled cycle.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// Fields say which side masters each UMS field (direction) and how
	// different changes on both sides are settled (policy). A field not
	// listed comes from the directory.
	Fields map[string]FieldRule `yaml:"fields"`
	// WriteRetryMax caps the backoff between attempts of a directory write
	// that failed for a passing reason; WriteAttempts is how many attempts
	// a write gets before it is marked failed.
	WriteRetryMax time.Duration `yaml:"write_retry_max"`
	WriteAttempts int           `yaml:"write_attempts"`
	// PageSize is how many users a full cycle plans at a time (the
	// directory's page_size; 0: DefaultPageSize). Not a key of its own.
	PageSize int `yaml:"-"`
	// StageDir is where a full cycle keeps its planned users until they
	// land (an unlinked 0600 file; "" is the system's temp folder): the
	// store's folder, set by cmd.
	StageDir string `yaml:"-"`
}

// UMSRules are the UMS rules a cycle applies: what ums.Config.Parse made of
// the config's sections license:, extensions:, validation:, profiles: and
// voicemail:, and whether mails are queued.
type UMSRules struct {
	// LicenseSeats is how many users may hold a UMS license; 0: no cap.
	LicenseSeats int
	// ExtensionRanges and ExtensionQuarantine are the pool new users get
	// their extension from.
	ExtensionRanges     []plan.Range
	ExtensionQuarantine time.Duration
	// Limits are the validation rules.
	Limits ums.Limits
	// Profiles, in priority order; none: settings are per user as they
	// are (umsync does not compute them).
	Profiles ums.Profiles
	// VoicemailDigits is the MiVoice voicemail digit length (needs
	// profiles); 0: no rule.
	VoicemailDigits int
	// Mail says whether mails are queued (a mail: section is configured);
	// PasswordOnActivation adds a password mail to a new user's info mail.
	Mail                 bool
	PasswordOnActivation bool
}

// profilesFingerprint identifies the profiles and the digit rule: when it
// changes, every user's settings are computed again. "" without profiles.
func (r UMSRules) profilesFingerprint() string {
	if len(r.Profiles) == 0 {
		return ""
	}
	h := sha256.New()
	for _, p := range r.Profiles {
		fmt.Fprintf(h, "%s\x00%s\x00%s\x00", p.Name, p.Group, p.Defaults.Encode())
	}
	fmt.Fprintf(h, "digits=%d", r.VoicemailDigits)
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// Values of sync.mode.
const (
	ModeActive  = "active"
	ModeStaging = "staging"
)

// FieldRule is the `sync.fields.<field>` entry.
type FieldRule struct {
	Direction string `yaml:"direction"` // from_directory | to_directory | both
	Policy    string `yaml:"policy"`    // directory_wins | store_wins | manual (for both)
}

// FieldRules converts the configured field rules for the planner.
func (c *Config) FieldRules() plan.Rules {
	out := plan.Rules{}
	for f, r := range c.Fields {
		out[ums.Field(f)] = plan.Rule{Direction: plan.Direction(r.Direction), Policy: plan.Policy(r.Policy)}
	}
	return out
}

// DefaultConfig returns the defaults that apply before the YAML is decoded.
func DefaultConfig() Config {
	return Config{Mode: ModeActive, Schedule: "@every 1m", FullSchedule: "0 3 * * *", Retention: 30 * 24 * time.Hour,
		MaxDeactivations: 50, MaxDeactivationPercent: 10, ShutdownTimeout: 30 * time.Second,
		Fields: map[string]FieldRule{
			"extension":   {Direction: "both", Policy: "manual"},
			"mobile":      {Direction: "both", Policy: "manual"},
			"fax_numbers": {Direction: "both", Policy: "manual"},
			"settings":    {Direction: "to_directory"},
		},
		WriteRetryMax: 5 * time.Minute, WriteAttempts: 10}
}

// Validate returns every problem with its YAML path under prefix.
func (c *Config) Validate(prefix string) []error {
	var errs []error
	if c.Mode != ModeActive && c.Mode != ModeStaging {
		errs = append(errs, fmt.Errorf("%s.mode: must be active or staging, got %q", prefix, c.Mode))
	}
	if _, err := ParseSchedule(c.Schedule); err != nil {
		errs = append(errs, fmt.Errorf("%s.schedule: %w", prefix, err))
	}
	if _, err := ParseSchedule(c.FullSchedule); err != nil {
		errs = append(errs, fmt.Errorf("%s.full_schedule: %w", prefix, err))
	}
	if c.Retention < 0 {
		errs = append(errs, fmt.Errorf("%s.retention: must not be negative", prefix))
	}
	if c.MaxDeactivations < 0 {
		errs = append(errs, fmt.Errorf("%s.max_deactivations: must not be negative", prefix))
	}
	if c.MaxDeactivationPercent < 0 || c.MaxDeactivationPercent > 100 {
		errs = append(errs, fmt.Errorf("%s.max_deactivation_percent: must be between 0 and 100, got %g", prefix, c.MaxDeactivationPercent))
	}
	if c.ShutdownTimeout <= 0 {
		errs = append(errs, fmt.Errorf("%s.shutdown_timeout: must be positive", prefix))
	}
	names := make([]string, 0, len(c.Fields))
	for f := range c.Fields {
		names = append(names, f)
	}
	sort.Strings(names)
	for _, f := range names {
		r := c.Fields[f]
		rule := plan.Rule{Direction: plan.Direction(r.Direction), Policy: plan.Policy(r.Policy)}
		switch {
		case !slices.Contains(ums.Fields, ums.Field(f)):
			errs = append(errs, fmt.Errorf("%s.fields.%s: unknown field", prefix, f))
		case rule.Direction != plan.FromDirectory && !slices.Contains(ums.Writable, ums.Field(f)):
			errs = append(errs, fmt.Errorf("%s.fields.%s: always comes from the directory", prefix, f))
		default:
			if err := rule.Validate(); err != nil {
				errs = append(errs, fmt.Errorf("%s.fields.%s: %w", prefix, f, err))
			}
		}
	}
	if c.WriteRetryMax <= 0 {
		errs = append(errs, fmt.Errorf("%s.write_retry_max: must be positive", prefix))
	}
	if c.WriteAttempts < 1 {
		errs = append(errs, fmt.Errorf("%s.write_attempts: must be at least 1", prefix))
	}
	return errs
}

// ParseSchedule parses a cron spec. robfig/cron's parser panics on some
// malformed specs (e.g. "TZ=" without a zone); that panic becomes an error.
func ParseSchedule(spec string) (s cron.Schedule, err error) {
	defer func() {
		if r := recover(); r != nil {
			s, err = nil, fmt.Errorf("invalid cron spec %q: %v", spec, r)
		}
	}()
	if spec == "" {
		return nil, fmt.Errorf("required")
	}
	s, err = cron.ParseStandard(spec)
	if err != nil {
		return nil, fmt.Errorf("invalid cron spec %q: %w", spec, err)
	}
	return s, nil
}
