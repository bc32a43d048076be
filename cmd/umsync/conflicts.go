package main

import (
	"fmt"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

type conflictJSON struct {
	ID             int64   `json:"id"`
	User           string  `json:"user"`
	Anchor         string  `json:"anchor"`
	Field          string  `json:"field"`
	DirectoryValue string  `json:"directory_value"`
	StoreValue     string  `json:"store_value"`
	BaseValue      *string `json:"base_value"`
	DetectedAt     string  `json:"detected_at"`
}

func newConflictsCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "conflicts", Short: "List and resolve fields changed differently in AD and in umsync"}
	var output string
	list := &cobra.Command{
		Use:   "list",
		Short: "List the open conflicts",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := openForOutput(cmd, g, output)
			if err != nil {
				return err
			}
			defer st.Close()
			cs, err := st.OpenConflicts(cmd.Context())
			if err != nil {
				return err
			}
			if output == "json" {
				out := make([]conflictJSON, 0, len(cs))
				for _, c := range cs {
					j := conflictJSON{ID: c.ID, User: c.SAMAccountName, Anchor: c.Anchor, Field: string(c.Field),
						DirectoryValue: c.Directory, StoreValue: c.Store,
						DetectedAt: c.DetectedAt.UTC().Format(time.RFC3339)}
					if c.HasBase {
						j.BaseValue = &c.Base
					}
					out = append(out, j)
				}
				return writeIndented(g.stdout, out)
			}
			tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tUSER\tFIELD\tIN AD\tIN UMSYNC\tLAST AGREED")
			for _, c := range cs {
				base := "(none)"
				if c.HasBase {
					base = fmt.Sprintf("%q", c.Base)
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%q\t%q\t%s\n", c.ID, c.SAMAccountName, c.Field, c.Directory, c.Store, base)
			}
			fmt.Fprintf(tw, "(%d conflicts)\n", len(cs))
			return tw.Flush()
		},
	}
	outputFlag(list, &output)
	var take string
	resolve := &cobra.Command{
		Use:   "resolve ID --take directory|store",
		Short: "Resolve a conflict by taking AD's value or umsync's",
		Long: `Resolve a conflict. --take directory copies AD's value into umsync; --take store
queues umsync's value for AD (the next sync cycle writes it). Audited.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if take != "directory" && take != "store" {
				return usageError{fmt.Errorf("--take must be directory or store, got %q", take)}
			}
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil {
				return usageError{fmt.Errorf("conflict ID %q is not a number", args[0])}
			}
			st, err := openStoreForReading(cmd.Context(), g)
			if err != nil {
				return err
			}
			defer st.Close()
			c, err := st.ResolveConflict(cmd.Context(), id, take, actor(), time.Now())
			if err != nil {
				return err
			}
			v, where := c.Directory, "kept in umsync"
			if take == "store" {
				v, where = c.Store, "queued for AD"
			}
			_, err = fmt.Fprintf(g.stdout, "conflict %d resolved: %s %s = %q (%s)\n", id, c.SAMAccountName, c.Field, v, where)
			return err
		},
	}
	resolve.Flags().StringVar(&take, "take", "", "directory or store")
	cmd.AddCommand(list, resolve)
	return cmd
}
