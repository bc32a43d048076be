package ums

import (
	"regexp"
	"testing"
)

var (
	normalizedRE  = regexp.MustCompile(`^\+?[0-9]+$`)
	countryCodeRE = regexp.MustCompile(`^[1-9][0-9]{0,2}$`)
)

// FuzzNormalizeE164: any input gives either a number made of digits (with a
// leading +) that normalizes to itself, or the input trimmed and ok=false;
// never a panic.
func FuzzNormalizeE164(f *testing.F) {
	for _, s := range []string{"+49 (0)89 1234-56", "089/1234 56", "0049 89 1", "+1 (555) 010-0000", "call me",
		"", " ", "0", "00", "+", "(0)", "+49 (0)", "\u00a0089 1", "+4989+1"} {
		f.Add(s, "49")
	}
	f.Add("0171 5550001", "")
	f.Fuzz(func(t *testing.T, raw, cc string) {
		if !countryCodeRE.MatchString(cc) { // the config only lets a valid one through
			cc = ""
		}
		p := NumberPlan{CountryCode: cc}
		n, ok := p.NormalizeE164(raw)
		if !ok {
			return
		}
		if !normalizedRE.MatchString(n) {
			t.Fatalf("NormalizeE164(%q) = %q, ok: not digits", raw, n)
		}
		if again, ok2 := p.NormalizeE164(n); !ok2 || again != n {
			t.Fatalf("NormalizeE164(%q) = %q, but that normalizes to %q (%v)", raw, n, again, ok2)
		}
	})
}
