package plan

import (
	"time"

	"github.com/umsync/umsync/ums"
)

// Profiles is what ApplyProfiles needs to compute effective settings.
type Profiles struct {
	List ums.Profiles
	// Members[i] holds the anchors in List[i]'s group (in the directory,
	// nested groups included); nil for the default profile (no group).
	Members []map[string]bool
	// VoicemailDigits is the MiVoice voicemail digit length; 0: no rule.
	VoicemailDigits int
	// Write says whether settings are written to the directory
	// (sync.fields.settings is not from_directory).
	Write bool
}

// Of returns the index of the first profile u belongs to, -1 if none.
func (ps *Profiles) Of(anchor string) int {
	for i, p := range ps.List {
		if p.Group == "" || ps.Members[i][anchor] {
			return i
		}
	}
	return -1
}

// ApplyProfiles gives every eligible user in the plan, and every user in
// also (stored users outside the plan whose profile may have changed),
// its effective settings: its profile's defaults with its own overrides
// on top, the voicemail lock kept, then the MiVoice digit rule. A user
// whose settings change gets the change (and its directory write) in its
// action, or in a new update. Settings or overrides umsync cannot read
// are left alone (the user has a problem recorded for them already).
// It returns how many users' settings changed.
func (p *Plan) ApplyProfiles(ps Profiles, also []ums.User, now time.Time) int {
	changed := 0
	inPlan := p.Anchors()
	for _, a := range p.Actions {
		if a.Kind != Purge && ps.apply(a) {
			changed++
		}
	}
	for i := range also {
		if inPlan[also[i].Anchor] || !ps.Due(&also[i]) {
			continue
		}
		if ps.apply(p.update(also[i], now)) {
			changed++
		}
	}
	for _, f := range p.staged.all() {
		if f.settingsDue {
			changed++
		}
	}
	p.d.profiles = &ps // applied to each staged action by Each
	sortActions(p.Actions)
	return changed
}

// apply gives the action's user its effective settings (and the problems
// with them) and says whether its settings changed.
func (ps *Profiles) apply(a *Action) bool {
	enc, problems, ok := ps.effective(&a.After)
	if !ok || (enc == a.After.Settings && len(problems) == 0) {
		return false
	}
	changed := enc != a.After.Settings
	if changed {
		a.edit(ums.FieldSettings, enc, ps.Write)
	}
	a.Problems = append(a.Problems, problems...)
	return changed
}

// Due says whether ApplyProfiles would change the stored user u: its
// settings differ from its effective ones, or it has a problem with them
// to record.
func (ps *Profiles) Due(u *ums.User) bool {
	enc, problems, ok := ps.effective(u)
	return ok && (enc != u.Settings || len(problems) > 0)
}

// effective is u's effective settings, encoded, and the problems with
// them; ok is false when its settings are left alone (not eligible, or
// settings umsync cannot read).
func (ps *Profiles) effective(u *ums.User) (enc string, problems []ums.Problem, ok bool) {
	if !u.Eligible() {
		return "", nil, false
	}
	cur, err := ums.ParseSettings(u.Settings)
	if err != nil {
		return "", nil, false
	}
	o, err := ums.ParseOverrides(u.Overrides)
	if err != nil {
		problems = append(problems, ums.Problem{Field: ums.FieldSettings, Text: "overrides left out: " + err.Error()})
		o = ums.Overrides{}
	}
	s, problem := ps.List.Effective(ps.Of(u.Anchor), o, cur, u.Extension, ps.VoicemailDigits)
	if problem != nil {
		problems = append(problems, *problem)
	}
	return s.Encode(), problems, true
}

// update adds an update action for the stored user u and returns it.
func (p *Plan) update(u ums.User, now time.Time) *Action {
	u.UpdatedAt = now
	a := &Action{Kind: Update, After: u}
	p.Actions = append(p.Actions, a)
	return a
}

// edit changes field f of the action's user as umsync's own change (the
// base stays what the directory holds) and, when write is set, queues the
// directory write — or retargets the one the merge already planned.
func (a *Action) edit(f ums.Field, v string, write bool) {
	old := a.After.Get(f)
	a.After.Edit(f, v)
	if i := a.change(f); i >= 0 {
		a.Changes[i].New = v
		if a.Changes[i].Old == v {
			a.Changes = append(a.Changes[:i], a.Changes[i+1:]...)
		}
	} else {
		a.Changes = append(a.Changes, ums.Change{Field: f, Old: old, New: v})
	}
	if !write {
		return
	}
	for i := range a.Writes {
		if a.Writes[i].Field == f {
			a.Writes[i].New = v
			if a.Writes[i].Old == v { // the directory holds it already
				a.Writes = append(a.Writes[:i], a.Writes[i+1:]...)
			}
			return
		}
	}
	if dir := a.After.BaseOf(f); dir != v {
		a.Writes = append(a.Writes, ums.FieldWrite{Field: f, Old: dir, New: v})
	}
}

// change is the index of f's entry in a.Changes, -1 if none.
func (a *Action) change(f ums.Field) int {
	for i, c := range a.Changes {
		if c.Field == f {
			return i
		}
	}
	return -1
}
