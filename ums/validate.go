package ums

import (
	"fmt"
	"strings"
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

// E.164 bounds: a country code never starts with 0, and a whole number
// has at most 15 digits. Fewer than 7 digits is no dialable number either.
const (
	e164MinDigits = 7
	e164MaxDigits = 15
)

// CheckNumber says why v (a normalized number, see NormalizeE164) is not
// an E.164 number: "+", a country code not starting with 0, 7 to 15
// digits. nil means it is one. It is the one number rule: the sync records
// its answer as a problem, `users set` and import refuse the value.
func CheckNumber(v string) error {
	digits, plus := strings.CutPrefix(v, "+")
	switch {
	case !plus || digits == "" || strings.Trim(digits, "0123456789") != "":
		return fmt.Errorf("%q is not an E.164 number", truncate(v))
	case digits[0] == '0':
		return fmt.Errorf("%q is not an E.164 number (a country code never starts with 0)", truncate(v))
	case len(digits) > e164MaxDigits:
		return fmt.Errorf("%q is not an E.164 number (%d digits, at most %d)", truncate(v), len(digits), e164MaxDigits)
	case len(digits) < e164MinDigits:
		return fmt.Errorf("%q is not an E.164 number (%d digits, at least %d)", truncate(v), len(digits), e164MinDigits)
	}
	return nil
}

// CheckExtension says why x (a normalized extension, see
// NormalizeExtension) is not an extension under l: digits only, between
// l.ExtensionMin and l.ExtensionMax of them (a zero ExtensionMax: no upper
// bound). nil means it is one.
func (l Limits) CheckExtension(x string) error {
	if ext, ok := NormalizeExtension(x); !ok || ext != x || x == "" {
		return fmt.Errorf("%q is not an extension (digits only)", truncate(x))
	}
	if len(x) < l.ExtensionMin || (l.ExtensionMax > 0 && len(x) > l.ExtensionMax) {
		return fmt.Errorf("%q has %d digits, want %d to %d", truncate(x), len(x), l.ExtensionMin, l.ExtensionMax)
	}
	return nil
}

// Validate checks the fields of u that have rules: the extension's length
// and digits (Limits.CheckExtension), that phone, mobile (SMS), fax and
// alias numbers are E.164 (CheckNumber), and that the mail address holds
// no control character.
func Validate(u *User, l Limits) []Problem {
	var out []Problem
	if HasControl(u.Mail) {
		out = append(out, Problem{FieldMail, fmt.Sprintf("%q holds control characters: this user gets no mail", u.Mail)})
	}
	if x := u.Extension; x != "" {
		if err := l.CheckExtension(x); err != nil {
			out = append(out, Problem{FieldExtension, err.Error()})
		}
	}
	number := func(f Field, v string) {
		if v == "" {
			return
		}
		if err := CheckNumber(v); err != nil {
			out = append(out, Problem{f, err.Error()})
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
