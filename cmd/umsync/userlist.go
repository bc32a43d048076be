package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

	"github.com/umsync/umsync/directory"
	"github.com/umsync/umsync/store"
	"github.com/umsync/umsync/ums"
)

func newUsersListCmd(g *globals) *cobra.Command {
	var output, search, state, profile, license, group string
	var limit, offset int
	cmd := &cobra.Command{
		Use:   "list [TEXT]",
		Short: "List users: search names, mail, extension and numbers; filter by group, profile, state, license",
		Long: `List users, ordered by sAMAccountName. TEXT (or --search) finds a substring of
the sAMAccountName, first, last or display name, mail, extension or any number.
--group asks AD for the group's members (nested groups count); the other
filters read the store only.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 || (len(args) == 1 && search != "") {
				return usageError{fmt.Errorf("give the search text once (TEXT or --search)")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				search = args[0]
			}
			if err := checkOutput(output); err != nil {
				return err
			}
			if state != "" && !ums.State(state).Valid() {
				return usageError{fmt.Errorf("--state must be active or deactivated, got %q", state)}
			}
			switch ums.LicenseState(license) {
			case "", ums.LicenseActive, ums.LicensePending, ums.LicenseNone:
			default:
				return usageError{fmt.Errorf("--license must be active, pending or none, got %q", license)}
			}
			if limit < 0 || offset < 0 {
				return usageError{fmt.Errorf("--limit and --offset must not be negative")}
			}
			cfg, err := loadConfig(g.configPath)
			if err != nil {
				return err
			}
			f := store.UserFilter{Search: search, State: ums.State(state), Profile: profile,
				License: ums.LicenseState(license), Limit: limit, Offset: offset}
			if group != "" {
				if f.Anchors, err = groupMembers(cmd.Context(), cfg, group); err != nil {
					return err
				}
			}
			st, err := openExistingStore(cmd.Context(), g, cfg)
			if err != nil {
				return err
			}
			defer st.Close()
			users, err := st.ListUsers(cmd.Context(), f)
			if err != nil {
				return err
			}
			if output == "json" {
				out := make([]ums.UserView, 0, len(users))
				for _, u := range users {
					out = append(out, ums.ViewOf(u))
				}
				return writeIndented(g.stdout, out)
			}
			return writeUserTable(g.stdout, users)
		},
	}
	cmd.Flags().StringVar(&search, "search", "", "text to find in names, mail, extension or numbers")
	cmd.Flags().StringVar(&state, "state", "", "only users in this state: active or deactivated")
	cmd.Flags().StringVar(&profile, "profile", "", `only users of this settings profile ("-": none)`)
	cmd.Flags().StringVar(&license, "license", "", "only users with this license state: active, pending or none")
	cmd.Flags().StringVar(&group, "group", "", "only members of this AD group (DN; asks AD)")
	cmd.Flags().IntVar(&limit, "limit", 0, "at most this many users (0: all)")
	cmd.Flags().IntVar(&offset, "offset", 0, "skip this many users first")
	outputFlag(cmd, &output)
	return cmd
}

// groupMembers asks AD for the users in scope in group (nested included).
func groupMembers(ctx context.Context, cfg *Config, group string) (map[string]bool, error) {
	dir, err := directory.New(cfg.Directory, zerolog.Nop())
	if err != nil {
		return nil, err
	}
	defer dir.Close()
	st, err := dir.State(ctx)
	if err != nil {
		return nil, err
	}
	return dir.Members(ctx, st, group)
}

func writeUserTable(w io.Writer, users []ums.User) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SAM ACCOUNT\tDISPLAY NAME\tEXTENSION\tMAIL\tPROFILE\tLICENSE\tSTATE")
	for _, u := range users {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", u.SAMAccountName, dash(u.DisplayName), dash(u.Extension), dash(u.Mail),
			dash(ums.ProfileOf(u.Settings)), u.License, u.State)
	}
	fmt.Fprintf(tw, "(%d users)\n", len(users))
	return tw.Flush()
}

// settingJSON is one effective setting and where it comes from.
type settingJSON = ums.EffectiveSetting

type auditJSON struct {
	At     string `json:"at"`
	Actor  string `json:"actor"`
	Action string `json:"action"`
	Field  string `json:"field"`
	Old    string `json:"old"`
	New    string `json:"new"`
}

// userShow is what `users show` prints besides the user's fields.
type userShow struct {
	Effective []settingJSON
	Problems  []string
	Mails     []mailJSON
	LastSync  string // "" before the first sync
	Audit     []auditJSON
}

// view is the user's view with the rest of what `users show` prints
// (keys in JSON order).
func (s userShow) view(u ums.User) ums.UserView {
	v := ums.ViewOf(u).With("effective_settings", s.Effective).With("problems", s.Problems).With("mails", s.Mails)
	if s.LastSync != "" {
		v = v.With("last_sync", s.LastSync)
	}
	return v.With("audit", s.Audit)
}

// effectiveSettings lists each setting of u with its value and source.
func effectiveSettings(cfg *Config, u *ums.User) []settingJSON {
	return ums.EffectiveSettings(cfg.rules.Profiles, cfg.Mail.Language, u)
}

func newUsersShowCmd(g *globals) *cobra.Command {
	var output string
	var auditLimit int
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "Show one user (ID = sAMAccountName, anchor or extension): fields, settings, license, problems, mails, changes",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			cfg, err := loadConfig(g.configPath)
			if err != nil {
				return err
			}
			st, err := openExistingStore(cmd.Context(), g, cfg)
			if err != nil {
				return err
			}
			defer st.Close()
			ctx := cmd.Context()
			u, err := st.User(ctx, args[0])
			if err != nil {
				return err
			}
			j := userShow{Effective: effectiveSettings(cfg, &u), Problems: []string{}, Mails: []mailJSON{}, Audit: []auditJSON{}}
			ps, err := st.Problems(ctx, u.Anchor)
			if err != nil {
				return err
			}
			for _, p := range ps {
				j.Problems = append(j.Problems, fmt.Sprintf("%s: %s", p.Field, p.Text))
			}
			ms, err := st.UserMails(ctx, u.Anchor)
			if err != nil {
				return err
			}
			for _, m := range ms {
				j.Mails = append(j.Mails, mailToJSON(m))
			}
			if last, err := st.LastSuccess(ctx); err == nil && !last.IsZero() {
				j.LastSync = last.UTC().Format(time.RFC3339)
			}
			as, err := st.Audit(ctx, u.Anchor, auditLimit)
			if err != nil {
				return err
			}
			for _, a := range as {
				j.Audit = append(j.Audit, auditJSON{At: a.At.UTC().Format(time.RFC3339), Actor: a.Actor, Action: a.Action,
					Field: a.Field, Old: a.Old, New: a.New})
			}
			if output == "json" {
				return writeIndented(g.stdout, j.view(u))
			}
			return writeUserShow(g.stdout, u, j)
		},
	}
	cmd.Flags().IntVar(&auditLimit, "changes", 10, "how many of the last audited changes to show")
	outputFlag(cmd, &output)
	return cmd
}

// writeUserShow prints the user's view as a table for people: every key
// in view order (lists and overrides joined with ", "), then the effective
// settings, problems, mails and changes.
func writeUserShow(w io.Writer, u ums.User, j userShow) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, m := range append(ums.ViewOf(u).Members(), ums.Member{Key: "last_sync", Value: j.LastSync}) {
		var text string
		switch v := m.Value.(type) {
		case []string:
			text = strings.Join(v, ", ")
		case map[string]string:
			text = overridesText(v)
		case nil:
		default:
			text = fmt.Sprint(v)
		}
		fmt.Fprintf(tw, "%s:\t%s\n", m.Key, dash(text))
	}
	fmt.Fprintln(tw, "\nSETTING\tVALUE\tFROM")
	for _, s := range j.Effective {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", s.Key, s.Value, s.Source)
	}
	fmt.Fprintf(tw, "\nproblems:\t%d\n", len(j.Problems))
	for _, p := range j.Problems {
		fmt.Fprintf(tw, "  %s\n", p)
	}
	fmt.Fprintf(tw, "mails not sent:\t%d\n", len(j.Mails))
	for _, m := range j.Mails {
		fmt.Fprintf(tw, "  #%d %s %s since %s (attempts %d) %s\n", m.ID, m.Kind, m.State, m.QueuedAt, m.Attempts, m.LastError)
	}
	fmt.Fprintf(tw, "last changes:\t%d\n", len(j.Audit))
	for _, a := range j.Audit {
		fmt.Fprintf(tw, "  %s  %s  %s %s: %q -> %q\n", a.At, a.Actor, a.Action, a.Field, a.Old, a.New)
	}
	return tw.Flush()
}
