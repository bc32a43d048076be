package ums

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Profile is a settings profile (XPhone's configuration groups, sipXecs'
// user groups): the settings every member of an AD group starts from.
// Profiles are kept in priority order; a user gets the first profile whose
// group it is a member of. A profile without a group is the default: it
// matches every user and can only be the last.
type Profile struct {
	Name     string
	Group    string // AD group DN; "" for the default profile
	Defaults Overrides
}

// Profiles are the configured profiles in priority order.
type Profiles []Profile

// Index returns the position of the profile named name, -1 if none.
func (ps Profiles) Index(name string) int {
	return slices.IndexFunc(ps, func(p Profile) bool { return p.Name == name })
}

// Priority is the license cap's rank of a user in profile name: the
// profile's position; users in no profile come after all profiles.
func (ps Profiles) Priority(name string) int {
	if i := ps.Index(name); i >= 0 && name != "" {
		return i
	}
	return len(ps)
}

// Settings are the effective settings of a user in profile i (-1: none):
// the profile's defaults, then the user's own overrides on top. The
// voicemail lock is state, not a setting, and is carried over.
func (ps Profiles) Settings(i int, o Overrides, locked bool) Settings {
	var s Settings
	if i >= 0 && i < len(ps) {
		s = ps[i].Defaults.Apply(s)
		s.Profile = ps[i].Name
	}
	s = o.Apply(s)
	s.VoicemailLocked = locked
	return s
}

// Effective is the settings of a user in profile i (-1: none) with
// overrides o whose current settings are cur and extension ext: Settings
// with cur's voicemail lock, then the MiVoice digit rule (its problem, if
// it bites). The cycle (plan.ApplyProfiles) and the CLI's edits both use it.
func (ps Profiles) Effective(i int, o Overrides, cur Settings, ext string, digits int) (Settings, *Problem) {
	s := ps.Settings(i, o, cur.VoicemailLocked)
	return s, VoicemailDigits(&s, ext, digits)
}

// Overrides are settings given to one user (or a profile's defaults), by
// key: only the keys present override. Values are kept in their canonical
// text (Set normalizes), so two equal overrides encode equally.
type Overrides map[string]string

// The override keys, as an admin types them (`umsync users set ID key=value`)
// and as the profiles: section names them.
const (
	OverrideVoicemail      = "voicemail"       // disabled | mailbox_only | phone_login | phone_login_remote
	OverrideServices       = "services"        // none | fax,sms,voice (any of)
	OverrideRings          = "rings"           // 2-10
	OverrideLanguage       = "language"        // de | en
	OverrideLicenseType    = "license_type"    // voice | admin
	OverrideCallForwarding = "call_forwarding" // off | an E.164 number or extension
	OverrideDoNotDisturb   = "do_not_disturb"  // on | off
)

// OverrideKeys lists the override keys in the order they are shown.
var OverrideKeys = []string{OverrideVoicemail, OverrideServices, OverrideRings, OverrideLanguage,
	OverrideLicenseType, OverrideCallForwarding, OverrideDoNotDisturb}

// ParseOverrides reads what Encode writes ("" is none).
func ParseOverrides(v string) (Overrides, error) {
	o := Overrides{}
	if v == "" {
		return o, nil
	}
	var raw map[string]string
	if err := json.Unmarshal([]byte(v), &raw); err != nil {
		return nil, err // the caller names the field
	}
	for k, x := range raw {
		if err := o.Set(k, x, NumberPlan{}); err != nil {
			return nil, err
		}
	}
	return o, nil
}

// Encode is the canonical text of o: JSON with sorted keys, "" when empty.
func (o Overrides) Encode() string {
	if len(o) == 0 {
		return ""
	}
	b, _ := json.Marshal(map[string]string(o)) // sorts the keys
	return string(b)
}

// Set checks and normalizes value for key and stores it; an empty value
// removes the override (the profile's value applies again). Numbers are
// normalized with numbers.
func (o Overrides) Set(key, value string, numbers NumberPlan) error {
	v := strings.TrimSpace(value)
	if v == "" {
		if !slices.Contains(OverrideKeys, key) {
			return fmt.Errorf("unknown setting %q (want one of %s)", key, strings.Join(OverrideKeys, ", "))
		}
		delete(o, key)
		return nil
	}
	bad := func(want string) error { return fmt.Errorf("%s=%q: want %s", key, truncate(v), want) }
	switch key {
	case OverrideVoicemail:
		switch VoicemailAccess(v) {
		case "disabled", VoicemailMailboxOnly, VoicemailPhoneLogin, VoicemailPhoneRemote:
		default:
			return bad("disabled, mailbox_only, phone_login or phone_login_remote")
		}
	case OverrideServices:
		if v != "none" {
			var svc []string
			for _, x := range strings.Split(v, ",") {
				x = strings.TrimSpace(x)
				switch Service(x) {
				case ServiceFax, ServiceSMS, ServiceVoice:
				default:
					return bad("none or a list of fax, sms, voice")
				}
				svc = append(svc, x)
			}
			slices.Sort(svc)
			v = strings.Join(slices.Compact(svc), ",")
		}
	case OverrideRings:
		n, err := strconv.Atoi(v)
		if err != nil || n < 2 || n > 10 {
			return bad("2 to 10")
		}
		v = strconv.Itoa(n)
	case OverrideLanguage:
		if v != "de" && v != "en" {
			return bad("de or en")
		}
	case OverrideLicenseType:
		if LicenseType(v) != LicenseVoice && LicenseType(v) != LicenseAdmin {
			return bad("voice or admin")
		}
	case OverrideCallForwarding:
		if v != "off" {
			// A number with a leading + or 0 is external, else an extension.
			if strings.HasPrefix(v, "+") || strings.HasPrefix(v, "0") {
				n, ok := numbers.NormalizeE164(v)
				if !ok || CheckNumber(n) != nil {
					return bad("off, an E.164 number or an extension")
				}
				v = n
			} else if ext, ok := NormalizeExtension(v); ok && len(ext) <= 15 {
				v = ext
			} else {
				return bad("off, an E.164 number or an extension")
			}
		}
	case OverrideDoNotDisturb:
		switch v {
		case "on", "true", "1":
			v = "on"
		case "off", "false", "0":
			v = "off"
		default:
			return bad("on or off")
		}
	default:
		return fmt.Errorf("unknown setting %q (want one of %s)", key, strings.Join(OverrideKeys, ", "))
	}
	o[key] = v
	return nil
}

// Apply returns s with o's keys set.
func (o Overrides) Apply(s Settings) Settings {
	for k, v := range o {
		switch k {
		case OverrideVoicemail:
			s.Voicemail = VoicemailAccess(v)
			if v == "disabled" {
				s.Voicemail = VoicemailDisabled
			}
		case OverrideServices:
			s.Services = nil
			if v != "none" {
				for _, x := range strings.Split(v, ",") {
					s.Services = append(s.Services, Service(x))
				}
			}
		case OverrideRings:
			s.Rings, _ = strconv.Atoi(v)
		case OverrideLanguage:
			s.Language = v
		case OverrideLicenseType:
			s.LicenseType = LicenseType(v)
		case OverrideCallForwarding:
			s.CallForward = v
			if v == "off" {
				s.CallForward = ""
			}
		case OverrideDoNotDisturb:
			s.DoNotDisturb = v == "on"
		}
	}
	return s
}

// VoicemailDigits applies the MiVoice rule: a phone service whose
// extension has another length than the voicemail digit length cannot
// have a voice mailbox. When it bites, s's voicemail is disabled and the
// returned problem says why; digits <= 0 turns the rule off.
func VoicemailDigits(s *Settings, extension string, digits int) *Problem {
	if digits <= 0 || s.Voicemail == VoicemailDisabled || extension == "" || len(extension) == digits {
		return nil
	}
	s.Voicemail = VoicemailDisabled
	return &Problem{Field: FieldSettings, Text: fmt.Sprintf(
		"voicemail disabled: extension %q has %d digits, voicemail.digit_length is %d", extension, len(extension), digits)}
}
