package main

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"github.com/umsync/umsync/sync/engine"
)

func newSyncCmd(g *globals) *cobra.Command {
	var full, dryRun bool
	cmd := &cobra.Command{
		Use:   "sync",
		Short: "Run one sync cycle now and print a summary",
		Long: `Run one sync cycle and print what it did. With --dry-run, print every change
it would make (one line per user, one per changed field) and change nothing.
A failed cycle changes no user, is recorded in the run history and exits 1.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(g.configPath)
			if err != nil {
				return err
			}
			log := newLogger(cfg.Log, g.stderr)
			p, err := wire(cmd.Context(), cfg, log, prometheus.NewRegistry())
			if err != nil {
				return err
			}
			defer p.close()
			_ = full // the only mode until delta sync exists; accepted for scripts
			res, err := p.engine.Cycle(cmd.Context(), engine.Options{Mode: engine.ModeFull, DryRun: dryRun})
			if err != nil {
				return err
			}
			if dryRun {
				fmt.Fprintln(g.stdout, "dry run: nothing was changed")
				return res.Plan.Write(g.stdout)
			}
			r := res.Run
			_, err = fmt.Fprintf(g.stdout, "%s sync: read %d, created %d, updated %d, reactivated %d, deactivated %d, unchanged %d in %s\n",
				r.Mode, r.Read, r.Created, r.Updated, r.Reactivated, r.Deactivated, r.Unchanged, r.Duration.Round(1e6))
			return err
		},
	}
	cmd.Flags().BoolVar(&full, "full", false, "read every user in scope (the only mode so far)")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print the changes and change nothing")
	return cmd
}
