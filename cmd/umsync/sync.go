package main

import (
	"bytes"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"github.com/umsync/umsync/sync/engine"
)

func newSyncCmd(g *globals) *cobra.Command {
	var full, dryRun, allowMass bool
	cmd := &cobra.Command{
		Use:   "sync",
		Short: "Run one sync cycle now and print a summary",
		Long: `Run one sync cycle and print what it did. By default it is a delta: only what
changed in AD since the last cycle is read. It runs full when there is no
usable watermark yet (first sync, another DC, a changed scope) and says why.
--full reads every user in scope; on a terminal a bar shows the users read,
the rate and the time left (against the previous full run's count).

With --dry-run, print every change it would make (one line per user, one per
changed field) and change nothing. A failed cycle changes no user, is recorded
in the run history and exits 1. A cycle that would deactivate more users than
sync.max_deactivations or sync.max_deactivation_percent allow changes nothing,
is recorded as stopped_safety and exits 1; --allow-mass-deactivation applies it.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(g.configPath)
			if err != nil {
				return err
			}
			log := newLogger(cfg.Log, g.stderr)
			role := "umsync sync"
			if dryRun {
				role = "" // writes nothing: allowed beside serve
			}
			p, err := wire(cmd.Context(), cfg, log, prometheus.NewRegistry(), role)
			if err != nil {
				return err
			}
			defer p.close()
			mode := engine.ModeDelta
			if full {
				mode = engine.ModeFull
			}
			stopBar := func() {}
			if isTerminal(g.stderr) {
				stopBar = showProgress(g.stderr, p.engine, lastFullRead(cmd.Context(), p.store), 200*time.Millisecond)
			}
			var printed bytes.Buffer // a dry run's plan, printed after what the cycle says
			opts := engine.Options{Mode: mode, DryRun: dryRun, AllowMassDeactivation: allowMass}
			if dryRun {
				opts.Print = &printed
			}
			res, err := p.engine.Cycle(cmd.Context(), opts)
			stopBar()
			if err != nil {
				return err
			}
			if res.FullBecause != "" {
				fmt.Fprintf(g.stdout, "full sync instead of a delta: %s\n", res.FullBecause)
			}
			if dryRun {
				fmt.Fprintln(g.stdout, "dry run: nothing was changed")
				_, err := printed.WriteTo(g.stdout)
				return err
			}
			r := res.Run
			_, err = fmt.Fprintf(g.stdout, "%s sync: read %d, created %d, updated %d, reactivated %d, deactivated %d, purged %d, unchanged %d in %s\n",
				r.Mode, r.Read, r.Created, r.Updated, r.Reactivated, r.Deactivated, r.Purged, r.Unchanged, r.Duration.Round(1e6))
			return err
		},
	}
	cmd.Flags().BoolVar(&full, "full", false, "read every user in scope, not only the changes")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print the changes and change nothing")
	cmd.Flags().BoolVar(&allowMass, "allow-mass-deactivation", false, "apply a cycle even if it deactivates more users than the safety limits allow")
	return cmd
}
