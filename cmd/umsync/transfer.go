package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/umsync/umsync/store"
	"github.com/umsync/umsync/ums"
	"github.com/umsync/umsync/userfile"
)

func newExportCmd(g *globals) *cobra.Command {
	var format, out string
	cmd := &cobra.Command{
		Use:   "export [--format json|csv] [-o FILE]",
		Short: "Write every user with its UMS data (no secrets) to a file or stdout",
		Long: `Write every user in the store — directory fields, UMS settings and overrides,
license, state — as JSON or CSV (ixi-UMS' "Users export"), to move them to a new
server with 'umsync import'. No password or PIN hash is written. The file is
created 0600.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != userfile.JSON && format != userfile.CSV {
				return usageError{fmt.Errorf("--format must be json or csv, got %q", format)}
			}
			st, err := openStoreForReading(cmd.Context(), g)
			if err != nil {
				return err
			}
			defer st.Close()
			users, err := st.AllUsers(cmd.Context())
			if err != nil {
				return err
			}
			if out == "" || out == "-" {
				return userfile.Write(g.stdout, format, users)
			}
			if err := writeFileAtomic(out, func(w io.Writer) error { return userfile.Write(w, format, users) }); err != nil {
				return err
			}
			_, err = fmt.Fprintf(g.stderr, "%d users written to %s\n", len(users), out)
			return err
		},
	}
	cmd.Flags().StringVar(&format, "format", userfile.JSON, "json or csv")
	cmd.Flags().StringVarP(&out, "output", "o", "", "file to write (default: stdout)")
	return cmd
}

// writeFileAtomic writes path (0600) through a temporary file.
func writeFileAtomic(path string, write func(io.Writer) error) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".umsync-export-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

func newImportCmd(g *globals) *cobra.Command {
	var format string
	var replace, dryRun bool
	cmd := &cobra.Command{
		Use:   "import [--replace] [--dry-run] FILE",
		Short: "Read users from an export: merge them in, or replace every user",
		Long: `Read an 'umsync export' file (format from --format, else the file's extension).
Every row is checked first; any error imports nothing and lists every error with
its line and field.

Without --replace the users in the file are merged in: each replaces the user
with its anchor (or is added); the others stay. With --replace the store is made
equal to the file: users not in it are removed (ixi-UMS: "when users are
imported, all existing users are deleted"). Before that, umsync writes a backup
export beside the database (umsync-backup-<time>.json, restore it with
'umsync import --replace'). Either way it happens in one transaction, is audited,
and the next sync runs full to reconcile with AD. --dry-run prints what would be
added, changed and removed, and changes nothing.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := args[0]
			if format == "" {
				format = strings.TrimPrefix(strings.ToLower(filepath.Ext(path)), ".")
			}
			if format != userfile.JSON && format != userfile.CSV {
				return usageError{fmt.Errorf("--format must be json or csv (or a file ending in .json or .csv), got %q", format)}
			}
			cfg, err := loadConfig(g.configPath)
			if err != nil {
				return err
			}
			f, err := os.Open(path)
			if err != nil {
				return err
			}
			rules := userfile.Rules{Numbers: ums.NumberPlan{CountryCode: cfg.Directory.CountryCode}, Limits: cfg.rules.Limits}
			users, lines, err := userfile.Read(f, format, rules)
			f.Close()
			if err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			st, err := openExistingStore(cmd.Context(), g, cfg)
			if err != nil {
				return err
			}
			defer st.Close()
			now := time.Now()
			if replace && !dryRun {
				backup, err := backupUsers(cmd, st, cfg.Store.Path, now)
				if err != nil {
					return fmt.Errorf("backup before --replace: %w (nothing was imported)", err)
				}
				fmt.Fprintf(g.stdout, "backup of the current users: %s\n", backup)
			}
			res, err := st.ImportUsers(cmd.Context(), users, replace, dryRun, actor(), now)
			if clashes := (store.ImportClashes{}); errors.As(err, &clashes) {
				return fmt.Errorf("%s: %w", path, clashErrors(clashes, lines))
			}
			if err != nil {
				return err
			}
			verb := "imported"
			if dryRun {
				verb = "would import (dry run, nothing changed)"
			}
			fmt.Fprintf(g.stdout, "%s %d users: %d added, %d changed, %d removed\n", verb, len(users),
				len(res.Added), len(res.Changed), len(res.Removed))
			for _, l := range []struct {
				what  string
				names []string
			}{{"added", res.Added}, {"changed", res.Changed}, {"removed", res.Removed}} {
				for _, n := range l.names {
					fmt.Fprintf(g.stdout, "  %-8s %s\n", l.what, n)
				}
			}
			if !dryRun {
				fmt.Fprintln(g.stdout, "the next sync runs full to reconcile with AD")
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "", "json or csv (default: from the file's extension)")
	cmd.Flags().BoolVar(&replace, "replace", false, "remove every user not in the file (a backup is written first)")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print what would be added, changed and removed; change nothing")
	return cmd
}

// clashErrors names the line of each user whose sAMAccountName another
// active user in the store keeps.
func clashErrors(clashes store.ImportClashes, lines []int) userfile.Errors {
	var out userfile.Errors
	for _, c := range clashes {
		out = append(out, userfile.Error{Line: lines[c.Index], Field: "sam_account_name",
			Msg: fmt.Sprintf("%s is the sAMAccountName of another active user in the store (anchor %s)", c.SAMAccountName, c.Other.Anchor)})
	}
	return out
}

// backupUsers exports every user beside the database and returns the path.
func backupUsers(cmd *cobra.Command, st *store.Store, dbPath string, now time.Time) (string, error) {
	users, err := st.AllUsers(cmd.Context())
	if err != nil {
		return "", err
	}
	path := filepath.Join(filepath.Dir(dbPath), "umsync-backup-"+now.UTC().Format("20060102T150405.000Z")+".json")
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("%s exists", path)
	}
	return path, writeFileAtomic(path, func(w io.Writer) error { return userfile.Write(w, userfile.JSON, users) })
}
