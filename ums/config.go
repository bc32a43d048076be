package ums

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Config is the UMS part of the umsync config file: its top-level sections
// license:, extensions:, validation:, profiles: and voicemail:, as written.
// Parse turns them into Rules once per config load.
type Config struct {
	License    LicenseConfig    `yaml:"license"`
	Extensions ExtensionsConfig `yaml:"extensions"`
	Validation ValidationConfig `yaml:"validation"`
	Profiles   ProfilesConfig   `yaml:"profiles"`
	Voicemail  VoicemailConfig  `yaml:"voicemail"`
}

// DefaultConfig returns the defaults that apply before the YAML is decoded.
func DefaultConfig() Config {
	return Config{
		Extensions: ExtensionsConfig{Quarantine: 30 * 24 * time.Hour},
		Validation: ValidationConfig{ExtensionMinDigits: 2, ExtensionMaxDigits: 4},
		Voicemail:  VoicemailConfig{MaxPINFailures: 3, PINLength: 6},
	}
}

// Rules are the UMS sections parsed: the one typed value the sync cycle,
// the CLI, the API and the mail worker follow.
type Rules struct {
	// Seats is how many users may hold a UMS license at once; 0: no cap.
	Seats int
	// Pool and Quarantine: the extension numbers users without one get,
	// and how long a freed number rests before it is given again.
	Pool       []Range
	Quarantine time.Duration
	// Limits are the validation rules.
	Limits Limits
	// Profiles, in priority order; none: settings are per user as they are
	// (umsync does not compute them).
	Profiles Profiles
	// PINs is the voicemail PIN policy; MaxPINFailures wrong PINs in a row
	// lock the box.
	PINs           PINPolicy
	MaxPINFailures int
	// VoicemailDigits is the MiVoice voicemail digit length (needs
	// profiles); 0: no rule.
	VoicemailDigits int
}

// Parse checks every UMS section and returns the rules they set, with every
// problem named by its YAML path (each section's key is a top-level key).
// numbers expands national numbers in profiles (directory.country_code);
// checkDN says why a profile's group is not a DN (directory.CheckDN:
// ums imports no LDAP library). Parse changes nothing; the rules are only
// complete when there are no problems.
func (c Config) Parse(numbers NumberPlan, checkDN func(dn string) error) (Rules, []error) {
	var errs []error
	pool, perrs := c.Extensions.Parse("extensions")
	errs = append(errs, perrs...)
	errs = append(errs, c.Validation.Validate("validation")...)
	errs = append(errs, c.License.Validate("license")...)
	profiles, perrs := c.Profiles.Parse("profiles", numbers, checkDN)
	errs = append(errs, perrs...)
	errs = append(errs, c.Voicemail.Validate("voicemail")...)
	if c.Voicemail.DigitLength > 0 && len(profiles) == 0 {
		errs = append(errs, fmt.Errorf("voicemail.digit_length: needs settings profiles (voicemail comes back from the profile once the extension fits); add at least a default profile: profiles: [{name: default}]"))
	}
	return Rules{
		Seats: c.License.Seats,
		Pool:  pool, Quarantine: c.Extensions.Quarantine,
		Limits:          c.Validation.Limits(),
		Profiles:        profiles,
		PINs:            c.Voicemail.PINPolicy(),
		MaxPINFailures:  c.Voicemail.MaxPINFailures,
		VoicemailDigits: c.Voicemail.DigitLength,
	}, errs
}

// LicenseConfig is the `license:` section.
type LicenseConfig struct {
	// Seats is how many users may hold a UMS license at once; 0: no cap.
	Seats int `yaml:"seats"`
}

// Validate returns every problem with its YAML path under prefix.
func (c LicenseConfig) Validate(prefix string) []error {
	if c.Seats < 0 {
		return []error{fmt.Errorf("%s.seats: must not be negative (0 is no cap), got %d", prefix, c.Seats)}
	}
	return nil
}

// ExtensionsConfig is the `extensions:` section: the pool users without an
// extension get theirs from.
type ExtensionsConfig struct {
	Ranges []string `yaml:"ranges"`
	// Quarantine is how long a number a user gave up rests before the pool
	// gives it to someone else.
	Quarantine time.Duration `yaml:"quarantine"`
}

// Parse returns the ranges, with every problem under prefix.
func (c ExtensionsConfig) Parse(prefix string) ([]Range, []error) {
	var pool []Range
	var errs []error
	for i, s := range c.Ranges {
		r, err := ParseRange(s)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s.ranges[%d]: %w", prefix, i, err))
			continue
		}
		pool = append(pool, r)
	}
	if PoolSize(pool) > MaxPoolSize {
		errs = append(errs, fmt.Errorf("%s.ranges: more than %d numbers in all (the pool keeps a bit per number)", prefix, MaxPoolSize))
	}
	if c.Quarantine < 0 {
		errs = append(errs, fmt.Errorf("%s.quarantine: must not be negative, got %s", prefix, c.Quarantine))
	}
	return pool, errs
}

// Validate returns the problems Parse finds.
func (c ExtensionsConfig) Validate(prefix string) []error {
	_, errs := c.Parse(prefix)
	return errs
}

// ValidationConfig is the `validation:` section. A violation is a problem
// recorded for that user and field, never a failed cycle; `users set` and
// import refuse it.
type ValidationConfig struct {
	ExtensionMinDigits int `yaml:"extension_min_digits"`
	ExtensionMaxDigits int `yaml:"extension_max_digits"`
}

// Validate returns every problem with its YAML path under prefix.
func (c ValidationConfig) Validate(prefix string) []error {
	var errs []error
	if c.ExtensionMinDigits < 1 {
		errs = append(errs, fmt.Errorf("%s.extension_min_digits: must be at least 1, got %d", prefix, c.ExtensionMinDigits))
	}
	if c.ExtensionMaxDigits < c.ExtensionMinDigits {
		errs = append(errs, fmt.Errorf("%s.extension_max_digits: must be at least extension_min_digits (%d), got %d",
			prefix, c.ExtensionMinDigits, c.ExtensionMaxDigits))
	}
	return errs
}

// Limits are the rules the sync, `users set` and import check extensions
// against.
func (c ValidationConfig) Limits() Limits {
	return Limits{ExtensionMin: c.ExtensionMinDigits, ExtensionMax: c.ExtensionMaxDigits}
}

// VoicemailConfig is the `voicemail:` section.
type VoicemailConfig struct {
	// MaxPINFailures wrong PINs in a row lock the box (ixi-UMS' "locked").
	MaxPINFailures int `yaml:"max_pin_failures"`
	// PINLength is the fewest digits of a PIN; generated PINs have as many.
	PINLength int `yaml:"pin_length"`
	// DigitLength is the voicemail digit length (MiVoice): a user whose
	// extension has another length gets no voice mailbox. 0: no rule.
	DigitLength int `yaml:"digit_length"`
}

// Validate returns every problem with its YAML path under prefix. That a
// digit length needs profiles is checked by Config.Parse, which sees both.
func (c VoicemailConfig) Validate(prefix string) []error {
	var errs []error
	if c.MaxPINFailures < 1 {
		errs = append(errs, fmt.Errorf("%s.max_pin_failures: must be at least 1, got %d", prefix, c.MaxPINFailures))
	}
	if c.PINLength < 4 || c.PINLength > MaxPINLength {
		errs = append(errs, fmt.Errorf("%s.pin_length: want 4 to %d, got %d", prefix, MaxPINLength, c.PINLength))
	}
	if c.DigitLength < 0 {
		errs = append(errs, fmt.Errorf("%s.digit_length: must not be negative (0 is no rule), got %d", prefix, c.DigitLength))
	}
	return errs
}

// PINPolicy is what a PIN must be under c.
func (c VoicemailConfig) PINPolicy() PINPolicy { return PINPolicy{Length: c.PINLength} }

// ProfilesConfig is the `profiles:` section: the settings profiles in
// priority order.
type ProfilesConfig []ProfileConfig

// ProfileConfig is one entry of the `profiles:` list: the settings the
// members of an AD group start from. A key left out is not set by the
// profile.
type ProfileConfig struct {
	Name string `yaml:"name"`
	// Group is the AD group's DN (nested members count); left out on the
	// last profile only, which is then the default for everyone else.
	Group          string   `yaml:"group"`
	Services       []string `yaml:"services"` // fax, sms, voice; [] for none
	Voicemail      string   `yaml:"voicemail"`
	Rings          int      `yaml:"rings"`
	LicenseType    string   `yaml:"license_type"`
	Language       string   `yaml:"language"`
	CallForwarding string   `yaml:"call_forwarding"`
	DoNotDisturb   *bool    `yaml:"do_not_disturb"`
}

// Parse returns the profiles in priority order, every one of them (also
// one with problems, so their positions stay), with every problem under
// prefix. numbers and checkDN are as for Config.Parse.
func (c ProfilesConfig) Parse(prefix string, numbers NumberPlan, checkDN func(dn string) error) (Profiles, []error) {
	var out Profiles
	var errs []error
	names, groups := map[string]bool{}, map[string]bool{}
	for i, pc := range c {
		path := fmt.Sprintf("%s[%d]", prefix, i)
		p := Profile{Name: pc.Name, Group: strings.TrimSpace(pc.Group), Defaults: Overrides{}}
		switch {
		case !ValidProfileName(pc.Name):
			errs = append(errs, fmt.Errorf("%s.name: want 1-32 of a-z 0-9 _ -, got %q", path, truncate(pc.Name)))
		case names[pc.Name]:
			errs = append(errs, fmt.Errorf("%s.name: %q is used twice", path, pc.Name))
		}
		names[pc.Name] = true
		switch {
		case p.Group == "" && i != len(c)-1:
			errs = append(errs, fmt.Errorf("%s.group: required (only the last profile may leave it out: it is the default)", path))
		case p.Group != "":
			if err := checkDN(p.Group); err != nil {
				errs = append(errs, fmt.Errorf("%s.group: not a DN: %w", path, err))
			} else if groups[strings.ToLower(p.Group)] {
				errs = append(errs, fmt.Errorf("%s.group: used by an earlier profile", path))
			}
			groups[strings.ToLower(p.Group)] = true
		}
		set := func(key, v string) {
			if err := p.Defaults.Set(key, v, numbers); err != nil {
				errs = append(errs, fmt.Errorf("%s.%s: %w", path, key, err))
			}
		}
		if pc.Services != nil {
			v := strings.Join(pc.Services, ",")
			if v == "" {
				v = "none"
			}
			set(OverrideServices, v)
		}
		set(OverrideVoicemail, pc.Voicemail)
		if pc.Rings != 0 {
			set(OverrideRings, strconv.Itoa(pc.Rings))
		}
		set(OverrideLicenseType, pc.LicenseType)
		set(OverrideLanguage, pc.Language)
		set(OverrideCallForwarding, pc.CallForwarding)
		if pc.DoNotDisturb != nil {
			set(OverrideDoNotDisturb, strconv.FormatBool(*pc.DoNotDisturb))
		}
		out = append(out, p)
	}
	return out, errs
}

// Validate returns the problems Parse finds.
func (c ProfilesConfig) Validate(prefix string, numbers NumberPlan, checkDN func(dn string) error) []error {
	_, errs := c.Parse(prefix, numbers, checkDN)
	return errs
}
