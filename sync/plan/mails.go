package plan

import (
	"time"

	"github.com/umsync/umsync/ums"
)

// Mail is a mail a cycle makes due, with its idempotency key: the same
// key is queued once, however often a cycle is planned again.
type Mail struct {
	Kind   ums.MailKind
	Anchor string
	Key    string
}

// Mails returns the mails the action makes due (a staged action's once
// Each has finished it):
//
//   - a user granted a license gets the info mail (key info:<anchor>: once
//     for good, also if the seat is lost and granted again), a PIN mail if
//     it has voicemail and, with password, a password mail — each once for
//     good too;
//   - a licensed user whose voicemail is switched on (from disabled) gets a
//     PIN mail, keyed by the cycle's time.
//
// Mail contents are made when the mail is sent (mail/), not here.
func (a *Action) Mails(password bool, now time.Time) []Mail {
	u := &a.After
	if a.Kind == Purge || u.State != ums.StateActive || u.License != ums.LicenseActive {
		return nil
	}
	vm := voicemailOn(u.Settings)
	if a.License != "" { // granted in this cycle
		out := []Mail{{ums.MailInfo, u.Anchor, "info:" + u.Anchor}}
		if password {
			out = append(out, Mail{ums.MailPassword, u.Anchor, "password:" + u.Anchor + ":activation"})
		}
		if vm {
			out = append(out, Mail{ums.MailPIN, u.Anchor, "pin:" + u.Anchor + ":activation"})
		}
		return out
	}
	if i := a.change(ums.FieldSettings); i >= 0 && vm && !voicemailOn(a.Changes[i].Old) {
		stamp := now.UTC().Format("20060102T150405.000")
		return []Mail{{ums.MailPIN, u.Anchor, "pin:" + u.Anchor + ":voicemail-on:" + stamp}}
	}
	return nil
}

// voicemailOn says whether encoded settings give the user a voice mailbox.
func voicemailOn(settings string) bool {
	s, err := ums.ParseSettings(settings)
	return err == nil && s.Voicemail != ums.VoicemailDisabled
}
