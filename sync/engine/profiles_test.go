package engine_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/umsync/umsync/store"
	"github.com/umsync/umsync/ums"
)

// TestProfilesByGroupMembership: settings come from the first profile whose
// group a user is in, reach AD, follow a group change at the next delta,
// keep a user's overrides, rank free seats, and apply the MiVoice rule.
func TestProfilesByGroupMembership(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	dns := r.lab.AddUsers(t, r.ou, r.sam+"pr", 4)
	r.lab.Modify(t, dns[3], "ipPhone", "12345") // 5 digits: no voice mailbox
	for i, dn := range dns[:3] {
		r.lab.Modify(t, dn, "ipPhone", fmt.Sprintf("200%d", i))
	}
	sales := r.lab.AddGroup(t, r.ou, "UMS Sales", dns[2], dns[3])
	cfg := r.lab.Config(r.ou)
	cfg.Attributes.Settings = "info"
	r.ums.LicenseSeats = 1
	r.ums.VoicemailDigits = 4
	r.ums.Profiles = ums.Profiles{
		{Name: "sales", Group: sales, Defaults: ums.Overrides{ums.OverrideVoicemail: "phone_login",
			ums.OverrideServices: "fax,sms,voice", ums.OverrideRings: "4", ums.OverrideLicenseType: "admin"}},
		{Name: "default", Defaults: ums.Overrides{ums.OverrideServices: "fax"}},
	}
	const salesSettings = "ums1;vm=phone_login;svc=fax,sms,voice;rings=4;lic=admin;prof=sales"
	const defaultSettings = "ums1;svc=fax;prof=default"
	e := r.engine(t, &cfg)
	r.cycle(t, e)

	want := func(stage string, settings map[string]string) {
		t.Helper()
		got := r.users(t)
		for i, dn := range dns {
			sam := "pr" + string(rune('0'+i))
			if got[sam].Settings != settings[sam] {
				t.Errorf("%s: %s settings %q, want %q", stage, sam, got[sam].Settings, settings[sam])
			}
			if ad := r.lab.Values(t, dn, "info"); len(ad) != 1 || ad[0] != settings[sam] {
				t.Errorf("%s: %s in AD info = %q, want %q", stage, sam, ad, settings[sam])
			}
		}
	}
	want("first full sync", map[string]string{"pr0": defaultSettings, "pr1": defaultSettings, "pr2": salesSettings,
		"pr3": "ums1;svc=fax,sms,voice;rings=4;lic=admin;prof=sales"})
	got := r.users(t)
	// The one seat goes to the earlier profile, not to pr0 (first by name).
	if got["pr2"].License != ums.LicenseActive || got["pr0"].License != ums.LicensePending {
		t.Errorf("seat: pr2 %s, pr0 %s; want the sales user active", got["pr2"].License, got["pr0"].License)
	}
	ps, err := r.store.Problems(context.Background(), got["pr3"].Anchor)
	if err != nil || len(ps) != 2 || ps[1].Field != ums.FieldSettings ||
		!strings.Contains(ps[1].Text, "voicemail disabled: extension \"12345\" has 5 digits") {
		t.Errorf("pr3 problems = %+v, %v; want the extension's length and the MiVoice warning", ps, err)
	}

	// pr0 joins sales, pr2 leaves: the next delta moves both.
	r.lab.AddMembers(t, sales, dns[0])
	r.lab.RemoveMembers(t, sales, dns[2])
	res := r.delta(t, e)
	if res.Run.Updated != 2 {
		t.Errorf("delta updated %d users, want 2 (the two who moved)", res.Run.Updated)
	}
	want("group change", map[string]string{"pr0": salesSettings, "pr1": defaultSettings, "pr2": defaultSettings,
		"pr3": "ums1;svc=fax,sms,voice;rings=4;lic=admin;prof=sales"})

	// An override survives the profile; an idle delta plans nothing.
	if _, err := r.store.UpdateUser(context.Background(), got["pr1"].Anchor, "test", "set",
		func(u *ums.User) ([]store.Edit, error) {
			u.Overrides = `{"rings":"8"}`
			return nil, nil
		}, time.Now()); err != nil {
		t.Fatal(err)
	}
	r.cycle(t, e)
	if s := r.users(t)["pr1"].Settings; s != "ums1;svc=fax;rings=8;prof=default" {
		t.Errorf("pr1 with override rings=8: %q", s)
	}
	if res := r.delta(t, e); res.Run.Updated != 0 || res.Run.Created != 0 {
		t.Errorf("idle delta after profiles: %+v", res.Run)
	}
}
