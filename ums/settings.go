package ums

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Settings are a user's UMS settings, the part of the user the UMS owns.
// umsync keeps them in one directory attribute (default extensionAttribute10),
// the way ixi-UMS keeps its user properties in AD, in the format Encode
// writes and ParseSettings reads:
//
//	ums1;vm=phone_login_remote;svc=fax,sms,voice;rings=4;lang=de;lic=voice;prof=sales
//
// "ums1" is the format version. Then key=value pairs separated by ";", keys
// in the order above, each at most once; a key left out has its zero value
// (shown in brackets below) and Encode leaves zero values out, so every
// value has exactly one encoding and a value written back to the directory
// reads back equal (no echo):
//
//	vm     voicemail access (the ixi-UMS levels)                [disabled]
//	       mailbox_only | phone_login | phone_login_remote
//	       (voicemail only, no login by phone; login by phone, no
//	       remote inquiry; login and remote inquiry)
//	vmlock 1 when the box is locked after wrong PINs            [0]
//	svc    services, a sorted set of fax, sms, voice            [none]
//	rings  rings before voicemail, 2-10                         [0 = the profile's]
//	lang   language of the user's mails: de | en                [the profile's]
//	lic    license type: voice | admin (the hosted PBX's types) [voice]
//	cfwd   call forwarding target: an E.164 number or extension [off]
//	dnd    1 when do-not-disturb is on                          [0]
//	prof   settings profile name: [a-z0-9_-]{1,32}             [none]
//
// Anything else — another version, an unknown or repeated key, a value out
// of range — is an error for that user, never a crash.
// A user's license state is not a setting: umsync computes it (the seat
// cap) and keeps it in its store.
type Settings struct {
	Voicemail       VoicemailAccess
	VoicemailLocked bool
	Services        []Service // sorted, no duplicates
	Rings           int       // 0: the profile's default
	Language        string    // "" : the profile's default
	LicenseType     LicenseType
	CallForward     string // "": off
	DoNotDisturb    bool
	Profile         string // "": no profile
}

// LicenseType is the kind of UMS license a user holds (the hosted PBX's
// "Voice or Admin type of user"); every type uses one seat of the cap.
type LicenseType string

// License types; the zero value is voice.
const (
	LicenseVoice LicenseType = "voice"
	LicenseAdmin LicenseType = "admin"
)

// VoicemailState is the user's voicemail as people read it: disabled, a
// level (mailbox_only, phone_login, phone_login_remote), or locked.
func (s Settings) VoicemailState() string {
	switch {
	case s.VoicemailLocked:
		return "locked"
	case s.Voicemail == VoicemailDisabled:
		return "disabled"
	}
	return string(s.Voicemail)
}

// License is the user's license type, voice when none is set.
func (s Settings) License() LicenseType {
	if s.LicenseType == "" {
		return LicenseVoice
	}
	return s.LicenseType
}

// LicenseState is whether a user holds one of the UMS licenses.
type LicenseState string

// License states.
const (
	LicenseNone    LicenseState = "none"
	LicenseActive  LicenseState = "active"
	LicensePending LicenseState = "pending" // in scope, waiting for a free seat
)

// VoicemailAccess is a user's voicemail access level.
type VoicemailAccess string

// Voicemail access levels (ixi-UMS' states, without "locked", which is a
// flag on top of the level).
const (
	VoicemailDisabled    VoicemailAccess = ""
	VoicemailMailboxOnly VoicemailAccess = "mailbox_only"
	VoicemailPhoneLogin  VoicemailAccess = "phone_login"
	VoicemailPhoneRemote VoicemailAccess = "phone_login_remote"
)

// Service is a UMS service a user can have.
type Service string

// Services.
const (
	ServiceFax   Service = "fax"
	ServiceSMS   Service = "sms"
	ServiceVoice Service = "voice"
)

// SettingsVersion is the format version Encode writes.
const SettingsVersion = "ums1"

// MaxSettingsLength is the longest encoding accepted (AD's
// extensionAttribute1-15 hold at most 1024 characters).
const MaxSettingsLength = 1024

// ErrSettings is wrapped by every ParseSettings error.
var ErrSettings = errors.New("invalid UMS settings")

var (
	profileRE    = regexp.MustCompile(`^[a-z0-9_-]{1,32}$`)
	settingsKeys = []string{"vm", "vmlock", "svc", "rings", "lang", "lic", "cfwd", "dnd", "prof"}
	forwardRE    = regexp.MustCompile(`^\+?[0-9]{2,15}$`)
)

// Encode writes s in its one canonical form. An empty string means "no
// settings" and is what the zero Settings encodes to.
func (s Settings) Encode() string {
	if s.IsZero() {
		return ""
	}
	parts := []string{SettingsVersion}
	add := func(k, v string) {
		if v != "" {
			parts = append(parts, k+"="+v)
		}
	}
	add("vm", string(s.Voicemail))
	if s.VoicemailLocked {
		add("vmlock", "1")
	}
	svc := make([]string, len(s.Services))
	for i, x := range s.Services {
		svc[i] = string(x)
	}
	slices.Sort(svc)
	add("svc", strings.Join(slices.Compact(svc), ","))
	if s.Rings != 0 {
		add("rings", strconv.Itoa(s.Rings))
	}
	add("lang", s.Language)
	add("lic", string(s.LicenseType))
	add("cfwd", s.CallForward)
	if s.DoNotDisturb {
		add("dnd", "1")
	}
	add("prof", s.Profile)
	return strings.Join(parts, ";")
}

// IsZero reports whether s holds no setting at all.
func (s Settings) IsZero() bool {
	return s.Voicemail == "" && !s.VoicemailLocked && len(s.Services) == 0 &&
		s.Rings == 0 && s.Language == "" && s.LicenseType == "" && s.CallForward == "" &&
		!s.DoNotDisturb && s.Profile == ""
}

// ParseSettings reads what Encode writes. The empty string is the zero
// Settings. Errors wrap ErrSettings and name the key.
func ParseSettings(v string) (Settings, error) {
	var s Settings
	if v == "" {
		return s, nil
	}
	fail := func(format string, a ...any) (Settings, error) {
		return Settings{}, fmt.Errorf("%w: %s", ErrSettings, fmt.Sprintf(format, a...))
	}
	if len(v) > MaxSettingsLength {
		return fail("%d characters, at most %d", len(v), MaxSettingsLength)
	}
	parts := strings.Split(v, ";")
	if parts[0] != SettingsVersion {
		return fail("version %q, this umsync reads %q", truncate(parts[0]), SettingsVersion)
	}
	next := 0 // index in settingsKeys the next key may have at the earliest
	for _, p := range parts[1:] {
		k, val, ok := strings.Cut(p, "=")
		if !ok || val == "" {
			return fail("%q is not key=value", truncate(p))
		}
		i := slices.Index(settingsKeys, k)
		switch {
		case i < 0:
			return fail("unknown key %q", truncate(k))
		case i < next:
			return fail("key %q repeated or out of order", k)
		}
		next = i + 1
		switch k {
		case "vm":
			switch VoicemailAccess(val) {
			case VoicemailMailboxOnly, VoicemailPhoneLogin, VoicemailPhoneRemote:
				s.Voicemail = VoicemailAccess(val)
			default:
				return fail("vm=%q: want mailbox_only, phone_login or phone_login_remote", truncate(val))
			}
		case "vmlock":
			if val != "1" {
				return fail("vmlock=%q: want 1", truncate(val))
			}
			s.VoicemailLocked = true
		case "svc":
			prev := ""
			for _, x := range strings.Split(val, ",") {
				switch Service(x) {
				case ServiceFax, ServiceSMS, ServiceVoice:
				default:
					return fail("svc: unknown service %q", truncate(x))
				}
				if x <= prev {
					return fail("svc=%q: services must be sorted and listed once", truncate(val))
				}
				prev = x
				s.Services = append(s.Services, Service(x))
			}
		case "rings":
			n, err := strconv.Atoi(val)
			if err != nil || n < 2 || n > 10 || strconv.Itoa(n) != val {
				return fail("rings=%q: want 2 to 10", truncate(val))
			}
			s.Rings = n
		case "lang":
			if val != "de" && val != "en" {
				return fail("lang=%q: want de or en", truncate(val))
			}
			s.Language = val
		case "lic":
			if LicenseType(val) != LicenseVoice && LicenseType(val) != LicenseAdmin {
				return fail("lic=%q: want voice or admin", truncate(val))
			}
			s.LicenseType = LicenseType(val)
		case "cfwd":
			if !forwardRE.MatchString(val) {
				return fail("cfwd=%q: want an E.164 number or an extension", truncate(val))
			}
			s.CallForward = val
		case "dnd":
			if val != "1" {
				return fail("dnd=%q: want 1", truncate(val))
			}
			s.DoNotDisturb = true
		case "prof":
			if !profileRE.MatchString(val) {
				return fail("prof=%q: want 1-32 of a-z 0-9 _ -", truncate(val))
			}
			s.Profile = val
		}
	}
	return s, nil
}

// ValidProfileName reports whether name can be a settings profile's name.
func ValidProfileName(name string) bool { return profileRE.MatchString(name) }

// truncate keeps error messages short whatever a directory holds.
func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// ProfileOf returns the prof= value of an encoded settings string ("" if
// none) without parsing the rest: prof is the last key.
func ProfileOf(encoded string) string {
	i := strings.LastIndex(encoded, ProfileMarker)
	if i < 0 {
		return ""
	}
	return encoded[i+len(ProfileMarker):]
}

// The markers below tell a property of valid encoded settings by plain
// text, for a store that filters them in SQL without parsing them (instr,
// a suffix): it takes them from here and holds no text of the format.

// ProfileMarker is contained in valid encoded settings exactly when they
// name a profile.
const ProfileMarker = ";prof="

// ProfileSuffix is what valid encoded settings end with exactly when
// their profile is p (not ""): prof is the last key.
func ProfileSuffix(p string) string { return ProfileMarker + p }

// LicenseTypeMarker is contained in valid encoded settings exactly when
// they set license type t. Settings without it for LicenseAdmin are
// voice (License).
func LicenseTypeMarker(t LicenseType) string { return ";lic=" + string(t) }
