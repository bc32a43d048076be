package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/umsync/umsync/api"
	"github.com/umsync/umsync/store"
	"github.com/umsync/umsync/sync/engine"
	"github.com/umsync/umsync/sync/plan"
	"github.com/umsync/umsync/ums"
)

// userAction is one of the admin actions that mail the user: each is
// audited and queues its mail (the running serve sends it).
type userAction struct {
	use, short, long string
	kind             ums.MailKind
	// check refuses the action for this user (nil: allowed).
	check func(u *ums.User) error
}

var userActions = []userAction{
	{use: "reset-password", kind: ums.MailPassword, short: "Mail the user a new UMS web login password",
		long: `Queue a password mail: the password is made when the mail is sent and replaces
the old one then; only its hash is stored (ixi-UMS: "the password is re-created
with each mail").`},
	{use: "reset-pin", kind: ums.MailPIN, short: "Mail the user a new voicemail PIN",
		long:  `Queue a PIN mail: the PIN is made when the mail is sent; only its hash is stored.`,
		check: needsVoicemail},
	{use: "send-infomail", kind: ums.MailInfo, short: "Mail the user the info mail again",
		long: `Queue the info mail (how to send and receive fax and SMS, the user's numbers,
voicemail access, the portal) again.`},
}

func needsVoicemail(u *ums.User) error {
	if s, err := ums.ParseSettings(u.Settings); err != nil || s.Voicemail == ums.VoicemailDisabled {
		return fmt.Errorf("user '%s' has no voicemail (settings %q): no PIN to send", u.SAMAccountName, u.Settings)
	}
	return nil
}

func newUserActionCmds(g *globals) []*cobra.Command {
	var out []*cobra.Command
	for _, a := range userActions {
		out = append(out, &cobra.Command{
			Use: a.use + " ID", Short: a.short, Long: a.long + "\nID = sAMAccountName or anchor. Audited with your OS user.",
			Args: exactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				cfg, st, u, err := actionTarget(cmd, g, args[0], true, a.check)
				if err != nil {
					return err
				}
				defer st.Close()
				if err := passwordMailAllowed(cfg, a.kind); err != nil {
					return err
				}
				if err := st.QueueUserMail(cmd.Context(), u.Anchor, actor(), a.use, a.kind, time.Now()); err != nil {
					return err
				}
				_, err = fmt.Fprintf(g.stdout, "%s: %s mail queued for %s (%s)\n", u.SAMAccountName, a.kind, u.Mail, whenSent)
				return err
			},
		})
	}
	out = append(out, &cobra.Command{
		Use:   "pin-failure ID",
		Short: "Record a wrong voicemail PIN (for the UMS's event hook); locks the box at voicemail.max_pin_failures",
		Long: `Record one wrong voicemail PIN of a user, as the UMS reports it (call this from
its event hook). After voicemail.max_pin_failures wrong PINs in a row the box is
locked (settings vmlock=1, queued for AD unless sync.fields.settings is
from_directory) until 'umsync users unlock'; a PIN
mail sent resets the count. Prints "locked" or "failures counted". Audited.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, st, u, err := actionTarget(cmd, g, args[0], false, needsVoicemail)
			if err != nil {
				return err
			}
			defer st.Close()
			locked, err := st.RecordPINFailure(cmd.Context(), u.Anchor, actor(), cfg.rules.MaxPINFailures,
				settingsToDirectory(cfg), time.Now())
			if err != nil {
				return err
			}
			if locked {
				_, err = fmt.Fprintf(g.stdout, "%s: locked after %d wrong PINs (unlock: umsync users unlock %s)\n",
					u.SAMAccountName, cfg.rules.MaxPINFailures, u.SAMAccountName)
				return err
			}
			_, err = fmt.Fprintf(g.stdout, "%s: failures counted (the box locks at %d)\n", u.SAMAccountName, cfg.rules.MaxPINFailures)
			return err
		},
	})
	out = append(out, &cobra.Command{
		Use:   "unlock ID",
		Short: "Unlock a voicemail box locked after wrong PINs, and mail a new PIN",
		Long: `Unlock the user's voicemail box (ixi-UMS: "blocked by entering the wrong PIN
several times"): the lock is cleared in umsync and AD (queued, unless
sync.fields.settings is from_directory), the count of
wrong PINs starts again, and a mail with a new PIN is queued. ID =
sAMAccountName or anchor. Audited with your OS user.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, st, u, err := actionTarget(cmd, g, args[0], false, needsVoicemail)
			if err != nil {
				return err
			}
			defer st.Close()
			mailPIN := cfg.Mail.Enabled() && u.Mail != ""
			toAD := settingsToDirectory(cfg)
			if err := st.UnlockVoicemail(cmd.Context(), u.Anchor, actor(), mailPIN, toAD, time.Now()); err != nil {
				return err
			}
			if toAD {
				fmt.Fprintf(g.stdout, "%s: voicemail unlocked (queued for AD)\n", u.SAMAccountName)
			} else {
				fmt.Fprintf(g.stdout, "%s: voicemail unlocked (in umsync: settings come from AD)\n", u.SAMAccountName)
			}
			switch {
			case mailPIN:
				fmt.Fprintf(g.stdout, "%s: pin mail queued for %s (%s)\n", u.SAMAccountName, u.Mail, whenSent)
			case !cfg.Mail.Enabled():
				fmt.Fprintln(g.stdout, "no PIN mail: mail.transport is not set")
			default:
				fmt.Fprintf(g.stdout, "no PIN mail: user '%s' has no mail address\n", u.SAMAccountName)
			}
			return nil
		},
	})
	return out
}

// actionTarget loads the config and the user an action is for; needMail
// refuses when no mail can be sent to the user, check (if not nil) when
// the action does not fit the user.
func actionTarget(cmd *cobra.Command, g *globals, id string, needMail bool, check func(*ums.User) error) (*Config, *store.Store, ums.User, error) {
	cfg, err := loadConfig(g.configPath)
	if err != nil {
		return nil, nil, ums.User{}, err
	}
	if err := actionAllowed(cfg, needMail); err != nil {
		return nil, nil, ums.User{}, err
	}
	st, err := openExistingStore(cmd.Context(), g, cfg)
	if err != nil {
		return nil, nil, ums.User{}, err
	}
	u, err := st.User(cmd.Context(), id)
	if err == nil {
		err = checkTarget(&u, needMail, check)
	}
	if err != nil {
		st.Close()
		return nil, nil, ums.User{}, err
	}
	return cfg, st, u, nil
}

// actionAllowed refuses the admin actions on a staging server, and the
// ones that mail without a mail transport.
func actionAllowed(cfg *Config, needMail bool) error {
	if cfg.Sync.Mode == engine.ModeStaging {
		return errors.New("this umsync runs in staging mode (sync.mode): act on the active server")
	}
	if needMail && !cfg.Mail.Enabled() {
		return errors.New("mail.transport is not set: umsync sends no mails (see the mail: section)")
	}
	return nil
}

// passwordMailAllowed refuses password mails when users log in with their
// AD password (api.password_check: directory).
func passwordMailAllowed(cfg *Config, kind ums.MailKind) error {
	if kind == ums.MailPassword && cfg.API.PasswordCheck == api.CheckDirectory {
		return errors.New("users log in with their AD password (api.password_check: directory): umsync mails no passwords; reset it in AD")
	}
	return nil
}

// checkTarget refuses an action for a user without a mail address (when
// it mails), a deactivated one, or one check refuses.
func checkTarget(u *ums.User, needMail bool, check func(*ums.User) error) error {
	if needMail && u.Mail == "" {
		return fmt.Errorf("user '%s' has no mail address in AD: set one there first", u.SAMAccountName)
	}
	if u.State != ums.StateActive {
		return fmt.Errorf("user '%s' is deactivated (%s)", u.SAMAccountName, u.DeactivationReason)
	}
	if check != nil {
		return check(u)
	}
	return nil
}

// whenSent says who sends a queued mail.
const whenSent = "a running umsync serve sends it within seconds; see umsync mail queue"

// settingsToDirectory reports whether umsync writes the settings field to
// AD (sync.fields.settings is to_directory or both). Actions that change
// settings queue a directory write only then, as 'users set' does.
func settingsToDirectory(cfg *Config) bool {
	return cfg.Sync.FieldRules().Get(ums.FieldSettings).Direction != plan.FromDirectory
}
