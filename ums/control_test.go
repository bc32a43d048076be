package ums

import "testing"

func TestDisplayNameAndLabel(t *testing.T) {
	for _, tt := range []struct{ display, given, surname, want string }{
		{"Jürgen Müller", "J", "M", "Jürgen Müller"},
		{"", "Jörg", "Weiß1", "Jörg Weiß1"},
		{"", "", "Weiß", "Weiß"},
		{"\r\n", "Änne", "", "Änne"},
		{"", "", "", ""},
		{"Evil\r\nBcc: x", "", "", "EvilBcc: x"},
	} {
		if got := DisplayName(tt.display, tt.given, tt.surname); got != tt.want {
			t.Errorf("DisplayName(%q, %q, %q) = %q, want %q", tt.display, tt.given, tt.surname, got, tt.want)
		}
	}
	for _, tt := range []struct{ sam, name, anchor, want string }{
		{"jdoe", "Jürgen Müller", "a1", "jdoe (Jürgen Müller)"},
		{"jdoe", "", "a1", "jdoe"},
		{"", "Jürgen", "a1", "a1"},
	} {
		if got := Label(tt.sam, tt.name, tt.anchor); got != tt.want {
			t.Errorf("Label(%q, %q, %q) = %q, want %q", tt.sam, tt.name, tt.anchor, got, tt.want)
		}
	}
}
