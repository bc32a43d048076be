package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
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
	j.Profile, j.LicenseType, j.Voicemail = s.Profile, string(s.License()), s.VoicemailState()
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
