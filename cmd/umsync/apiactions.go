package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/umsync/umsync/api"
	"github.com/umsync/umsync/store"
	"github.com/umsync/umsync/ums"
)

// apiActions runs the CLI's admin actions for the API, with the same
// checks and the same store calls as `umsync users ACTION ID`.
type apiActions struct {
	cfg func() *Config
	st  *store.Store
}

func (a apiActions) Run(ctx context.Context, action, id, actor string) (string, error) {
	cfg := a.cfg()
	refused := func(err error) error { return fmt.Errorf("%w: %v", api.ErrActionRefused, err) }
	u, err := a.st.User(ctx, id)
	if err != nil {
		return "", err
	}
	now := time.Now()
	for _, ua := range userActions {
		if ua.use != action {
			continue
		}
		if err := actionAllowed(cfg, true); err != nil {
			return "", refused(err)
		}
		if err := checkTarget(&u, true, ua.check); err != nil {
			return "", refused(err)
		}
		if err := passwordMailAllowed(cfg, ua.kind); err != nil {
			return "", refused(err)
		}
		if err := a.st.QueueUserMail(ctx, u.Anchor, actor, ua.use, ua.kind, now); err != nil {
			return "", err
		}
		return fmt.Sprintf("%s: %s mail queued for %s", u.SAMAccountName, ua.kind, u.Mail), nil
	}
	switch action {
	case "unlock":
		if err := actionAllowed(cfg, false); err != nil {
			return "", refused(err)
		}
		if err := checkTarget(&u, false, needsVoicemail); err != nil {
			return "", refused(err)
		}
		mailPIN := cfg.Mail.Enabled() && u.Mail != ""
		toAD := settingsToDirectory(cfg)
		if err := a.st.UnlockVoicemail(ctx, u.Anchor, actor, mailPIN, toAD, now); err != nil {
			return "", err
		}
		where := "store only: sync.fields.settings is not written to AD"
		if toAD {
			where = "queued for AD"
		}
		if mailPIN {
			return fmt.Sprintf("%s: voicemail unlocked (%s); pin mail queued for %s", u.SAMAccountName, where, u.Mail), nil
		}
		return fmt.Sprintf("%s: voicemail unlocked (%s); no PIN mail", u.SAMAccountName, where), nil
	case "reset-settings":
		if err := actionAllowed(cfg, false); err != nil {
			return "", refused(err)
		}
		var edits []store.Edit
		var editErr error // the action does not fit the user: a 409; a store error is a 500
		_, err := a.st.UpdateUser(ctx, u.Anchor, actor, "reset-settings", func(u *ums.User) ([]store.Edit, error) {
			u.Overrides = ""
			edits, editErr = settingsEdit(cfg, u, ums.Overrides{}, io.Discard)
			return edits, editErr
		}, now)
		if editErr != nil {
			return "", refused(editErr)
		}
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("%s: overrides dropped, %d setting change(s) queued for AD", u.SAMAccountName, len(edits)), nil
	}
	return "", refused(fmt.Errorf("no action %q", action))
}
