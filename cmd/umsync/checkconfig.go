package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/umsync/umsync/directory"
	"github.com/umsync/umsync/mail"
	"github.com/umsync/umsync/ums"
)

func newCheckConfigCmd(g *globals) *cobra.Command {
	var online bool
	var output string
	cmd := &cobra.Command{
		Use:   "check-config",
		Short: "Validate the config file and report every problem at once (--online: also check AD and SMTP)",
		Long: `Validate the config file and report every problem at once, each with its YAML path.
What is valid but weak (mail.bcrypt_cost below bcrypt's default) is a warning,
on stderr (with --online: a warn line); it does not fail the check.

With --online it also connects as configured, to each directory.url, and checks
what the first hour with a new AD usually finds out the hard way: the TLS
certificate (chain, name, days to expiry), the bind, each base DN and how many
users the filter finds, every mapped attribute in the AD schema, the write
rights on the attributes umsync writes back, change tracking (show-deleted or
DirSync), every group DN, page_size against the DC's MaxPageSize, and with
mail.transport: smtp the SMTP server (TLS and AUTH; no mail is sent). It
changes nothing. Exit 1 if any check fails.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			cfg, err := loadConfig(g.configPath)
			if err != nil {
				return err
			}
			warnings := cfg.Mail.Warnings("mail")
			if !online {
				fmt.Fprintf(g.stdout, "config %s: OK\n", g.configPath)
				for _, w := range warnings {
					fmt.Fprintf(g.stderr, "warning: %s\n", w)
				}
				return nil
			}
			checks := onlineChecks(cmd.Context(), cfg, time.Now())
			for _, w := range warnings {
				checks = append(checks, directory.Check{Name: "config", Status: directory.StatusWarn, Detail: w})
			}
			if output == "json" {
				err = writeChecksJSON(g.stdout, g.configPath, checks)
			} else {
				err = writeChecks(g.stdout, g.configPath, checks)
			}
			if err != nil {
				return err
			}
			if failed(checks) {
				return silentError{}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&online, "online", false, "also check the directory and the SMTP server")
	outputFlag(cmd, &output)
	return cmd
}

// onlineChecks runs the directory preflight and, with SMTP mail, the SMTP
// check.
func onlineChecks(ctx context.Context, cfg *Config, now time.Time) []directory.Check {
	in := directory.PreflightInput{Groups: map[string]string{}}
	for _, f := range sortedKeys(cfg.Sync.Fields) {
		if d := cfg.Sync.Fields[f].Direction; d != "" && d != "from_directory" {
			in.Writes = append(in.Writes, ums.Field(f))
		}
	}
	for i, p := range cfg.rules.Profiles {
		if p.Group != "" {
			in.Groups[fmt.Sprintf("profiles[%d].group", i)] = p.Group
		}
	}
	checks := directory.Preflight(ctx, cfg.Directory, in, now)
	if cfg.Mail.Transport == mail.TransportSMTP {
		c := directory.Check{Server: fmt.Sprintf("smtp://%s:%d", cfg.Mail.SMTP.Host, cfg.Mail.SMTP.Port), Name: "smtp"}
		if what, err := mail.CheckSMTP(ctx, cfg.Mail); err != nil {
			c.Status, c.Detail = directory.StatusFail, err.Error()
			c.Fix = "check mail.smtp (host, port, tls, username and password) and that this host may reach the server"
		} else {
			c.Status, c.Detail = directory.StatusOK, what+" (no mail sent)"
		}
		checks = append(checks, c)
	}
	return checks
}

func failed(checks []directory.Check) bool {
	for _, c := range checks {
		if c.Status == directory.StatusFail {
			return true
		}
	}
	return false
}

// writeChecks prints one line per check, the fix indented below a FAIL or
// warn, and a count per status.
func writeChecks(w io.Writer, path string, checks []directory.Check) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	count := map[directory.Status]int{}
	for _, c := range checks {
		count[c.Status]++
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.Status, c.Server, c.Name, c.Detail)
		if c.Fix != "" && c.Status != directory.StatusOK {
			fmt.Fprintf(tw, "\t\t\t→ %s\n", c.Fix)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "config %s: %d ok, %d warn, %d FAIL\n", path,
		count[directory.StatusOK], count[directory.StatusWarn], count[directory.StatusFail])
	return err
}

func writeChecksJSON(w io.Writer, path string, checks []directory.Check) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		Config string            `json:"config"`
		OK     bool              `json:"ok"`
		Checks []directory.Check `json:"checks"`
	}{path, !failed(checks), checks})
}
