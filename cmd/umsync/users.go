package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

	"github.com/umsync/umsync/store"
	"github.com/umsync/umsync/ums"
)

// userJSON is a user as `users list|show --output json` print it; the keys
// are the field names admins use everywhere (snake_case).
type userJSON struct {
	Anchor         string   `json:"anchor"`
	SAMAccountName string   `json:"sam_account_name"`
	DN             string   `json:"dn"`
	GivenName      string   `json:"given_name"`
	Surname        string   `json:"surname"`
	DisplayName    string   `json:"display_name"`
	Mail           string   `json:"mail"`
	Department     string   `json:"department"`
	Extension      string   `json:"extension"`
	Phone          string   `json:"phone"`
	Mobile         string   `json:"mobile"`
	FaxNumbers     []string `json:"fax_numbers"`
	AliasNumbers   []string `json:"alias_numbers"`
	Settings       string   `json:"settings"`
	Profile        string   `json:"profile"`
	// Overrides are the user's own settings over its profile's.
	Overrides   map[string]string `json:"overrides"`
	LicenseType string            `json:"license_type"`
	// Voicemail is the access level, or locked.
	Voicemail          string `json:"voicemail"`
	License            string `json:"license"`
	Enabled            bool   `json:"enabled"`
	State              string `json:"state"`
	DeactivationReason string `json:"deactivation_reason,omitempty"`
	FirstSeen          string `json:"first_seen"`
	UpdatedAt          string `json:"updated_at"`
	DeactivatedAt      string `json:"deactivated_at,omitempty"`
}

func toJSON(u ums.User) userJSON {
	fax, alias := u.FaxNumbers, u.AliasNumbers
	if fax == nil {
		fax = []string{}
	}
	if alias == nil {
		alias = []string{}
	}
	j := userJSON{
		Anchor: u.Anchor, SAMAccountName: u.SAMAccountName, DN: u.DN, GivenName: u.GivenName,
		Surname: u.Surname, DisplayName: u.DisplayName, Mail: u.Mail, Department: u.Department,
		Extension: u.Extension, Phone: u.Phone, Mobile: u.Mobile, FaxNumbers: fax, AliasNumbers: alias, Settings: u.Settings, License: string(u.License), Enabled: u.Enabled,
		State: string(u.State), DeactivationReason: u.DeactivationReason,
		FirstSeen: u.FirstSeen.UTC().Format(time.RFC3339), UpdatedAt: u.UpdatedAt.UTC().Format(time.RFC3339),
	}
	if !u.DeactivatedAt.IsZero() {
		j.DeactivatedAt = u.DeactivatedAt.UTC().Format(time.RFC3339)
	}
	// Unreadable settings or overrides are a recorded problem; shown as
	// they are (settings) or as none.
	s, _ := ums.ParseSettings(u.Settings)
	j.Profile, j.LicenseType, j.Voicemail = s.Profile, string(s.License()), string(s.Voicemail)
	if s.Voicemail == ums.VoicemailDisabled {
		j.Voicemail = "disabled"
	}
	if s.VoicemailLocked {
		j.Voicemail = "locked"
	}
	j.Overrides, _ = ums.ParseOverrides(u.Overrides)
	if j.Overrides == nil {
		j.Overrides = map[string]string{}
	}
	return j
}

// openStoreForReading opens the configured store, refusing to create a new
// empty one: a read command on a wrong path should say so.
func openStoreForReading(ctx context.Context, g *globals) (*store.Store, error) {
	cfg, err := loadConfig(g.configPath)
	if err != nil {
		return nil, err
	}
	return openExistingStore(ctx, g, cfg)
}

// openForOutput checks --output and opens the store for a read command.
func openForOutput(cmd *cobra.Command, g *globals, output string) (*store.Store, error) {
	if err := checkOutput(output); err != nil {
		return nil, err
	}
	return openStoreForReading(cmd.Context(), g)
}

// openExistingStore opens the store of cfg if it exists.
func openExistingStore(ctx context.Context, g *globals, cfg *Config) (*store.Store, error) {
	if _, err := os.Stat(cfg.Store.Path); errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("store %s does not exist yet: run `umsync sync` or `umsync serve` first", cfg.Store.Path)
	}
	return store.Open(ctx, cfg.Store, zerolog.New(g.stderr).Level(zerolog.WarnLevel))
}

func newUsersCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "users", Short: "List, show and edit the users in the store"}
	cmd.AddCommand(newUsersListCmd(g), newUsersShowCmd(g), newUsersSetCmd(g), newUsersResetSettingsCmd(g))
	cmd.AddCommand(newUserActionCmds(g)...)
	return cmd
}

func newUsersListCmd(g *globals) *cobra.Command {
	var output, search, state string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List users (search over names, mail, extension and numbers)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			if state != "" && !ums.State(state).Valid() {
				return usageError{fmt.Errorf("--state must be active or deactivated, got %q", state)}
			}
			st, err := openStoreForReading(cmd.Context(), g)
			if err != nil {
				return err
			}
			defer st.Close()
			users, err := st.ListUsers(cmd.Context(), store.UserFilter{Search: search, State: ums.State(state)})
			if err != nil {
				return err
			}
			if output == "json" {
				out := make([]userJSON, 0, len(users))
				for _, u := range users {
					out = append(out, toJSON(u))
				}
				return writeIndented(g.stdout, out)
			}
			return writeUserTable(g.stdout, users)
		},
	}
	cmd.Flags().StringVar(&search, "search", "", "text to find in names, mail, extension or numbers")
	cmd.Flags().StringVar(&state, "state", "", "only users in this state: active or deactivated")
	outputFlag(cmd, &output)
	return cmd
}

func writeUserTable(w io.Writer, users []ums.User) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SAM ACCOUNT\tDISPLAY NAME\tEXTENSION\tMAIL\tSTATE")
	for _, u := range users {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", u.SAMAccountName, u.DisplayName, dash(u.Extension), dash(u.Mail), u.State)
	}
	fmt.Fprintf(tw, "(%d users)\n", len(users))
	return tw.Flush()
}

func newUsersShowCmd(g *globals) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "Show one user (ID = sAMAccountName or anchor)",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := openForOutput(cmd, g, output)
			if err != nil {
				return err
			}
			defer st.Close()
			u, err := st.User(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			j := toJSON(u)
			if output == "json" {
				return writeIndented(g.stdout, j)
			}
			tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
			for _, row := range [][2]string{
				{"anchor", j.Anchor}, {"sam_account_name", j.SAMAccountName}, {"dn", j.DN},
				{"given_name", j.GivenName}, {"surname", j.Surname}, {"display_name", j.DisplayName},
				{"mail", j.Mail}, {"department", j.Department}, {"extension", j.Extension},
				{"phone", j.Phone}, {"mobile", j.Mobile}, {"fax_numbers", strings.Join(j.FaxNumbers, ", ")},
				{"alias_numbers", strings.Join(j.AliasNumbers, ", ")},
				{"settings", j.Settings}, {"profile", j.Profile}, {"overrides", overridesText(j.Overrides)},
				{"license_type", j.LicenseType}, {"voicemail", j.Voicemail}, {"license", j.License},
				{"enabled", fmt.Sprint(j.Enabled)}, {"state", j.State},
				{"deactivation_reason", j.DeactivationReason}, {"first_seen", j.FirstSeen},
				{"updated_at", j.UpdatedAt}, {"deactivated_at", j.DeactivatedAt},
			} {
				fmt.Fprintf(tw, "%s:\t%s\n", row[0], dash(row[1]))
			}
			ps, err := st.Problems(cmd.Context(), u.Anchor)
			if err != nil {
				return err
			}
			for _, p := range ps {
				fmt.Fprintf(tw, "problem:\t%s: %s\n", p.Field, p.Text)
			}
			ms, err := st.UserMails(cmd.Context(), u.Anchor)
			if err != nil {
				return err
			}
			for _, m := range ms {
				fmt.Fprintf(tw, "mail:\t%s %s since %s (attempts %d) %s\n", m.Kind, m.State,
					m.QueuedAt.UTC().Format(time.RFC3339), m.Attempts, m.LastError)
			}
			return tw.Flush()
		},
	}
	outputFlag(cmd, &output)
	return cmd
}

// overridesText shows overrides as key=value, in OverrideKeys order.
func overridesText(o map[string]string) string {
	var parts []string
	for _, k := range ums.OverrideKeys {
		if v, ok := o[k]; ok {
			parts = append(parts, k+"="+v)
		}
	}
	return strings.Join(parts, ", ")
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func writeIndented(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
