package ums

import "testing"

func TestNormalizeE164(t *testing.T) {
	de := NumberPlan{CountryCode: "49"}
	none := NumberPlan{}
	tests := []struct {
		name   string
		plan   NumberPlan
		in     string
		want   string
		wantOK bool
	}{
		{"already e164", de, "+4989123456", "+4989123456", true},
		{"spaces", de, "+49 89 12345 678", "+498912345678", true},
		{"trunk prefix in brackets", de, "+49 (0)89 1234-5678", "+498912345678", true},
		{"slash national", de, "089/1234567", "+49891234567", true},
		{"mobile national", de, "0171 1234567", "+491711234567", true},
		{"double zero international", de, "0043 1 234567", "+431234567", true},
		{"dots and dashes", de, "+1.415.555-0100", "+14155550100", true},
		{"nbsp", de, "+49\u00a089\u00a01234", "+49891234", true},
		{"surrounding space", de, "  +49 30 1234  ", "+49301234", true},
		{"national without plan keeps digits", none, "089/1234567", "0891234567", true},
		{"short internal digits", de, "2041", "2041", true},
		{"letters are not a number", de, "call me", "call me", false},
		{"extension words", de, "+49 89 1234 ext 5", "+49 89 1234 ext 5", false},
		{"plus inside", de, "49+89", "49+89", false},
		{"empty", de, "", "", false},
		{"only formatting", de, " - ", "-", false},
		{"bare plus", de, "+", "+", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := tt.plan.NormalizeE164(tt.in)
			if got != tt.want || ok != tt.wantOK {
				t.Fatalf("NormalizeE164(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestNormalizeExtension(t *testing.T) {
	tests := []struct {
		in     string
		want   string
		wantOK bool
	}{
		{"2041", "2041", true},
		{" 20-41 ", "2041", true},
		{"", "", true},
		{"x2041", "x2041", false},
	}
	for _, tt := range tests {
		got, ok := NormalizeExtension(tt.in)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("NormalizeExtension(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestDiff(t *testing.T) {
	a := &User{Anchor: "x", GivenName: "Jürgen", FaxNumbers: []string{"+491"}, Enabled: true}
	b := *a
	b.GivenName = "Jörg"
	b.FaxNumbers = []string{"+491", "+492"}
	b.Enabled = false
	got := a.Diff(&b)
	want := []Change{
		{FieldGivenName, "Jürgen", "Jörg"},
		{FieldFaxNumbers, "+491", "+491,+492"},
		{FieldEnabled, "true", "false"},
	}
	if len(got) != len(want) {
		t.Fatalf("Diff = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("Diff[%d] = %v, want %v", i, got[i], want[i])
		}
	}
	if d := a.Diff(a); len(d) != 0 {
		t.Errorf("Diff with itself = %v, want none", d)
	}
}
