package ums

import (
	"fmt"
	"strconv"
	"strings"
)

// Range is a block of extension numbers, both ends included: one entry of
// `extensions.ranges`, the pool (sipXecs' extension pool) users without an
// extension get theirs from. sync/plan assigns from it (AssignExtensions).
type Range struct{ From, To int }

// MaxPoolSize is how many numbers extensions.ranges may hold in all. The
// pool keeps a bit per number while it assigns (1.25 MB for this many),
// and counts the free ones every full cycle.
const MaxPoolSize = 10_000_000

// PoolSize is how many numbers the ranges hold (one that is in two ranges
// counts twice), or MaxPoolSize+1 for any more than MaxPoolSize.
func PoolSize(ranges []Range) int {
	n := 0
	for _, r := range ranges {
		if r.To-r.From >= MaxPoolSize || n+r.To-r.From >= MaxPoolSize {
			return MaxPoolSize + 1
		}
		n += r.To - r.From + 1
	}
	return n
}

// ParseRange reads "2000-2999" (or one number, "2000").
func ParseRange(s string) (Range, error) {
	a, b, found := strings.Cut(strings.TrimSpace(s), "-")
	if !found {
		b = a
	}
	from, err1 := strconv.Atoi(strings.TrimSpace(a))
	to, err2 := strconv.Atoi(strings.TrimSpace(b))
	switch {
	case err1 != nil || err2 != nil:
		return Range{}, fmt.Errorf("%q: want FROM-TO, e.g. 2000-2999", truncate(s))
	case from < 0 || to < from:
		return Range{}, fmt.Errorf("%q: FROM must be at most TO", truncate(s))
	case strings.HasPrefix(strings.TrimSpace(a), "0") && from != 0:
		return Range{}, fmt.Errorf("%q: numbers with a leading 0 are not supported", truncate(s))
	}
	return Range{from, to}, nil
}
