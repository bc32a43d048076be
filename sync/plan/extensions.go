package plan

import (
	"sort"
	"strconv"

	"github.com/umsync/umsync/ums"
)

// Range is a block of extension numbers (ums owns it with the rest of the
// UMS config: ums.ParseRange reads extensions.ranges).
type Range = ums.Range

// ProblemPoolExhausted is the per-user problem of a user left without an
// extension.
const ProblemPoolExhausted = "extension pool exhausted: no free number in extensions.ranges"

// AssignExtensions gives every active user of the plan without an
// extension — and, when also is given, those stored users too (a full
// cycle) — the lowest number of ranges that is not in taken (held by
// anyone in the store or the directory, or resting in quarantine). Users
// are served by first seen, then sAMAccountName. Each assignment is a store
// change with a write to the directory (planned against the empty value).
// It returns how many numbers are left free and how many users got none
// (each with the problem ProblemPoolExhausted).
func (p *Plan) AssignExtensions(ranges []Range, taken map[string]bool, also []ums.User) (free, short int) {
	type need struct {
		u      *ums.User
		action int // -1: not in the plan yet
	}
	var needs []need
	inPlan := make(map[string]bool, len(p.Actions))
	for i, a := range p.Actions {
		inPlan[a.After.Anchor] = true
		if a.Kind != Purge && a.After.Eligible() && a.After.Extension == "" {
			needs = append(needs, need{&p.Actions[i].After, i})
		}
		if a.After.Extension != "" {
			taken[a.After.Extension] = true
		}
	}
	for i := range also {
		if !inPlan[also[i].Anchor] && also[i].Eligible() && also[i].Extension == "" {
			needs = append(needs, need{&also[i], -1})
		}
	}
	sort.Slice(needs, func(i, j int) bool {
		a, b := needs[i].u, needs[j].u
		if !a.FirstSeen.Equal(b.FirstSeen) {
			return a.FirstSeen.Before(b.FirstSeen)
		}
		return a.SAMAccountName < b.SAMAccountName
	})
	ri, n := 0, -1
	next := func() (string, bool) {
		for ri < len(ranges) {
			if n < ranges[ri].From {
				n = ranges[ri].From
			}
			for ; n <= ranges[ri].To; n++ {
				if s := strconv.Itoa(n); !taken[s] {
					n++
					return s, true
				}
			}
			ri++
		}
		return "", false
	}
	for _, nd := range needs {
		if nd.action < 0 {
			u := *nd.u
			p.Actions = append(p.Actions, &Action{Kind: Update, After: u})
			nd.action = len(p.Actions) - 1
		}
		a := p.Actions[nd.action]
		num, ok := next()
		if !ok {
			a.Problems = append(a.Problems, ums.Problem{Field: ums.FieldExtension, Text: ProblemPoolExhausted})
			short++
			continue
		}
		taken[num] = true
		a.edit(ums.FieldExtension, num, true)
	}
	for _, r := range ranges {
		for i := r.From; i <= r.To; i++ {
			if !taken[strconv.Itoa(i)] {
				free++
			}
		}
	}
	sortActions(p.Actions)
	return free, short
}
