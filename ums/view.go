package ums

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// UserView is a user as `users list|show --output json` print it and the
// API answers it: an object with the Viewed fields of UserFields in table
// order, and after settings the keys read from them (profile,
// license_type, voicemail). With adds more keys after those.
type UserView struct {
	User  User
	extra []Member
}

// Member is one key of a JSON object and its value; a nil value is absent.
type Member struct {
	Key   string
	Value any
}

// ViewOf is u's UserView.
func ViewOf(u User) UserView { return UserView{User: u} }

// With returns v with key added after the user's keys.
func (v UserView) With(key string, value any) UserView {
	v.extra = append(slices.Clip(v.extra), Member{key, value})
	return v
}

// Members are v's keys and values in order: the user's, then With's. An
// Optional field that is empty has a nil value (left out of the JSON).
func (v UserView) Members() []Member {
	u := &v.User
	var out []Member
	for _, f := range UserFields {
		if !f.Has(Viewed) {
			continue
		}
		out = append(out, Member{string(f.Name), viewValue(f, u)})
		if f.Name == FieldSettings {
			// Unreadable settings are a recorded problem; shown as they are.
			s, _ := ParseSettings(u.Settings)
			out = append(out, Member{"profile", s.Profile}, Member{"license_type", string(s.License())},
				Member{"voicemail", s.VoicemailState()})
		}
	}
	return append(out, v.extra...)
}

// viewValue is f's value in u as UserView shows it.
func viewValue(f UserField, u *User) any {
	switch p := f.Ptr(u).(type) {
	case *string:
		switch {
		case f.Kind == Object:
			// Unreadable overrides are a recorded problem; shown as none.
			o, _ := ParseOverrides(*p)
			if o == nil {
				o = Overrides{}
			}
			return map[string]string(o)
		case *p == "" && f.Default != "":
			return f.Default
		case *p == "" && f.Has(Optional):
			return nil
		}
		return *p
	case *[]string:
		if *p == nil {
			return []string{}
		}
		return *p
	case *bool:
		return *p
	case *time.Time:
		if p.IsZero() && f.Has(Optional) {
			return nil
		}
		return p.UTC().Format(time.RFC3339)
	}
	return nil
}

// MarshalJSON writes v's members in order.
func (v UserView) MarshalJSON() ([]byte, error) {
	b := []byte{'{'}
	for _, m := range v.Members() {
		if m.Value == nil {
			continue
		}
		val, err := json.Marshal(m.Value)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", m.Key, err)
		}
		if len(b) > 1 {
			b = append(b, ',')
		}
		b = strconv.AppendQuote(b, m.Key) // keys are snake_case ASCII
		b = append(b, ':')
		b = append(b, val...)
	}
	return append(b, '}'), nil
}

// UnmarshalJSON reads the user's Viewed fields back (times to the second);
// the other keys are ignored.
func (v *UserView) UnmarshalJSON(data []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	v.extra = nil
	for _, f := range UserFields {
		r, ok := raw[string(f.Name)]
		if !f.Has(Viewed) || !ok {
			continue
		}
		var err error
		switch p := f.Ptr(&v.User).(type) {
		case *string:
			if f.Kind == Object {
				var o Overrides
				if err = json.Unmarshal(r, &o); err == nil {
					*p = o.Encode()
				}
			} else {
				err = json.Unmarshal(r, p)
			}
		case *[]string:
			if err = json.Unmarshal(r, p); err == nil && len(*p) == 0 {
				*p = nil
			}
		case *bool:
			err = json.Unmarshal(r, p)
		case *time.Time:
			var s string
			if err = json.Unmarshal(r, &s); err == nil {
				*p, err = time.Parse(time.RFC3339, s)
			}
		}
		if err != nil {
			return fmt.Errorf("%s: %w", f.Name, err)
		}
	}
	return nil
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
