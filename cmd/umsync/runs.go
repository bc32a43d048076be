package main

import (
	"fmt"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/umsync/umsync/store"
)

type runJSON struct {
	ID          int64   `json:"id"`
	Mode        string  `json:"mode"`
	StartedAt   string  `json:"started_at"`
	DurationSec float64 `json:"duration_seconds"`
	Read        int     `json:"read"`
	Created     int     `json:"created"`
	Updated     int     `json:"updated"`
	Reactivated int     `json:"reactivated"`
	Deactivated int     `json:"deactivated"`
	Purged      int     `json:"purged"`
	Unchanged   int     `json:"unchanged"`
	Result      string  `json:"result"`
	Error       string  `json:"error,omitempty"`
	Plan        string  `json:"plan,omitempty"`
}

type dirWriteJSON struct {
	ID        int64  `json:"id"`
	Anchor    string `json:"anchor"`
	Field     string `json:"field"`
	Old       string `json:"old"`
	New       string `json:"new"`
	Status    string `json:"status"`
	Attempts  int    `json:"attempts"`
	LastError string `json:"last_error,omitempty"`
}

func newRunsCmd(g *globals) *cobra.Command {
	var output, writes string
	var limit int
	cmd := &cobra.Command{
		Use:   "runs [ID]",
		Short: "Show the sync run history, a run's plan, or the AD writes",
		Long: `List the last sync runs, newest first (mode, result, counts, error). With an ID,
show that run, with the plan a staging cycle recorded. With --writes STATUS,
list the AD writes in that state instead: pending, done, rejected (AD changed
meanwhile), failed (for good, with the reason) or all.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return usageError{fmt.Errorf("at most one run ID")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := openForOutput(cmd, g, output)
			if err != nil {
				return err
			}
			defer st.Close()
			if writes != "" {
				status := writes
				if status == "all" {
					status = ""
				}
				ws, err := st.Writes(cmd.Context(), status, limit)
				if err != nil {
					return err
				}
				return printWrites(g, output, ws)
			}
			n := limit
			var id int64
			if len(args) == 1 {
				if id, err = strconv.ParseInt(args[0], 10, 64); err != nil {
					return usageError{fmt.Errorf("run ID %q is not a number", args[0])}
				}
				n = 1 << 30
			}
			runs, err := st.Runs(cmd.Context(), n)
			if err != nil {
				return err
			}
			out := make([]runJSON, 0, len(runs))
			for _, r := range runs {
				if id != 0 && r.ID != id {
					continue
				}
				out = append(out, runJSON{ID: r.ID, Mode: r.Mode, StartedAt: r.StartedAt.UTC().Format(time.RFC3339),
					DurationSec: r.Duration.Seconds(), Read: r.Read, Created: r.Created, Updated: r.Updated,
					Reactivated: r.Reactivated, Deactivated: r.Deactivated, Purged: r.Purged, Unchanged: r.Unchanged,
					Result: r.Result, Error: r.Error, Plan: r.Plan})
			}
			if id != 0 && len(out) == 0 {
				return fmt.Errorf("run %d: %w", id, store.ErrNotFound)
			}
			if output == "json" {
				if id != 0 {
					return writeIndented(g.stdout, out[0])
				}
				return writeIndented(g.stdout, out)
			}
			tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tSTARTED\tMODE\tRESULT\tDURATION\tREAD\tCREATED\tUPDATED\tREACTIVATED\tDEACTIVATED\tPURGED\tERROR")
			for _, r := range out {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%.1fs\t%d\t%d\t%d\t%d\t%d\t%d\t%s\n", r.ID, r.StartedAt, r.Mode, r.Result,
					r.DurationSec, r.Read, r.Created, r.Updated, r.Reactivated, r.Deactivated, r.Purged, dash(r.Error))
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			if id != 0 && out[0].Plan != "" {
				fmt.Fprintf(g.stdout, "\nplan recorded (staging, not carried out):\n%s", out[0].Plan)
			}
			return nil
		},
	}
	cmd.Flags().IntVar(&limit, "limit", 20, "how many")
	cmd.Flags().StringVar(&writes, "writes", "", "list AD writes instead: pending, done, rejected, failed or all")
	outputFlag(cmd, &output)
	return cmd
}

func printWrites(g *globals, output string, ws []store.DirectoryWrite) error {
	out := make([]dirWriteJSON, 0, len(ws))
	for _, w := range ws {
		out = append(out, dirWriteJSON{ID: w.ID, Anchor: w.Anchor, Field: string(w.Field), Old: w.Old, New: w.New,
			Status: w.Status, Attempts: w.Attempts, LastError: w.LastError})
	}
	if output == "json" {
		return writeIndented(g.stdout, out)
	}
	tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tUSER ANCHOR\tFIELD\tOLD\tNEW\tSTATUS\tATTEMPTS\tLAST ERROR")
	for _, w := range out {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%q\t%q\t%s\t%d\t%s\n", w.ID, w.Anchor, w.Field, w.Old, w.New, w.Status, w.Attempts, dash(w.LastError))
	}
	fmt.Fprintf(tw, "(%d writes)\n", len(out))
	return tw.Flush()
}
