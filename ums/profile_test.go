package ums

import (
	"strings"
	"testing"
)

func TestOverridesSetNormalizes(t *testing.T) {
	de := NumberPlan{CountryCode: "49"}
	for _, tt := range []struct{ key, in, want, err string }{
		{OverrideVoicemail, "phone_login", "phone_login", ""},
		{OverrideVoicemail, "disabled", "disabled", ""},
		{OverrideVoicemail, "locked", "", `voicemail="locked": want disabled`},
		{OverrideServices, "voice, fax,fax", "fax,voice", ""},
		{OverrideServices, "none", "none", ""},
		{OverrideServices, "telex", "", `services="telex"`},
		{OverrideRings, " 6 ", "6", ""},
		{OverrideRings, "11", "", `rings="11": want 2 to 10`},
		{OverrideRings, "1", "", `want 2 to 10`},
		{OverrideLanguage, "fr", "", `language="fr": want de or en`},
		{OverrideLicenseType, "admin", "admin", ""},
		{OverrideLicenseType, "root", "", `want voice or admin`},
		{OverrideCallForwarding, "030 1234567", "+49301234567", ""},
		{OverrideCallForwarding, "2001", "2001", ""},
		{OverrideCallForwarding, "off", "off", ""},
		{OverrideCallForwarding, "+49 abc", "", `call_forwarding="+49 abc"`},
		{OverrideDoNotDisturb, "true", "on", ""},
		{OverrideDoNotDisturb, "maybe", "", `want on or off`},
		{"colour", "red", "", `unknown setting "colour"`},
	} {
		o := Overrides{}
		err := o.Set(tt.key, tt.in, de)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("Set(%s, %q) error = %v, want %q", tt.key, tt.in, err, tt.err)
			}
			if len(o) != 0 {
				t.Errorf("Set(%s, %q) failed but stored %v", tt.key, tt.in, o)
			}
			continue
		}
		if err != nil || o[tt.key] != tt.want {
			t.Errorf("Set(%s, %q) = %q, %v; want %q", tt.key, tt.in, o[tt.key], err, tt.want)
		}
	}
}

func TestOverridesEmptyValueRemoves(t *testing.T) {
	o := Overrides{OverrideRings: "6"}
	if err := o.Set(OverrideRings, "", NumberPlan{}); err != nil || len(o) != 0 {
		t.Fatalf("Set(rings, \"\") = %v, overrides %v; want removed", err, o)
	}
}

func TestOverridesEncodeRoundTrip(t *testing.T) {
	o := Overrides{}
	for k, v := range map[string]string{OverrideRings: "6", OverrideServices: "sms,fax", OverrideDoNotDisturb: "on"} {
		if err := o.Set(k, v, NumberPlan{}); err != nil {
			t.Fatal(err)
		}
	}
	enc := o.Encode()
	if want := `{"do_not_disturb":"on","rings":"6","services":"fax,sms"}`; enc != want {
		t.Fatalf("Encode = %s, want %s", enc, want)
	}
	back, err := ParseOverrides(enc)
	if err != nil || back.Encode() != enc {
		t.Fatalf("ParseOverrides(%s) = %v, %v", enc, back, err)
	}
	if _, err := ParseOverrides(`{"rings":"99"}`); err == nil {
		t.Error("ParseOverrides accepted rings=99")
	}
	if (Overrides{}).Encode() != "" {
		t.Error("empty overrides do not encode to \"\"")
	}
}

func TestProfilesSettings(t *testing.T) {
	ps := Profiles{
		{Name: "sales", Group: "CN=Sales", Defaults: Overrides{OverrideVoicemail: "phone_login", OverrideServices: "fax,sms,voice",
			OverrideRings: "4", OverrideLanguage: "de", OverrideLicenseType: "voice"}},
		{Name: "staff", Defaults: Overrides{OverrideServices: "fax", OverrideRings: "6", OverrideDoNotDisturb: "on"}},
	}
	for _, tt := range []struct {
		name    string
		profile int
		o       Overrides
		locked  bool
		want    string
	}{
		{"profile defaults", 0, nil, false, "ums1;vm=phone_login;svc=fax,sms,voice;rings=4;lang=de;lic=voice;prof=sales"},
		{"override wins", 0, Overrides{OverrideRings: "8", OverrideVoicemail: "disabled", OverrideServices: "none"}, false,
			"ums1;rings=8;lang=de;lic=voice;prof=sales"},
		{"lock kept", 1, Overrides{OverrideDoNotDisturb: "off", OverrideCallForwarding: "2001"}, true,
			"ums1;vmlock=1;svc=fax;rings=6;cfwd=2001;prof=staff"},
		{"no profile", -1, Overrides{OverrideLicenseType: "admin"}, false, "ums1;lic=admin"},
		{"nothing", -1, nil, false, ""},
	} {
		got := ps.Settings(tt.profile, tt.o, tt.locked).Encode()
		if got != tt.want {
			t.Errorf("%s: Settings = %q, want %q", tt.name, got, tt.want)
		}
	}
	if ps.Priority("sales") != 0 || ps.Priority("staff") != 1 || ps.Priority("") != 2 || ps.Priority("gone") != 2 {
		t.Errorf("Priority: sales %d staff %d none %d gone %d", ps.Priority("sales"), ps.Priority("staff"), ps.Priority(""), ps.Priority("gone"))
	}
}

func TestVoicemailDigits(t *testing.T) {
	for _, tt := range []struct {
		vm       VoicemailAccess
		ext      string
		digits   int
		disabled bool
	}{
		{VoicemailPhoneLogin, "12345", 4, true},
		{VoicemailPhoneLogin, "1234", 4, false},
		{VoicemailPhoneLogin, "12345", 0, false}, // rule off
		{VoicemailDisabled, "12345", 4, false},   // nothing to disable
		{VoicemailMailboxOnly, "", 4, false},     // no extension yet
	} {
		s := Settings{Voicemail: tt.vm}
		p := VoicemailDigits(&s, tt.ext, tt.digits)
		if (p != nil) != tt.disabled || (tt.disabled && s.Voicemail != VoicemailDisabled) {
			t.Errorf("VoicemailDigits(%s, %q, %d) = %v, vm %q; want disabled=%v", tt.vm, tt.ext, tt.digits, p, s.Voicemail, tt.disabled)
		}
		if p != nil && !strings.Contains(p.Text, `extension "12345" has 5 digits, voicemail.digit_length is 4`) {
			t.Errorf("problem text %q", p.Text)
		}
	}
}

func TestVoicemailState(t *testing.T) {
	for s, want := range map[string]string{"": "disabled", "ums1;vm=phone_login": "phone_login",
		"ums1;vm=mailbox_only;vmlock=1": "locked", "ums1;vmlock=1": "locked"} {
		set, err := ParseSettings(s)
		if err != nil || set.VoicemailState() != want {
			t.Errorf("%q: VoicemailState = %q, %v; want %q", s, set.VoicemailState(), err, want)
		}
	}
}
