package plan

import (
	"fmt"
	"testing"

	"github.com/umsync/umsync/ums"
)

func TestMails(t *testing.T) {
	user := func(sam, settings string, lic ums.LicenseState) ums.User {
		u := storedUser(dirUser("a-"+sam, sam, true), ums.StateActive, "")
		u.Settings, u.License = settings, lic
		return u
	}
	const vm = "ums1;vm=phone_login"
	granted := func(u ums.User) *Action { return &Action{Kind: Update, After: u, License: "a seat is free"} }
	p := &Plan{Actions: []*Action{
		granted(user("new", "", ums.LicenseActive)),                                                   // info + password; no PIN without voicemail
		granted(user("newvm", vm, ums.LicenseActive)),                                                 // info + password + PIN
		{Kind: Create, After: user("wait", vm, ums.LicensePending), License: "all 1 seats are taken"}, // no license: nothing
		{Kind: Update, After: user("vmon", vm, ums.LicenseActive), // voicemail switched on: PIN
			Changes: []ums.Change{{Field: ums.FieldSettings, Old: "ums1;svc=fax", New: vm}}},
		{Kind: Update, After: user("vmchg", "ums1;vm=mailbox_only", ums.LicenseActive), // level changed, was on: nothing
			Changes: []ums.Change{{Field: ums.FieldSettings, Old: vm, New: "ums1;vm=mailbox_only"}}},
		{Kind: Update, After: user("vmpend", vm, ums.LicensePending), // on, but no seat: nothing
			Changes: []ums.Change{{Field: ums.FieldSettings, Old: "", New: vm}}},
		{Kind: Deactivate, After: func() ums.User { u := user("gone", vm, ums.LicenseNone); u.State = ums.StateDeactivated; return u }()},
	}}
	got := fmt.Sprint(mailsOf(p, true))
	want := fmt.Sprint([]Mail{
		{ums.MailInfo, "a-new", "info:a-new"},
		{ums.MailPassword, "a-new", "password:a-new:activation"},
		{ums.MailInfo, "a-newvm", "info:a-newvm"},
		{ums.MailPassword, "a-newvm", "password:a-newvm:activation"},
		{ums.MailPIN, "a-newvm", "pin:a-newvm:activation"},
		{ums.MailPIN, "a-vmon", "pin:a-vmon:voicemail-on:" + now.UTC().Format("20060102T150405.000")},
	})
	if got != want {
		t.Errorf("Mails =\n%s\nwant\n%s", got, want)
	}
	if got := mailsOf(p, false); len(got) != 4 { // no password mails: info ×2 and the PINs
		t.Errorf("Mails(no extra kinds) = %v", got)
	}
}

// mailsOf is the mails of every action of p, in plan order.
func mailsOf(p *Plan, password bool) []Mail {
	var out []Mail
	for _, a := range p.Actions {
		out = append(out, a.Mails(password, now)...)
	}
	return out
}
