package main

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

type problemJSON struct {
	User       string `json:"user"`
	Anchor     string `json:"anchor"`
	Field      string `json:"field"`
	Problem    string `json:"problem"`
	DetectedAt string `json:"detected_at"`
}

func newProblemsCmd(g *globals) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "problems",
		Short: "List what is wrong with users' fields (invalid numbers, duplicates, no free extension…)",
		Long: `List the problems recorded for users: a number that is not E.164, an extension
of the wrong length, the same extension or mobile number on two active users, a
user the extension pool had no number for, settings umsync cannot read. A
problem never stops a sync; it is recorded when the user is read and cleared
when the cause is fixed.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := openForOutput(cmd, g, output)
			if err != nil {
				return err
			}
			defer st.Close()
			ps, err := st.Problems(cmd.Context(), "")
			if err != nil {
				return err
			}
			out := make([]problemJSON, 0, len(ps))
			for _, p := range ps {
				out = append(out, problemJSON{User: p.SAMAccountName, Anchor: p.Anchor, Field: string(p.Field),
					Problem: p.Text, DetectedAt: p.DetectedAt.UTC().Format(time.RFC3339)})
			}
			if output == "json" {
				return writeIndented(g.stdout, out)
			}
			tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "USER\tFIELD\tPROBLEM")
			for _, p := range out {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", p.User, p.Field, p.Problem)
			}
			fmt.Fprintf(tw, "(%d problems)\n", len(out))
			return tw.Flush()
		},
	}
	outputFlag(cmd, &output)
	return cmd
}
