package directory

import (
	"fmt"
	"regexp"
	"strconv"
	"testing"
)

// TestUnitsCoverEveryUSNOnce: the uSNChanged ranges of a parallel read
// cover [0, H] with no gap and no overlap, for every base DN; one
// connection reads each base DN with the plain filter.
func TestUnitsCoverEveryUSNOnce(t *testing.T) {
	rangeRE := regexp.MustCompile(`^\(&\(objectClass=user\)\(uSNChanged>=(\d+)\)\(uSNChanged<=(\d+)\)\)$`)
	for _, conns := range []int{1, 2, 3, 16} {
		for _, h := range []int64{0, 1, 5, 7, 64, 1000, 64529, 1 << 40} {
			t.Run(fmt.Sprintf("conns=%d/H=%d", conns, h), func(t *testing.T) {
				c := &Client{cfg: Config{ReadConnections: conns, UserFilter: "(objectClass=user)",
					BaseDNs: []string{"OU=A,DC=x", "OU=B,DC=x"}}}
				units := c.units(h)
				perBase := map[string][][2]int64{}
				for _, u := range units {
					if conns == 1 {
						if u.filter != "(objectClass=user)" {
							t.Fatalf("one connection: filter %q", u.filter)
						}
						perBase[u.base] = append(perBase[u.base], [2]int64{0, h})
						continue
					}
					m := rangeRE.FindStringSubmatch(u.filter)
					if m == nil {
						t.Fatalf("filter %q", u.filter)
					}
					lo, _ := strconv.ParseInt(m[1], 10, 64)
					hi, _ := strconv.ParseInt(m[2], 10, 64)
					perBase[u.base] = append(perBase[u.base], [2]int64{lo, hi})
				}
				if len(perBase) != 2 {
					t.Fatalf("units cover %d base DNs, want 2", len(perBase))
				}
				for base, rs := range perBase {
					next := int64(0)
					for _, r := range rs {
						if r[0] != next || r[1] < r[0] {
							t.Fatalf("%s: range %v after %d: gap, overlap or empty", base, r, next-1)
						}
						next = r[1] + 1
					}
					if next != h+1 {
						t.Fatalf("%s: ranges end at %d, want %d", base, next-1, h)
					}
					if conns > 1 && h >= int64(conns*rangesPerConnection) && len(rs) != conns*rangesPerConnection {
						t.Errorf("%s: %d ranges, want %d", base, len(rs), conns*rangesPerConnection)
					}
				}
			})
		}
	}
}
