package ums

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestSettingsRoundTrip(t *testing.T) {
	tests := []struct {
		s    Settings
		want string
	}{
		{Settings{}, ""},
		{Settings{Services: []Service{ServiceSMS}}, "ums1;svc=sms"},
		{Settings{Voicemail: VoicemailPhoneRemote, VoicemailLocked: true,
			Services: []Service{ServiceVoice, ServiceFax, ServiceSMS, ServiceFax}, Rings: 4, Language: "de", Profile: "sales-2"},
			"ums1;vm=phone_login_remote;vmlock=1;svc=fax,sms,voice;rings=4;lang=de;prof=sales-2"},
		{Settings{Voicemail: VoicemailMailboxOnly, Rings: 10}, "ums1;vm=mailbox_only;rings=10"},
		{Settings{VoicemailLocked: true}, "ums1;vmlock=1"},
		{Settings{Rings: 4, LicenseType: LicenseAdmin, CallForward: "+4930123456", DoNotDisturb: true, Profile: "p"},
			"ums1;rings=4;lic=admin;cfwd=+4930123456;dnd=1;prof=p"},
		{Settings{LicenseType: LicenseVoice, CallForward: "2001"}, "ums1;lic=voice;cfwd=2001"},
	}
	for _, tt := range tests {
		got := tt.s.Encode()
		if got != tt.want {
			t.Errorf("Encode(%+v) = %q, want %q", tt.s, got, tt.want)
			continue
		}
		back, err := ParseSettings(got)
		if err != nil {
			t.Fatalf("ParseSettings(%q): %v", got, err)
		}
		if back.Encode() != got {
			t.Errorf("ParseSettings(%q) = %+v, encodes to %q", got, back, back.Encode())
		}
	}
}

func TestParseSettingsRejects(t *testing.T) {
	for _, tt := range []struct{ in, err string }{
		{"ums2;vm=phone_login", `version "ums2"`},
		{"vm=phone_login", `version "vm=phone_login"`},
		{"ums1;lic=active", `lic="active": want voice or admin`},
		{"ums1;license=admin", `unknown key "license"`},
		{"ums1;cfwd=+49 30", `cfwd="+49 30"`},
		{"ums1;cfwd=x1", `cfwd="x1"`},
		{"ums1;dnd=0", `dnd="0"`},
		{"ums1;prof=a;lic=admin", `key "lic" repeated or out of order`},
		{"ums1;vm=locked", `vm="locked"`},
		{"ums1;vm=", `"vm=" is not key=value`},
		{"ums1;vm", `"vm" is not key=value`},
		{"ums1;color=red", `unknown key "color"`},
		{"ums1;rings=4;rings=4", `key "rings" repeated or out of order`},
		{"ums1;svc=fax;vm=mailbox_only", `key "vm" repeated or out of order`},
		{"ums1;svc=sms,fax", `services must be sorted`},
		{"ums1;svc=fax,fax", `services must be sorted`},
		{"ums1;svc=fax,telex", `unknown service "telex"`},
		{"ums1;rings=1", `rings="1": want 2 to 10`},
		{"ums1;rings=11", `rings="11"`},
		{"ums1;rings=04", `rings="04"`},
		{"ums1;lang=fr", `lang="fr"`},
		{"ums1;prof=Sales", `prof="Sales"`},
		{"ums1;vmlock=0", `vmlock="0"`},
		{"ums1;" + strings.Repeat("x", 1100), "characters, at most 1024"},
		{"ums1;;", `"" is not key=value`},
	} {
		_, err := ParseSettings(tt.in)
		if !errors.Is(err, ErrSettings) || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("ParseSettings(%.50q) = %v, want an error containing %q", tt.in, err, tt.err)
		}
	}
}

// FuzzParseSettings: any input either fails with ErrSettings or parses to
// settings whose canonical encoding parses back to the same settings.
func FuzzParseSettings(f *testing.F) {
	for _, s := range []string{"", "ums1", "ums1;lic=active", "ums1;vm=phone_login_remote;vmlock=1;svc=fax,sms,voice;rings=4;lang=de;prof=a",
		"ums1;svc=sms,fax", "ums2;x=y", "ums1;rings=10;lang=en"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		s, err := ParseSettings(in)
		if err != nil {
			if !errors.Is(err, ErrSettings) {
				t.Fatalf("error %v does not wrap ErrSettings", err)
			}
			return
		}
		checkMarkers(t, in, s)
		enc := s.Encode()
		back, err := ParseSettings(enc)
		if err != nil {
			t.Fatalf("%q parsed, its encoding %q does not: %v", in, enc, err)
		}
		if !reflect.DeepEqual(normal(back), normal(s)) || back.Encode() != enc {
			t.Fatalf("%q → %+v → %q → %+v", in, s, enc, back)
		}
	})
}

// normal makes an empty service list and a nil one compare equal.
func normal(s Settings) Settings {
	if len(s.Services) == 0 {
		s.Services = nil
	}
	return s
}

// TestSettingsMarkers: the markers a store filters by in SQL say of valid
// encoded settings what ParseSettings reads from them.
func TestSettingsMarkers(t *testing.T) {
	for _, in := range []string{"", "ums1", "ums1;prof=sales", "ums1;rings=4;lic=admin;cfwd=+4930123456;dnd=1;prof=p",
		"ums1;lic=admin", "ums1;lic=voice;prof=admin", "ums1;vm=phone_login;svc=fax,sms,voice;rings=4;prof=sales-2",
		"ums1;cfwd=2001;prof=lic", "ums1;lang=de;prof=x"} {
		s, err := ParseSettings(in)
		if err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		checkMarkers(t, in, s)
	}
}

// checkMarkers fails unless ProfileMarker, ProfileSuffix and
// LicenseTypeMarker agree with s, the settings in parses to.
func checkMarkers(t *testing.T, in string, s Settings) {
	t.Helper()
	if got := strings.Contains(in, ProfileMarker); got != (s.Profile != "") {
		t.Errorf("%q: contains ProfileMarker = %v, profile %q", in, got, s.Profile)
	}
	for _, p := range []string{"sales", "sales-2", "p", "x", "a"} {
		if got := strings.HasSuffix(in, ProfileSuffix(p)); got != (s.Profile == p) {
			t.Errorf("%q: ends with ProfileSuffix(%q) = %v, profile %q", in, p, got, s.Profile)
		}
	}
	for _, lt := range []LicenseType{LicenseAdmin, LicenseVoice} {
		if got := strings.Contains(in, LicenseTypeMarker(lt)); got != (s.LicenseType == lt) {
			t.Errorf("%q: contains LicenseTypeMarker(%s) = %v, license type %q", in, lt, got, s.LicenseType)
		}
	}
	if ProfileOf(in) != s.Profile {
		t.Errorf("ProfileOf(%q) = %q, profile %q", in, ProfileOf(in), s.Profile)
	}
}
