package plan

import (
	"strings"
	"testing"
	"time"

	"github.com/umsync/umsync/ums"
)

func testProfiles() Profiles {
	return Profiles{
		List: ums.Profiles{
			{Name: "sales", Group: "CN=Sales", Defaults: ums.Overrides{ums.OverrideVoicemail: "phone_login", ums.OverrideServices: "fax,sms,voice", ums.OverrideRings: "4"}},
			{Name: "staff", Defaults: ums.Overrides{ums.OverrideServices: "fax"}},
		},
		Members:         []map[string]bool{{"a-sam": true, "a-lock": true, "a-long": true}, nil},
		VoicemailDigits: 4,
		Write:           true,
	}
}

// TestApplyProfiles: each case is one stored user outside the plan
// (a delta that found its group membership moved) and the settings and
// writes it ends with.
func TestApplyProfiles(t *testing.T) {
	const sales = "ums1;vm=phone_login;svc=fax,sms,voice;rings=4;prof=sales"
	for _, tt := range []struct {
		name, anchor  string
		ext, settings string
		overrides     string
		phantom       bool
		want          string // settings after; "" with wantAction false: untouched
		wantAction    bool
		wantWrite     bool
		problem       string
	}{
		{name: "joins sales", anchor: "a-sam", ext: "2001", settings: "ums1;svc=fax;prof=staff",
			want: sales, wantAction: true, wantWrite: true},
		{name: "in step: nothing", anchor: "a-sam", ext: "2001", settings: sales, want: sales},
		{name: "default profile", anchor: "a-other", ext: "2001", settings: "", want: "ums1;svc=fax;prof=staff", wantAction: true, wantWrite: true},
		{name: "override on top", anchor: "a-sam", ext: "2001", settings: sales, overrides: `{"rings":"8","services":"none"}`,
			want: "ums1;vm=phone_login;rings=8;prof=sales", wantAction: true, wantWrite: true},
		{name: "lock is kept", anchor: "a-lock", ext: "2001", settings: "ums1;vmlock=1;prof=staff",
			want: "ums1;vm=phone_login;vmlock=1;svc=fax,sms,voice;rings=4;prof=sales", wantAction: true, wantWrite: true},
		{name: "MiVoice: 5-digit extension", anchor: "a-long", ext: "20011", settings: "",
			want: "ums1;svc=fax,sms,voice;rings=4;prof=sales", wantAction: true, wantWrite: true,
			problem: `voicemail disabled: extension "20011" has 5 digits, voicemail.digit_length is 4`},
		{name: "unreadable settings left alone", anchor: "a-sam", ext: "2001", settings: "ums9;x", want: "ums9;x"},
		{name: "phantom left alone", anchor: "a-sam", ext: "2001", settings: "", phantom: true, want: ""},
		{name: "bad overrides: problem, profile alone", anchor: "a-sam", ext: "2001", settings: sales, overrides: `{"rings":"99"}`,
			want: sales, wantAction: true, problem: "overrides left out"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			u := storedUser(dirUser(tt.anchor, "user", true), ums.StateActive, "")
			u.Extension, u.Settings, u.Overrides, u.Phantom = tt.ext, tt.settings, tt.overrides, tt.phantom
			p := &Plan{}
			p.ApplyProfiles(testProfiles(), []ums.User{u}, now)
			if !tt.wantAction {
				if len(p.Actions) != 0 {
					t.Fatalf("planned %+v, want nothing", p.Actions[0])
				}
				return
			}
			if len(p.Actions) != 1 {
				t.Fatalf("%d actions, want 1", len(p.Actions))
			}
			a := p.Actions[0]
			if a.Kind != Update || a.After.Settings != tt.want {
				t.Errorf("%s settings %q, want %q", a.Kind, a.After.Settings, tt.want)
			}
			if tt.wantWrite != (len(a.Writes) == 1) {
				t.Fatalf("writes %+v, want write=%v", a.Writes, tt.wantWrite)
			}
			if tt.wantWrite && (a.Writes[0] != ums.FieldWrite{Field: ums.FieldSettings, Old: tt.settings, New: tt.want}) {
				t.Errorf("write %+v", a.Writes[0])
			}
			if tt.wantWrite && a.After.BaseOf(ums.FieldSettings) != tt.settings {
				t.Errorf("base %q, want the directory's %q", a.After.BaseOf(ums.FieldSettings), tt.settings)
			}
			var problems []string
			for _, pr := range a.Problems {
				problems = append(problems, pr.Text)
			}
			if got := strings.Join(problems, "; "); (tt.problem == "") != (got == "") || !strings.Contains(got, tt.problem) {
				t.Errorf("problems %q, want %q", got, tt.problem)
			}
		})
	}
}

// TestApplyProfilesRetargetsThePlannedWrite: a user in the plan whose
// merge already queued a settings write ends with one write, of the
// effective value, against the directory's value.
func TestApplyProfilesRetargetsThePlannedWrite(t *testing.T) {
	u := storedUser(dirUser("a-sam", "sam", true), ums.StateActive, "")
	u.Extension = "2001"
	a := &Action{Kind: Update, After: u, Writes: []ums.FieldWrite{{Field: ums.FieldSettings, Old: "ums1;lang=en", New: ""}}}
	p := &Plan{Actions: []*Action{a}}
	if n := p.ApplyProfiles(testProfiles(), nil, now); n != 1 {
		t.Fatalf("changed %d, want 1", n)
	}
	want := ums.FieldWrite{Field: ums.FieldSettings, Old: "ums1;lang=en", New: "ums1;vm=phone_login;svc=fax,sms,voice;rings=4;prof=sales"}
	if len(a.Writes) != 1 || a.Writes[0] != want {
		t.Errorf("writes %+v, want [%+v]", a.Writes, want)
	}
}

// TestLicensePriorityByProfile: free seats go to the higher profile first,
// whoever was seen first.
func TestLicensePriorityByProfile(t *testing.T) {
	var stored []ums.User
	for i, s := range []struct{ sam, settings string }{
		{"early", "ums1;prof=staff"}, {"later", "ums1;prof=sales"}, {"none", ""},
	} {
		u := storedUser(dirUser("a-"+s.sam, s.sam, true), ums.StateActive, "")
		u.Settings, u.License = s.settings, ums.LicensePending
		u.FirstSeen = t0.Add(-time.Duration(10-i) * time.Hour)
		stored = append(stored, u)
	}
	ps := testProfiles().List
	p := &Plan{}
	applyLicenses(t, p, 1, stored, ps.Priority)
	if len(p.Actions) != 1 || p.Actions[0].After.SAMAccountName != "later" || p.Actions[0].After.License != ums.LicenseActive {
		t.Fatalf("the one seat went to %+v, want later (profile sales)", p.Actions)
	}
}
