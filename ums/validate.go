package ums

import (
	"fmt"
	"regexp"
)

// Problem is something wrong with one field of one user: recorded and
// shown, never a reason to stop a cycle.
type Problem struct {
	Field Field
	Text  string
}

// Limits are the configurable validation rules.
type Limits struct {
	// ExtensionMin and ExtensionMax bound the digits of an extension
	// (the hosted PBX: 2-4).
	ExtensionMin, ExtensionMax int
}

var e164RE = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// Validate checks the fields of u that have rules: the extension's length
// and digits, that phone, mobile (SMS), fax and alias numbers are E.164,
// and that the mail address holds no control character.
func Validate(u *User, l Limits) []Problem {
	var out []Problem
	if HasControl(u.Mail) {
		out = append(out, Problem{FieldMail, fmt.Sprintf("%q holds control characters: this user gets no mail", u.Mail)})
	}
	if x := u.Extension; x != "" {
		if ext, ok := NormalizeExtension(x); !ok || ext != x {
			out = append(out, Problem{FieldExtension, fmt.Sprintf("%q is not an extension (digits only)", x)})
		} else if len(x) < l.ExtensionMin || (l.ExtensionMax > 0 && len(x) > l.ExtensionMax) {
			out = append(out, Problem{FieldExtension, fmt.Sprintf("%q has %d digits, want %d to %d", x, len(x), l.ExtensionMin, l.ExtensionMax)})
		}
	}
	number := func(f Field, v string) {
		if v != "" && !e164RE.MatchString(v) {
			out = append(out, Problem{f, fmt.Sprintf("%q is not an E.164 number", v)})
		}
	}
	number(FieldPhone, u.Phone)
	number(FieldMobile, u.Mobile)
	for _, n := range u.FaxNumbers {
		number(FieldFaxNumbers, n)
	}
	for _, n := range u.AliasNumbers {
		number(FieldAliasNumbers, n)
	}
	return out
}
