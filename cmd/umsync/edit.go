package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/umsync/umsync/store"
	"github.com/umsync/umsync/sync/engine"
	"github.com/umsync/umsync/sync/plan"
	"github.com/umsync/umsync/ums"
)

// actor is who runs the CLI, for the audit trail: the user behind sudo if
// there is one.
func actor() string {
	if u := os.Getenv("SUDO_USER"); u != "" {
		return u
	}
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return "uid " + strconv.Itoa(os.Getuid())
}

func newUsersSetCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "set ID field=value...",
		Short: "Change UMS fields or settings of a user; the change is queued for AD",
		Long: `Change fields or settings of one user in the store (ID = sAMAccountName or
anchor).

Fields are the keys of 'users list --output json'. Only fields that umsync
writes to AD (sync.fields: to_directory or both) can be set; the others come
from AD. Numbers are normalized to E.164, extensions must be digits.

Settings are set as the user's own overrides of its profile (see profiles: in
the config): voicemail (disabled|mailbox_only|phone_login|phone_login_remote),
services (none or fax,sms,voice), rings (2-10), language (de|en), license_type
(voice|admin), call_forwarding (off, a number or an extension), do_not_disturb
(on|off). An empty value (rings=) drops that override; 'users reset-settings'
drops them all. Without profiles, settings=<umsync format> sets them whole.

Each change is audited with your OS user and queued for AD: the next sync cycle
writes it (with the value it replaces as precondition) and a conflict is
recorded if AD changed meanwhile.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 2 {
				return usageError{errors.New("want ID and at least one field=value")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := loadConfig(g.configPath)
			if err != nil {
				return err
			}
			rules := cfg.Sync.FieldRules()
			numbers := ums.NumberPlan{CountryCode: cfg.Directory.CountryCode}
			limits := cfg.rules.Limits
			type fieldArg struct {
				f ums.Field
				v string
			}
			var fields []fieldArg
			overrides := map[string]string{}
			for _, arg := range args[1:] {
				name, raw, ok := strings.Cut(arg, "=")
				if !ok {
					return usageError{fmt.Errorf("%q: want field=value", arg)}
				}
				if slices.Contains(ums.OverrideKeys, name) {
					if err := (ums.Overrides{}).Set(name, raw, numbers); err != nil {
						return err
					}
					overrides[name] = raw
					continue
				}
				f := ums.Field(name)
				if !slices.Contains(ums.Fields, f) {
					return usageError{fmt.Errorf("unknown field %q (settings: %s)", name, strings.Join(ums.OverrideKeys, ", "))}
				}
				if !slices.Contains(ums.Writable, f) || rules.Get(f).Direction == plan.FromDirectory {
					return fmt.Errorf("%s comes from AD (sync.fields.%s): change it there", name, name)
				}
				if f == ums.FieldSettings && len(cfg.rules.Profiles) > 0 {
					return fmt.Errorf("settings are computed from the profile and the user's overrides: set %s instead",
						strings.Join(ums.OverrideKeys, "=, ")+"=")
				}
				v, err := normalizeField(f, raw, numbers, limits)
				if err != nil {
					return fmt.Errorf("%s: %w", name, err)
				}
				fields = append(fields, fieldArg{f, v})
			}
			return changeUser(cmd, g, cfg, args[0], "set", func(u *ums.User) ([]store.Edit, error) {
				var edits []store.Edit
				for _, fa := range fields {
					edits = append(edits, store.Edit{Field: fa.f, New: fa.v, Write: true, WriteOld: u.BaseOf(fa.f)})
				}
				if len(overrides) == 0 {
					return edits, nil
				}
				o, err := ums.ParseOverrides(u.Overrides)
				if err != nil {
					return nil, fmt.Errorf("stored overrides: %w", err)
				}
				for _, k := range sortedKeys(overrides) {
					if err := o.Set(k, overrides[k], numbers); err != nil {
						return nil, err
					}
				}
				u.Overrides = o.Encode()
				e, err := settingsEdit(cfg, u, o, g.stderr)
				return append(edits, e...), err
			})
		},
	}
}

func newUsersResetSettingsCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "reset-settings ID",
		Short: "Drop a user's own settings: back to its profile's (queued for AD)",
		Long: `Drop every override of one user (ID = sAMAccountName or anchor), so its
settings are its profile's again (XPhone's "reset to the configuration group
settings"). Without profiles, the user is left with no settings. The voicemail
lock stays (unlock is its own action). Audited; the new settings are queued for AD.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := loadConfig(g.configPath)
			if err != nil {
				return err
			}
			return changeUser(cmd, g, cfg, args[0], "reset-settings", func(u *ums.User) ([]store.Edit, error) {
				if u.Overrides == "" {
					fmt.Fprintf(g.stdout, "%s has no overrides\n", u.SAMAccountName)
				}
				u.Overrides = ""
				return settingsEdit(cfg, u, ums.Overrides{}, g.stderr)
			})
		},
	}
}

// changeUser runs change on one user in a store transaction and prints
// what changed. Refused on a staging server.
func changeUser(cmd *cobra.Command, g *globals, cfg *Config, id, action string,
	change func(u *ums.User) ([]store.Edit, error)) error {
	if cfg.Sync.Mode == engine.ModeStaging {
		return errors.New("this umsync runs in staging mode (sync.mode): make changes on the active server")
	}
	st, err := openExistingStore(cmd.Context(), g, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	u, err := st.User(cmd.Context(), id)
	if err != nil {
		return err
	}
	overrides := u.Overrides
	var edits []store.Edit
	after, err := st.UpdateUser(cmd.Context(), u.Anchor, actor(), action, func(u *ums.User) ([]store.Edit, error) {
		var err error
		edits, err = change(u)
		return edits, err
	}, time.Now())
	if err != nil {
		return err
	}
	if after.Overrides != overrides {
		fmt.Fprintf(g.stdout, "%s overrides: %s -> %s\n", after.SAMAccountName, dash(overrides), dash(after.Overrides))
	}
	for _, e := range edits {
		fmt.Fprintf(g.stdout, "%s %s: %q -> %q (queued for AD)\n", after.SAMAccountName, e.Field, u.Get(e.Field), e.New)
	}
	return nil
}

// settingsEdit is the edit that gives u the settings its profile and the
// overrides o make (none if they are what u has): with profiles, the
// profile u's settings name plus o, the MiVoice rule applied; without,
// u's own settings with o on top (o empty: none). The voicemail lock stays.
func settingsEdit(cfg *Config, u *ums.User, o ums.Overrides, warn io.Writer) ([]store.Edit, error) {
	cur, err := ums.ParseSettings(u.Settings)
	if err != nil {
		return nil, fmt.Errorf("the settings in AD are not in a format umsync reads (%v): fix them there first", err)
	}
	if cfg.Sync.FieldRules().Get(ums.FieldSettings).Direction == plan.FromDirectory {
		return nil, errors.New("settings come from AD (sync.fields.settings): change them there")
	}
	var s ums.Settings
	if profiles := cfg.rules.Profiles; len(profiles) > 0 {
		var p *ums.Problem
		if s, p = profiles.Effective(profiles.Index(cur.Profile), o, cur, u.Extension, cfg.rules.VoicemailDigits); p != nil {
			fmt.Fprintf(warn, "warning: %s\n", p.Text)
		}
	} else if len(o) > 0 {
		s = o.Apply(cur)
	} else {
		s = ums.Settings{VoicemailLocked: cur.VoicemailLocked}
	}
	if enc := s.Encode(); enc != u.Settings {
		return []store.Edit{{Field: ums.FieldSettings, New: enc, Write: true, WriteOld: u.BaseOf(ums.FieldSettings)}}, nil
	}
	return nil, nil
}

// normalizeField checks and normalizes a value an admin typed. Numbers
// and extensions must pass the rule the sync checks (ums.CheckNumber,
// Limits.CheckExtension): a value it would record as a problem is refused
// here, before anything is queued for AD.
func normalizeField(f ums.Field, raw string, numbers ums.NumberPlan, limits ums.Limits) (string, error) {
	v := strings.TrimSpace(raw)
	if v == "" {
		return "", nil
	}
	number := func(x string) (string, error) {
		n, ok := numbers.NormalizeE164(x)
		if !ok {
			return "", fmt.Errorf("%q is not a phone number", strings.TrimSpace(x))
		}
		return n, ums.CheckNumber(n)
	}
	switch f {
	case ums.FieldExtension:
		ext, ok := ums.NormalizeExtension(v)
		if !ok {
			return "", fmt.Errorf("%q is not an extension (digits only)", v)
		}
		return ext, limits.CheckExtension(ext)
	case ums.FieldPhone, ums.FieldMobile:
		return number(v)
	case ums.FieldFaxNumbers, ums.FieldAliasNumbers:
		var out []string
		for _, x := range ums.SplitList(v) {
			n, err := number(x)
			if err != nil {
				return "", err
			}
			out = append(out, n)
		}
		return ums.JoinList(out), nil
	case ums.FieldSettings:
		s, err := ums.ParseSettings(v)
		if err != nil {
			return "", err
		}
		return s.Encode(), nil
	}
	return v, nil
}
