package main

import (
	"errors"
	"fmt"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/umsync/umsync/store"
	"github.com/umsync/umsync/ums"
)

type mailJSON struct {
	ID            int64  `json:"id"`
	Kind          string `json:"kind"`
	User          string `json:"user,omitempty"`
	Anchor        string `json:"anchor,omitempty"`
	Cause         string `json:"cause,omitempty"`
	State         string `json:"state"`
	Attempts      int    `json:"attempts"`
	QueuedAt      string `json:"queued_at"`
	NextAttemptAt string `json:"next_attempt_at,omitempty"`
	LastError     string `json:"last_error,omitempty"`
}

func mailToJSON(m store.Mail) mailJSON {
	j := mailJSON{ID: m.ID, Kind: string(m.Kind), User: m.SAMAccountName, Anchor: m.Anchor, Cause: m.Cause,
		State: m.State, Attempts: m.Attempts, QueuedAt: m.QueuedAt.UTC().Format(time.RFC3339), LastError: m.LastError}
	if m.State == store.MailQueued {
		j.NextAttemptAt = m.NextAttemptAt.UTC().Format(time.RFC3339)
	}
	return j
}

func newMailCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "mail", Short: "See and retry the mails waiting in the outbox"}
	var output string
	queue := &cobra.Command{
		Use:   "queue",
		Short: "List the mails not sent yet: queued (waiting or retrying), sending and failed",
		Long: `List the mails not sent yet, oldest first. queued mails wait for their next
attempt (a server that is down or answers 4xx is retried: 2 s, 4 s … at most
mail.retry_max); a sending mail is claimed by a worker now (a killed worker's
claim ends after 30 s); failed mails got mail.reject_attempts 5xx answers, or
cannot be sent (no mail address, an address with control characters, user
gone): see last_error, then 'umsync mail retry'.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := openForOutput(cmd, g, output)
			if err != nil {
				return err
			}
			defer st.Close()
			all, err := st.Mails(cmd.Context(), "")
			if err != nil {
				return err
			}
			out := []mailJSON{}
			for _, m := range all {
				if m.State != store.MailSent {
					out = append(out, mailToJSON(m))
				}
			}
			if output == "json" {
				return writeIndented(g.stdout, out)
			}
			tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tKIND\tTO\tSTATE\tATTEMPTS\tQUEUED\tNEXT ATTEMPT\tLAST ERROR")
			for _, m := range out {
				to := m.User
				if m.Kind == string(ums.MailAlert) {
					to = "admins (" + m.Cause + ")"
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", m.ID, m.Kind, dash(to), m.State, m.Attempts, m.QueuedAt,
					dash(m.NextAttemptAt), dash(m.LastError))
			}
			fmt.Fprintf(tw, "(%d mails not sent)\n", len(out))
			return tw.Flush()
		},
	}
	outputFlag(queue, &output)
	var all bool
	retry := &cobra.Command{
		Use:   "retry ID|--all",
		Short: "Queue failed mails again (the running serve sends them within seconds)",
		Args: func(cmd *cobra.Command, args []string) error {
			if all == (len(args) == 1) || len(args) > 1 {
				return usageError{errors.New("want a mail ID or --all")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			var id int64
			if !all {
				var err error
				if id, err = strconv.ParseInt(args[0], 10, 64); err != nil || id <= 0 {
					return usageError{fmt.Errorf("mail ID %q is not a number", args[0])}
				}
			}
			st, err := openStoreForReading(cmd.Context(), g)
			if err != nil {
				return err
			}
			defer st.Close()
			n, err := st.RetryMails(cmd.Context(), id, time.Now())
			if err != nil {
				return err
			}
			if n == 0 && !all {
				return fmt.Errorf("mail %d is not a failed mail: see umsync mail queue", id)
			}
			_, err = fmt.Fprintf(g.stdout, "%d mail(s) queued again\n", n)
			return err
		},
	}
	retry.Flags().BoolVar(&all, "all", false, "every failed mail")
	cmd.AddCommand(queue, retry)
	return cmd
}
