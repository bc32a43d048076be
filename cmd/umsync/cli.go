package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
)

// Exit codes (DESIGN.md's CLI contract).
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// usageError marks a mistake in how the command was called.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// silentError has already been reported on stderr; only the exit code is left.
type silentError struct{}

func (silentError) Error() string { return "" }

// run is the whole program: main only adds signals and os.Exit. Every
// file umsync creates (store, backups, exports, mail files) holds user
// data, so the process runs with umask 077 whatever it inherited.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	syscall.Umask(0o077)
	root := newRootCmd(stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	var ue usageError
	if errors.As(err, &ue) || strings.HasPrefix(err.Error(), "unknown command") {
		fmt.Fprintf(stderr, "umsync: %v\nRun 'umsync --help' for usage.\n", err)
		return exitUsage
	}
	if !errors.As(err, new(silentError)) {
		fmt.Fprintf(stderr, "umsync: %v\n", err)
	}
	return exitFailure
}

// globals are the flags every subcommand shares.
type globals struct {
	configPath string
	stdout     io.Writer
	stderr     io.Writer
}

func defaultConfigPath() string {
	if p := os.Getenv("UMSYNC_CONFIG"); p != "" {
		return p
	}
	return "/etc/umsync/umsync.yaml"
}

func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	g := &globals{stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:   "umsync",
		Short: "Keep a Unified Messaging system's users in step with Active Directory",
		Long: `umsync keeps a UMS's users in step with Active Directory: on a schedule it
pulls changes from AD into its SQLite store, writes the UMS-owned fields back,
records every run, and exposes Prometheus metrics and health endpoints.

The config file is --config, else $UMSYNC_CONFIG, else /etc/umsync/umsync.yaml.
Exit codes: 0 ok, 1 failure, 2 usage error.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.PersistentFlags().StringVar(&g.configPath, "config", defaultConfigPath(), "config file")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(
		newServeCmd(g),
		newSyncCmd(g),
		newCheckConfigCmd(g),
		newUsersCmd(g),
		newConflictsCmd(g),
		newRunsCmd(g),
		newLicenseCmd(g),
		newProblemsCmd(g),
		newMailCmd(g),
		newExportCmd(g),
		newImportCmd(g),
		newBackupCmd(g),
		newAPICmd(g),
		newVersionCmd(g),
	)
	rejectUnknownSubcommands(root)
	return root
}

// rejectUnknownSubcommands makes every command group (`users`, `mail` …)
// refuse a mistyped subcommand as a usage error with cobra's suggestion, as
// the top level does; cobra itself would print the group's help and exit 0.
func rejectUnknownSubcommands(cmd *cobra.Command) {
	for _, sub := range cmd.Commands() {
		rejectUnknownSubcommands(sub)
	}
	if !cmd.HasParent() || !cmd.HasSubCommands() || cmd.Run != nil || cmd.RunE != nil {
		return
	}
	cmd.SuggestionsMinimumDistance = 2 // cobra's default, set only on the root by Execute
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return cmd.Help()
		}
		msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
		if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
			msg += "\n\nDid you mean this?\n\t" + strings.Join(s, "\n\t") + "\n"
		}
		return usageError{errors.New(msg)}
	}
}

// exactArgs is cobra.ExactArgs returning a usage error.
func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := cobra.ExactArgs(n)(cmd, args); err != nil {
			return usageError{err}
		}
		return nil
	}
}

// noArgs is cobra.NoArgs returning a usage error.
func noArgs(cmd *cobra.Command, args []string) error {
	if err := cobra.NoArgs(cmd, args); err != nil {
		return usageError{err}
	}
	return nil
}

// outputFlag adds --output table|json.
func outputFlag(cmd *cobra.Command, dst *string) {
	cmd.Flags().StringVarP(dst, "output", "o", "table", "output format: table or json")
}

func checkOutput(format string) error {
	if format != "table" && format != "json" {
		return usageError{fmt.Errorf("--output must be table or json, got %q", format)}
	}
	return nil
}
