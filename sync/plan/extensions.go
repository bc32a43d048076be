package plan

import (
	"math"
	"math/bits"
	"sort"
	"strconv"
	"time"

	"github.com/umsync/umsync/ums"
)

// Range is a block of extension numbers (ums owns it with the rest of the
// UMS config: ums.ParseRange reads extensions.ranges).
type Range = ums.Range

// ProblemPoolExhausted is the per-user problem of a user left without an
// extension.
const ProblemPoolExhausted = "extension pool exhausted: no free number in extensions.ranges"

// Taken is the set of a pool's numbers that are not free: one bit per
// number of the ranges, so it is as big as the pool (300,000 numbers:
// 37 KB) however many numbers the store and the domain hold. The map of
// every number in use it replaces took 43 bytes per number (measured:
// 17 MB live for 400,000), one for every phone in the domain.
type Taken struct {
	ranges []Range
	bits   [][]uint64 // per range: bit k is the number From+k
}

// NewTaken is the empty set of the pool of ranges.
func NewTaken(ranges []Range) *Taken {
	t := &Taken{ranges: ranges, bits: make([][]uint64, len(ranges))}
	for i, r := range ranges {
		t.bits[i] = make([]uint64, (r.To-r.From)/64+1)
	}
	return t
}

// Add marks number taken. A value that is not one of the ranges' numbers
// as the pool writes them (decimal digits, no leading 0) is never handed
// out, so it is left out.
func (t *Taken) Add(number string) {
	n, ok := poolNumber(number)
	if !ok {
		return
	}
	for i, r := range t.ranges { // ranges may overlap: marked in each
		if n >= r.From && n <= r.To {
			k := n - r.From
			t.bits[i][k/64] |= 1 << (k % 64)
		}
	}
}

// has reports whether n is taken (false outside the ranges).
func (t *Taken) has(n int) bool {
	for i, r := range t.ranges {
		if n >= r.From && n <= r.To {
			k := n - r.From
			return t.bits[i][k/64]&(1<<(k%64)) != 0
		}
	}
	return false
}

// free counts the numbers of each range not taken.
func (t *Taken) free() int {
	free := 0
	for i, r := range t.ranges {
		free += r.To - r.From + 1
		for _, w := range t.bits[i] {
			free -= bits.OnesCount64(w)
		}
	}
	return free
}

// poolNumber reads s as the pool writes a number (strconv.Itoa of a
// non-negative int): false for anything else, or more than an int holds.
func poolNumber(s string) (int, bool) {
	if s == "" || (s[0] == '0' && len(s) > 1) {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		d := int(c - '0')
		if n > (math.MaxInt-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}

// AssignExtensions gives every active user of the plan without an
// extension — and, when also is given, those stored users too (a full
// cycle) — the lowest number of ranges that is not in taken (held by
// anyone in the store or the directory, or resting in quarantine). Users
// are served by first seen, then sAMAccountName. Each assignment is a store
// change with a write to the directory (planned against the empty value).
// It returns how many numbers are left free and how many users got none
// (each with the problem ProblemPoolExhausted).
func (p *Plan) AssignExtensions(taken *Taken, also []ums.User) (free, short int) {
	type need struct {
		anchor, sam string
		firstSeen   time.Time
		action      int // index in p.Actions; -1: staged; -2: in also, not in the plan yet
		row         *ums.User
	}
	var needs []need
	inPlan := p.Anchors()
	for i, a := range p.Actions {
		u := &a.After
		if a.Kind != Purge && u.Eligible() && u.Extension == "" {
			needs = append(needs, need{u.Anchor, u.SAMAccountName, u.FirstSeen, i, nil})
		}
		if u.Extension != "" {
			taken.Add(u.Extension)
		}
	}
	for _, f := range p.staged.all() {
		if f.Kind() != Purge && f.eligible && f.extension == "" {
			needs = append(needs, need{f.anchor, f.sam, f.FirstSeen(), -1, nil})
		}
		if f.extension != "" {
			taken.Add(f.extension)
		}
	}
	for i := range also {
		if u := &also[i]; !inPlan[u.Anchor] && u.Eligible() && u.Extension == "" {
			needs = append(needs, need{u.Anchor, u.SAMAccountName, u.FirstSeen, -2, u})
		}
	}
	sort.Slice(needs, func(i, j int) bool {
		a, b := needs[i], needs[j]
		if !a.firstSeen.Equal(b.firstSeen) {
			return a.firstSeen.Before(b.firstSeen)
		}
		return a.sam < b.sam
	})
	ranges := taken.ranges
	ri, n := 0, -1
	next := func() (string, bool) {
		for ri < len(ranges) {
			if n < ranges[ri].From {
				n = ranges[ri].From
			}
			// n >= From: n++ past the largest int wraps around.
			for ; n >= ranges[ri].From && n <= ranges[ri].To; n++ {
				if !taken.has(n) {
					n++
					return strconv.Itoa(n - 1), true
				}
			}
			ri++
		}
		return "", false
	}
	for _, nd := range needs {
		num, ok := next()
		if nd.action == -1 { // staged: Each gives it the number
			if ok {
				taken.Add(num)
				p.d.giveExtension(nd.anchor, num)
			} else {
				p.d.poolShort(nd.anchor)
				short++
			}
			continue
		}
		if nd.action == -2 {
			p.Actions = append(p.Actions, &Action{Kind: Update, After: *nd.row})
			nd.action = len(p.Actions) - 1
		}
		a := p.Actions[nd.action]
		if !ok {
			a.Problems = append(a.Problems, ums.Problem{Field: ums.FieldExtension, Text: ProblemPoolExhausted})
			short++
			continue
		}
		taken.Add(num)
		a.edit(ums.FieldExtension, num, true)
	}
	sortActions(p.Actions)
	return taken.free(), short
}
