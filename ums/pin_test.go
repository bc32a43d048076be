package ums

import (
	"strings"
	"testing"
)

func TestPINPolicyCheck(t *testing.T) {
	p := PINPolicy{Length: 6}
	for _, tt := range []struct{ pin, ext, err string }{
		{"583920", "2001", ""},
		{"58392017", "", ""},
		{"", "", "empty"},
		{"58a920", "", "digits only"},
		{"58392", "", "6 to 16 digits, this one 5"},
		{"12345678901234567", "", "this one 17"},
		{"444444", "", "repeat one digit"},
		{"456789", "", "run of digits"},
		{"890123", "", "run of digits"},
		{"654321", "", "run of digits"},
		{"583920", "583920", "not be the extension"},
	} {
		err := p.Check(tt.pin, tt.ext)
		if tt.err == "" && err != nil || tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)) {
			t.Errorf("Check(%q, %q) = %v, want %q", tt.pin, tt.ext, err, tt.err)
		}
	}
}

func TestPINPolicyGenerate(t *testing.T) {
	p := PINPolicy{Length: 6}
	seen := map[string]bool{}
	for i := 0; i < 200; i++ {
		pin, err := p.Generate("2001")
		if err != nil {
			t.Fatal(err)
		}
		if len(pin) != 6 || p.Check(pin, "2001") != nil {
			t.Fatalf("Generate = %q: %v", pin, p.Check(pin, "2001"))
		}
		seen[pin] = true
	}
	if len(seen) < 190 { // 10^6 possibilities: 200 draws repeat rarely
		t.Errorf("200 generated PINs hold only %d distinct ones", len(seen))
	}
	if _, err := (PINPolicy{Length: 3}).Generate(""); err == nil {
		t.Error("Generate with length 3 succeeded")
	}
}
