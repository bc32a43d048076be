package main

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/umsync/umsync/store"
	"github.com/umsync/umsync/sync/plan"
	"github.com/umsync/umsync/ums"
)

type licenseJSON struct {
	Seats        int                  `json:"seats"`
	Used         int                  `json:"used"`
	Pending      int                  `json:"pending"`
	UsedByType   map[string]int       `json:"used_by_type"`
	PendingUsers []pendingLicenseJSON `json:"pending_users"`
}

type pendingLicenseJSON struct {
	SAMAccountName string `json:"sam_account_name"`
	Anchor         string `json:"anchor"`
	DisplayName    string `json:"display_name"`
	FirstSeen      string `json:"first_seen"`
}

func newLicenseCmd(g *globals) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "license",
		Short: "Show the license count: seats, used, and who waits for a seat",
		Long: `Show license.seats, how many users hold a seat and which eligible users wait
for one (pending), in the order they get a free seat; used seats are counted
by license type (voice, admin: each uses one seat). A seat goes to a pending
user automatically when one frees (a user deactivated, or more seats).`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(g.configPath)
			if err != nil {
				return err
			}
			if err := checkOutput(output); err != nil {
				return err
			}
			st, err := openExistingStore(cmd.Context(), g, cfg)
			if err != nil {
				return err
			}
			defer st.Close()
			counts, err := st.CountLicenses(cmd.Context())
			if err != nil {
				return err
			}
			types, err := st.CountLicenseTypes(cmd.Context())
			if err != nil {
				return err
			}
			pending, err := pendingInWaitOrder(cmd.Context(), st, cfg.rules.Profiles)
			if err != nil {
				return err
			}
			out := licenseJSON{Seats: cfg.rules.Seats, Used: counts[ums.LicenseActive],
				Pending: counts[ums.LicensePending], PendingUsers: []pendingLicenseJSON{},
				UsedByType: map[string]int{"voice": types[ums.LicenseVoice], "admin": types[ums.LicenseAdmin]}}
			for _, u := range pending {
				out.PendingUsers = append(out.PendingUsers, pendingLicenseJSON{SAMAccountName: u.SAMAccountName,
					Anchor: u.Anchor, DisplayName: u.DisplayName, FirstSeen: u.FirstSeen.UTC().Format(time.RFC3339)})
			}
			if output == "json" {
				return writeIndented(g.stdout, out)
			}
			seats := fmt.Sprint(out.Seats)
			if out.Seats == 0 {
				seats = "no cap"
			}
			fmt.Fprintf(g.stdout, "seats: %s\nused: %d (voice %d, admin %d)\npending: %d\n", seats, out.Used,
				out.UsedByType["voice"], out.UsedByType["admin"], out.Pending)
			if len(pending) == 0 {
				return nil
			}
			tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "\nWAITING\tDISPLAY NAME\tFIRST SEEN")
			for _, u := range out.PendingUsers {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", u.SAMAccountName, dash(u.DisplayName), u.FirstSeen)
			}
			return tw.Flush()
		},
	}
	outputFlag(cmd, &output)
	return cmd
}

// pendingInWaitOrder returns the users waiting for a seat in the order the
// license cap gives them one (plan.WaitOrder, ranked by their profiles as
// the sync ranks them): `umsync license` and the status page list them so.
func pendingInWaitOrder(ctx context.Context, st *store.Store, profiles ums.Profiles) ([]ums.User, error) {
	pending, err := st.PendingLicenses(ctx)
	if err != nil {
		return nil, err
	}
	plan.WaitOrder(pending, profiles.Priority)
	return pending, nil
}
