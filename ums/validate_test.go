package ums

import (
	"fmt"
	"strings"
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
		{User{Phone: "+49"}, `[{phone "+49" is not an E.164 number (2 digits, at least 7)}]`},
		{User{Mobile: "+0001234"}, `[{mobile "+0001234" is not an E.164 number (a country code never starts with 0)}]`},
		{User{FaxNumbers: []string{"+4930123456", "fax?"}}, `[{fax_numbers "fax?" is not an E.164 number}]`},
		{User{AliasNumbers: []string{"+4930123456789012345678901"}},
			`[{alias_numbers "+4930123456789012345678901" is not an E.164 number (25 digits, at most 15)}]`},
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

// TestCheckNumber is the one number rule that the sync, `users set` and
// import share.
func TestCheckNumber(t *testing.T) {
	tests := []struct {
		in   string
		want string // a part of the reason; "" for a valid number
	}{
		{"+4989123456", ""},
		{"+14155550100", ""},
		{"+4989123", ""},         // 7 digits: the shortest
		{"+491711234567890", ""}, // 15 digits: the longest
		{"+4917112345678901", "16 digits, at most 15"},
		{"+" + strings.Repeat("4", 25), "25 digits, at most 15"},
		{"+0001234", "country code never starts with 0"},
		{"+000000000000", "country code never starts with 0"},
		{"+0", "country code never starts with 0"},
		{"+49891", "5 digits, at least 7"},
		{"4989123456", "is not an E.164 number"}, // no +
		{"0891234567", "is not an E.164 number"}, // national
		{"+", "is not an E.164 number"},
		{"", "is not an E.164 number"},
		{"+49 89 1234", "is not an E.164 number"}, // not normalized
		{"+49-89", "is not an E.164 number"},
		{"++4989123456", "is not an E.164 number"},
		{"+４９89123456", "is not an E.164 number"}, // full-width digits
	}
	for _, tt := range tests {
		err := CheckNumber(tt.in)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("CheckNumber(%q) = %v, want ok", tt.in, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("CheckNumber(%q) = %v, want an error with %q", tt.in, err, tt.want)
		}
	}
}

func TestCheckExtension(t *testing.T) {
	l := Limits{ExtensionMin: 2, ExtensionMax: 4}
	for _, tt := range []struct {
		in   string
		want string
	}{
		{"20", ""},
		{"2042", ""},
		{"2", "1 digits, want 2 to 4"},
		{"20421", "5 digits, want 2 to 4"},
		{"12a", "not an extension"},
		{"20-42", "not an extension"}, // not normalized
		{"", "not an extension"},
	} {
		err := l.CheckExtension(tt.in)
		if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("CheckExtension(%q) = %v, want %q", tt.in, err, tt.want)
		}
	}
	if err := (Limits{ExtensionMin: 1}).CheckExtension("123456789"); err != nil {
		t.Errorf("no upper bound: %v", err)
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
