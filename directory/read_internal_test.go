package directory

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"
)

// TestPartitionsAreDisjointAndComplete: whatever character a name ends in,
// exactly one partition filter of a parallel read matches it, for every base
// DN; one connection reads each base DN with the plain filter.
func TestPartitionsAreDisjointAndComplete(t *testing.T) {
	termRE := regexp.MustCompile(`\(sAMAccountName=\*(.)\)`)
	lastChars := []string{"0", "5", "9", "a", "e", "z", "A", "Z", "ä", "ß", "_", ".", "-", "$"}
	for _, conns := range []int{1, 2, 3, 5, 16} {
		t.Run(fmt.Sprintf("connections=%d", conns), func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.ReadConnections, cfg.BaseDNs = conns, []string{"OU=A,DC=x", "OU=B,DC=x"}
			c := &Client{cfg: cfg}
			units := c.units()
			if len(units) != 2*conns {
				t.Fatalf("%d units, want %d", len(units), 2*conns)
			}
			for _, base := range cfg.BaseDNs {
				var filters []string
				for _, u := range units {
					if u.base == base {
						filters = append(filters, u.filter)
						if _, err := ldap.CompileFilter(u.filter); err != nil {
							t.Fatalf("%q: %v", u.filter, err)
						}
						if !strings.HasPrefix(u.filter, "(&"+cfg.UserFilter) && u.filter != cfg.UserFilter {
							t.Errorf("%q does not keep the user filter", u.filter)
						}
					}
				}
				for _, last := range lastChars {
					matches := 0
					for _, f := range filters {
						if conns == 1 {
							matches++
							continue
						}
						set := map[string]bool{}
						for _, m := range termRE.FindAllStringSubmatch(f, -1) {
							set[m[1]] = true
						}
						in := set[strings.ToLower(last)]
						if strings.Contains(f, "(!(|") {
							in = !in
						}
						if in {
							matches++
						}
					}
					if matches != 1 {
						t.Errorf("%s: a name ending in %q matches %d partitions, want 1", base, last, matches)
					}
				}
			}
		})
	}
}
