package plan

import (
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
			taken[u.Extension] = true
		}
	}
	for i := range p.staged {
		f := &p.staged[i]
		if f.Kind() != Purge && f.eligible && f.extension == "" {
			needs = append(needs, need{f.anchor, f.sam, f.FirstSeen(), -1, nil})
		}
		if f.extension != "" {
			taken[f.extension] = true
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
		num, ok := next()
		if nd.action == -1 { // staged: Each gives it the number
			if ok {
				taken[num] = true
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
