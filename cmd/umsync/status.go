package main

import (
	_ "embed"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"time"

	"github.com/umsync/umsync/store"
	"github.com/umsync/umsync/ums"
)

//go:embed status.html
var statusHTML string

var statusTemplate = template.Must(template.New("status").Parse(statusHTML))

// statusPage is what the status page at / shows: counts only, unless
// telemetry.status_details lists names and error texts too.
type statusPage struct {
	Version, Now, NextRun  string
	Active, Deactivated    int
	Used, Pending          int
	SeatsText              string
	Conflicts, Problems    int
	MailQueued, MailFailed int
	MailOldest             string
	WritesPending          int
	API, APIText           string // on|off; where and how (details only)
	Runs                   []store.Run
	Details                bool
	PendingUsers           []string
	ProblemList            []store.UserProblem
	FailedMails            []store.Mail
}

// status renders the read-only status page.
func (d *daemon) status(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	w.Header().Set("Content-Security-Policy", statusCSP)
	w.Header().Set("X-Frame-Options", "DENY")
	st := d.parts.store
	cfg := d.cfg.Load()
	now := time.Now()
	p := statusPage{Version: readBuildInfo().Version, Now: now.UTC().Format("2006-01-02 15:04:05 UTC"),
		NextRun: d.sched.Load().Next().UTC().Format("2006-01-02 15:04:05 UTC"), Details: cfg.Telemetry.StatusDetails,
		SeatsText: "no cap", API: "off", APIText: "api.listen is not set"}
	if d.api != nil {
		p.API, p.APIText = "on", fmt.Sprintf("%d token(s), password check: %s", d.api.srv.Tokens().Count(), cfg.API.PasswordCheck)
		if cfg.Telemetry.StatusDetails {
			p.APIText = fmt.Sprintf("on %s (%s), ", d.APIAddr(), map[bool]string{true: "TLS", false: "loopback, no TLS"}[cfg.API.TLS()]) + p.APIText
		}
	}
	fail := func(err error) {
		d.log.Error().Err(err).Msg("status page")
		http.Error(w, "status unavailable: the store does not answer", http.StatusServiceUnavailable)
	}
	counts, err := st.CountByState(ctx)
	if err != nil {
		fail(err)
		return
	}
	p.Active, p.Deactivated = counts[ums.StateActive], counts[ums.StateDeactivated]
	lic, err := st.CountLicenses(ctx)
	if err != nil {
		fail(err)
		return
	}
	p.Used, p.Pending = lic[ums.LicenseActive], lic[ums.LicensePending]
	if cfg.rules.Seats > 0 {
		p.SeatsText = strconv.Itoa(cfg.rules.Seats)
	}
	if p.Conflicts, err = st.CountOpenConflicts(ctx); err != nil {
		fail(err)
		return
	}
	if p.Problems, err = st.CountProblems(ctx); err != nil {
		fail(err)
		return
	}
	depth, oldest, err := st.MailQueue(ctx, now)
	if err != nil {
		fail(err)
		return
	}
	p.MailQueued, p.MailOldest = depth, oldest.Round(time.Second).String()
	failed, err := st.Mails(ctx, store.MailFailed)
	if err != nil {
		fail(err)
		return
	}
	p.MailFailed = len(failed)
	writes, err := st.CountWrites(ctx)
	if err != nil {
		fail(err)
		return
	}
	p.WritesPending = writes[store.WritePending]
	if p.Runs, err = st.Runs(ctx, 10); err != nil {
		fail(err)
		return
	}
	if p.Details {
		pending, err := pendingInWaitOrder(ctx, st, cfg.rules.Profiles)
		if err != nil {
			fail(err)
			return
		}
		for _, u := range pending {
			p.PendingUsers = append(p.PendingUsers, u.SAMAccountName)
		}
		if p.ProblemList, err = st.Problems(ctx, ""); err != nil {
			fail(err)
			return
		}
		p.FailedMails = failed
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := statusTemplate.Execute(w, p); err != nil {
		d.log.Error().Err(err).Msg("status page")
	}
}
