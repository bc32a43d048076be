package ums

import (
	"strings"
	"unicode"
)

// HasControl reports whether s holds a control character: C0 (U+0000 to
// U+001F, CR and LF among them), DEL or C1 (U+0080 to U+009F). A mail
// address that does is a problem of its user: no mail goes to it.
func HasControl(s string) bool { return strings.ContainsFunc(s, unicode.IsControl) }

// StripControl removes the control characters (see HasControl) from s and
// trims the spaces then left at its ends: what a display name from AD
// must not carry into a mail header.
func StripControl(s string) string {
	if !HasControl(s) {
		return s
	}
	return strings.TrimSpace(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, s))
}

// DisplayName is how a user is named to people: the display name, else
// given name and surname ("" when AD has none of them), without control
// characters: names come from AD and go into mail headers and alerts.
func DisplayName(display, given, surname string) string {
	if d := StripControl(display); d != "" {
		return d
	}
	return strings.TrimSpace(StripControl(given) + " " + StripControl(surname))
}

// Label is how admins read a user in alerts and logs: "jdoe (Jürgen
// Müller)" from the sAMAccountName and DisplayName, the anchor when the
// name is unknown.
func Label(sam, name, anchor string) string {
	switch {
	case sam == "":
		return anchor
	case name == "":
		return sam
	}
	return sam + " (" + StripControl(name) + ")"
}
