package directory

import "testing"

// TestCheckDN: what the other packages accept as a DN (config profile
// groups, the export file's dn).
func TestCheckDN(t *testing.T) {
	for _, tt := range []struct {
		dn string
		ok bool
	}{
		{"CN=Anne Müller,OU=Staff,DC=example,DC=test", true},
		{`CN=Müller\, Anne,OU=Staff,DC=example,DC=test`, true},
		{"cn=x+sn=y,dc=test", true},
		{"", true}, // the root; callers that need an entry refuse it
		{"sales team", false},
		{"CN=x,", false},
		{"CN=x,OU", false},
		{"=x", false},
	} {
		if err := CheckDN(tt.dn); (err == nil) != tt.ok {
			t.Errorf("CheckDN(%q) = %v, want ok %v", tt.dn, err, tt.ok)
		}
	}
}
