package ums

import (
	"fmt"
	"testing"
)

func TestValidate(t *testing.T) {
	l := Limits{ExtensionMin: 2, ExtensionMax: 4}
	tests := []struct {
		u    User
		want string
	}{
		{User{Extension: "2042", Phone: "+49891234", Mobile: "+491711234567", FaxNumbers: []string{"+4930123456"}}, "[]"},
		{User{}, "[]"},
		{User{Extension: "7"}, `[{extension "7" has 1 digits, want 2 to 4}]`},
		{User{Extension: "20421"}, `[{extension "20421" has 5 digits, want 2 to 4}]`},
		{User{Extension: "20a"}, `[{extension "20a" is not an extension (digits only)}]`},
		{User{Mobile: "call me"}, `[{mobile "call me" is not an E.164 number}]`},
		{User{Phone: "+49"}, `[{phone "+49" is not an E.164 number}]`},
		{User{FaxNumbers: []string{"+4930123456", "fax?"}}, `[{fax_numbers "fax?" is not an E.164 number}]`},
		{User{Mail: "jdoe@example.test\r\nBcc: x@evil.test"}, `[{mail "jdoe@example.test\r\nBcc: x@evil.test" holds control characters: this user gets no mail}]`},
		{User{Mail: "jdoe\u0085@example.test"}, `[{mail "jdoe\u0085@example.test" holds control characters: this user gets no mail}]`},
		{User{Mail: "jürgen@example.test", DisplayName: "Line\nBreak"}, "[]"}, // a name's control characters are stripped, not a problem
	}
	for _, tt := range tests {
		got := Validate(&tt.u, l)
		if s := fmt.Sprint(got); s != tt.want && !(tt.want == "[]" && len(got) == 0) {
			t.Errorf("Validate(%+v) = %s, want %s", tt.u, s, tt.want)
		}
	}
}

func TestStripControl(t *testing.T) {
	tests := []struct{ in, want string }{
		{`O"Brien \ Test`, `O"Brien \ Test`},
		{"Jürgen Müller", "Jürgen Müller"},
		{"Evil\r\nBcc: x@evil.test", "EvilBcc: x@evil.test"},
		{"Tab\tNul\x00Del\x7fEsc\x1b", "TabNulDelEsc"},
		{"C1\u0085next\u009fend", "C1nextend"},
		{"\r\n Name \n", "Name"},
		{"No\u00a0break space", "No\u00a0break space"}, // not a control character
		{"", ""},
	}
	for _, tt := range tests {
		got := StripControl(tt.in)
		if got != tt.want {
			t.Errorf("StripControl(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if HasControl(got) {
			t.Errorf("StripControl(%q) = %q still holds a control character", tt.in, got)
		}
	}
	for _, s := range []string{"a\rb", "a\nb", "\x00", "\x7f", "\u0080", "\u009f"} {
		if !HasControl(s) {
			t.Errorf("HasControl(%q) = false", s)
		}
	}
	if HasControl("Jürgen Müller <j@example.test>") {
		t.Error("HasControl of a plain name and address")
	}
}
