package ums

import (
	"fmt"
	"maps"
	"strings"
	"time"
)

// UserView is a user as `users list|show --output json` print it and the
// API answers it; the keys are the field names admins use everywhere
// (snake_case).
type UserView struct {
	Anchor         string   `json:"anchor"`
	SAMAccountName string   `json:"sam_account_name"`
	DN             string   `json:"dn"`
	GivenName      string   `json:"given_name"`
	Surname        string   `json:"surname"`
	DisplayName    string   `json:"display_name"`
	Mail           string   `json:"mail"`
	Department     string   `json:"department"`
	Extension      string   `json:"extension"`
	Phone          string   `json:"phone"`
	Mobile         string   `json:"mobile"`
	FaxNumbers     []string `json:"fax_numbers"`
	AliasNumbers   []string `json:"alias_numbers"`
	Settings       string   `json:"settings"`
	Profile        string   `json:"profile"`
	// Overrides are the user's own settings over its profile's.
	Overrides   map[string]string `json:"overrides"`
	LicenseType string            `json:"license_type"`
	// Voicemail is the access level, or locked.
	Voicemail          string `json:"voicemail"`
	License            string `json:"license"`
	Enabled            bool   `json:"enabled"`
	State              string `json:"state"`
	DeactivationReason string `json:"deactivation_reason,omitempty"`
	FirstSeen          string `json:"first_seen"`
	UpdatedAt          string `json:"updated_at"`
	DeactivatedAt      string `json:"deactivated_at,omitempty"`
}

// ViewOf is u's UserView.
func ViewOf(u User) UserView {
	fax, alias := u.FaxNumbers, u.AliasNumbers
	if fax == nil {
		fax = []string{}
	}
	if alias == nil {
		alias = []string{}
	}
	j := UserView{
		Anchor: u.Anchor, SAMAccountName: u.SAMAccountName, DN: u.DN, GivenName: u.GivenName,
		Surname: u.Surname, DisplayName: u.DisplayName, Mail: u.Mail, Department: u.Department,
		Extension: u.Extension, Phone: u.Phone, Mobile: u.Mobile, FaxNumbers: fax, AliasNumbers: alias, Settings: u.Settings, License: string(u.License), Enabled: u.Enabled,
		State: string(u.State), DeactivationReason: u.DeactivationReason,
		FirstSeen: u.FirstSeen.UTC().Format(time.RFC3339), UpdatedAt: u.UpdatedAt.UTC().Format(time.RFC3339),
	}
	if !u.DeactivatedAt.IsZero() {
		j.DeactivatedAt = u.DeactivatedAt.UTC().Format(time.RFC3339)
	}
	// Unreadable settings or overrides are a recorded problem; shown as
	// they are (settings) or as none.
	s, _ := ParseSettings(u.Settings)
	j.Profile, j.LicenseType, j.Voicemail = s.Profile, string(s.License()), s.VoicemailState()
	j.Overrides, _ = ParseOverrides(u.Overrides)
	if j.Overrides == nil {
		j.Overrides = map[string]string{}
	}
	return j
}

// EffectiveSetting is one effective setting of a user and where it comes
// from.
type EffectiveSetting struct {
	Key    string `json:"key"`
	Value  string `json:"value"`
	Source string `json:"source"` // override | profile <name> | default | user | wrong PINs
}

// EffectiveSettings lists each setting of u with its value and source;
// language is the mail language users without their own get.
func EffectiveSettings(profiles Profiles, language string, u *User) []EffectiveSetting {
	s, _ := ParseSettings(u.Settings)
	o, _ := ParseOverrides(u.Overrides)
	var defaults Overrides
	if i := profiles.Index(s.Profile); i >= 0 {
		defaults = profiles[i].Defaults
	}
	zero := map[string]string{
		OverrideVoicemail: "disabled", OverrideServices: "none", OverrideRings: "default",
		OverrideLanguage: language, OverrideLicenseType: string(LicenseVoice),
		OverrideCallForwarding: "off", OverrideDoNotDisturb: "off",
	}
	values := maps.Clone(zero)
	if s.Voicemail != VoicemailDisabled {
		values[OverrideVoicemail] = string(s.Voicemail)
	}
	if len(s.Services) > 0 {
		var svc []string
		for _, x := range s.Services {
			svc = append(svc, string(x))
		}
		values[OverrideServices] = strings.Join(svc, ",")
	}
	if s.Rings != 0 {
		values[OverrideRings] = fmt.Sprint(s.Rings)
	}
	if s.Language != "" {
		values[OverrideLanguage] = s.Language
	}
	values[OverrideLicenseType] = string(s.License())
	if s.CallForward != "" {
		values[OverrideCallForwarding] = s.CallForward
	}
	if s.DoNotDisturb {
		values[OverrideDoNotDisturb] = "on"
	}
	var out []EffectiveSetting
	for _, k := range OverrideKeys {
		src := "default"
		switch {
		case o[k] != "":
			src = "override"
		case defaults[k] != "":
			src = "profile " + s.Profile
		case len(profiles) == 0 && values[k] != zero[k]:
			src = "user" // no profiles: the user's own settings
		}
		out = append(out, EffectiveSetting{Key: k, Value: values[k], Source: src})
	}
	if s.VoicemailLocked {
		out = append(out, EffectiveSetting{Key: "voicemail_lock", Value: "locked", Source: "wrong PINs"})
	}
	return out
}
