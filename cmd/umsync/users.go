package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

	"github.com/umsync/umsync/store"
	"github.com/umsync/umsync/ums"
)

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
