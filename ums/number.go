package ums

import (
	"strings"
)

// NumberPlan says how national numbers are expanded to E.164.
type NumberPlan struct {
	// CountryCode without "+" (e.g. "49"). Empty: national numbers (leading
	// single 0) cannot be expanded and are kept as their digits.
	CountryCode string
}

// NormalizeE164 turns a phone number as people type it into E.164
// ("+49 (0)89 1234-56" → "+4989123456"). Brackets, slashes, dashes, dots and
// spaces are dropped; "00" becomes "+"; the trunk prefix written as "(0)"
// after a country code is dropped; a national number with a leading 0 gets
// the plan's country code. A value that is not a number (letters, an empty
// string) is returned trimmed and unchanged, with ok=false, so that nothing
// the admin typed is silently lost.
func (p NumberPlan) NormalizeE164(raw string) (norm string, ok bool) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return "", false
	}
	// "+49 (0)89" — the (0) is the national trunk prefix and is not dialled
	// from abroad.
	if strings.HasPrefix(s, "+") {
		s = strings.Replace(s, "(0)", "", 1)
	}
	var b strings.Builder
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && i == 0:
			b.WriteRune(r)
		case strings.ContainsRune(" ()/-.\u00a0", r):
			// formatting only
		default:
			return strings.TrimSpace(raw), false
		}
	}
	d := b.String()
	switch {
	case strings.HasPrefix(d, "+"):
		if len(d) < 3 {
			return strings.TrimSpace(raw), false
		}
		return d, true
	case strings.HasPrefix(d, "00") && len(d) > 3:
		return "+" + d[2:], true
	case strings.HasPrefix(d, "0") && len(d) > 2 && p.CountryCode != "":
		return "+" + p.CountryCode + d[1:], true
	case d == "":
		return strings.TrimSpace(raw), false
	default:
		// A national number without a known country code, or a short
		// internal number: digits only, still better than the typed form.
		return d, true
	}
}

// NormalizeExtension keeps the digits of an internal extension ("20-41" →
// "2041"). A value with letters is returned trimmed and unchanged, ok=false.
func NormalizeExtension(raw string) (string, bool) {
	s := strings.TrimSpace(raw)
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case strings.ContainsRune(" -/.", r):
		default:
			return s, false
		}
	}
	if b.Len() == 0 {
		return s, s == ""
	}
	return b.String(), true
}
