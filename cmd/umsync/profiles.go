package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/go-ldap/ldap/v3"

	"github.com/umsync/umsync/ums"
)

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

// profiles converts the `profiles:` section, with every problem named by
// its YAML path.
func (c *Config) profiles() (ums.Profiles, []error) {
	var out ums.Profiles
	var errs []error
	names, groups := map[string]bool{}, map[string]bool{}
	numbers := ums.NumberPlan{CountryCode: c.Directory.CountryCode}
	for i, pc := range c.Profiles {
		path := fmt.Sprintf("profiles[%d]", i)
		p := ums.Profile{Name: pc.Name, Group: strings.TrimSpace(pc.Group), Defaults: ums.Overrides{}}
		switch {
		case !ums.ValidProfileName(pc.Name):
			errs = append(errs, fmt.Errorf("%s.name: want 1-32 of a-z 0-9 _ -, got %q", path, pc.Name))
		case names[pc.Name]:
			errs = append(errs, fmt.Errorf("%s.name: %q is used twice", path, pc.Name))
		}
		names[pc.Name] = true
		switch {
		case p.Group == "" && i != len(c.Profiles)-1:
			errs = append(errs, fmt.Errorf("%s.group: required (only the last profile may leave it out: it is the default)", path))
		case p.Group != "":
			if _, err := ldap.ParseDN(p.Group); err != nil {
				errs = append(errs, fmt.Errorf("%s.group: not a DN: %v", path, err))
			} else if groups[strings.ToLower(p.Group)] {
				errs = append(errs, fmt.Errorf("%s.group: used by an earlier profile", path))
			}
			groups[strings.ToLower(p.Group)] = true
		}
		set := func(key, v string) {
			if err := p.Defaults.Set(key, v, numbers); err != nil {
				errs = append(errs, fmt.Errorf("%s.%s: %v", path, key, err))
			}
		}
		if pc.Services != nil {
			v := strings.Join(pc.Services, ",")
			if v == "" {
				v = "none"
			}
			set(ums.OverrideServices, v)
		}
		set(ums.OverrideVoicemail, pc.Voicemail)
		if pc.Rings != 0 {
			set(ums.OverrideRings, strconv.Itoa(pc.Rings))
		}
		set(ums.OverrideLicenseType, pc.LicenseType)
		set(ums.OverrideLanguage, pc.Language)
		set(ums.OverrideCallForwarding, pc.CallForwarding)
		if pc.DoNotDisturb != nil {
			set(ums.OverrideDoNotDisturb, strconv.FormatBool(*pc.DoNotDisturb))
		}
		out = append(out, p)
	}
	if len(c.Profiles) > 0 {
		if r, ok := c.Sync.Fields["settings"]; ok && (r.Direction == "from_directory" || r.Direction == "") {
			errs = append(errs, fmt.Errorf("profiles: umsync computes the settings and writes them to AD, so sync.fields.settings must be to_directory or both"))
		}
	}
	v := c.Voicemail
	if v.MaxPINFailures < 1 {
		errs = append(errs, fmt.Errorf("voicemail.max_pin_failures: must be at least 1, got %d", v.MaxPINFailures))
	}
	if v.PINLength < 4 || v.PINLength > ums.MaxPINLength {
		errs = append(errs, fmt.Errorf("voicemail.pin_length: want 4 to %d, got %d", ums.MaxPINLength, v.PINLength))
	}
	switch {
	case v.DigitLength < 0:
		errs = append(errs, fmt.Errorf("voicemail.digit_length: must not be negative (0 is no rule), got %d", v.DigitLength))
	case v.DigitLength > 0 && len(c.Profiles) == 0:
		errs = append(errs, fmt.Errorf("voicemail.digit_length: needs settings profiles (voicemail comes back from the profile once the extension fits); add at least a default profile: profiles: [{name: default}]"))
	}
	return out, errs
}
