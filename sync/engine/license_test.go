package engine_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/umsync/umsync/sync/engine"
	"github.com/umsync/umsync/ums"
)

func (r *rig) licensed(t *testing.T) (active, pending []string) {
	t.Helper()
	for sam, u := range r.users(t) {
		switch u.License {
		case ums.LicenseActive:
			active = append(active, sam)
		case ums.LicensePending:
			pending = append(pending, sam)
		}
	}
	slices.Sort(active)
	slices.Sort(pending)
	return active, pending
}

// TestLicenseCap: 15 eligible users and 10 seats give the same 10 seats on
// every cycle; 8 seats take them from the most recently activated; a
// deactivated user's seat goes to the first pending one.
func TestLicenseCap(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	dns := r.lab.AddUsers(t, r.ou, r.sam+"lic", 15)
	r.ums.LicenseSeats = 10
	r.ums.Mail = true
	e := r.engine(t, nil)
	r.cycle(t, e)
	// The 10 users with a seat get their info mail; the admins one alert.
	ms, _ := r.store.Mails(context.Background(), "")
	kinds := map[ums.MailKind]int{}
	for _, m := range ms {
		kinds[m.Kind]++
		if m.Kind == ums.MailAlert && (m.Cause != "license" || !strings.Contains(m.Body, "all 10 seats (license.seats) are used and 5 users wait")) {
			t.Errorf("alert %q: %s", m.Cause, m.Body)
		}
	}
	if kinds[ums.MailInfo] != 10 || kinds[ums.MailAlert] != 1 || kinds[ums.MailPassword] != 0 || len(ms) != 11 {
		t.Errorf("mails queued by the first cycle: %v", kinds)
	}
	active, pending := r.licensed(t)
	want := []string{"lic0", "lic1", "lic10", "lic11", "lic12", "lic13", "lic14", "lic2", "lic3", "lic4"}
	if !slices.Equal(active, want) || len(pending) != 5 {
		t.Fatalf("active %v pending %v, want %v and 5 pending", active, pending, want)
	}
	for _, mode := range []engine.Mode{engine.ModeFull, engine.ModeDelta, engine.ModeFull} {
		res, err := e.Cycle(context.Background(), engine.Options{Mode: mode})
		if err != nil {
			t.Fatal(err)
		}
		if a, _ := r.licensed(t); !slices.Equal(a, want) || res.Plan.Len() != 0 {
			t.Fatalf("%s cycle changed the seats: %v, actions %+v", mode, a, res.Plan.Actions)
		}
	}
	if v := metric(t, r.reg, "umsync_license_used"); v != 10 {
		t.Errorf("license_used = %v", v)
	}

	// Fewer seats: the most recently activated lose theirs (all got them in
	// the same cycle, so the later first seen, then the greater name).
	r.ums.LicenseSeats = 8
	e = r.engine(t, nil)
	res := r.delta(t, e)
	active, pending = r.licensed(t)
	if slices.Contains(active, "lic4") || slices.Contains(active, "lic3") || len(active) != 8 ||
		!slices.Contains(pending, "lic3") || !slices.Contains(pending, "lic4") {
		t.Fatalf("after shrinking to 8: active %v pending %v", active, pending)
	}
	if res.Run.Updated != 2 {
		t.Errorf("shrinking changed %d users, want 2", res.Run.Updated)
	}

	// An active user leaves: the first pending user (lic3) gets the seat.
	r.lab.Modify(t, dns[0], "userAccountControl", "514")
	r.delta(t, e)
	active, pending = r.licensed(t)
	if slices.Contains(active, "lic0") || !slices.Contains(active, "lic3") || len(active) != 8 || len(pending) != 6 {
		t.Errorf("after lic0 left: active %v pending %v", active, pending)
	}
	if u := r.users(t)["lic0"]; u.License != ums.LicenseNone {
		t.Errorf("a deactivated user keeps license %q", u.License)
	}
	for name, want := range map[string]float64{"umsync_license_seats": 8, "umsync_license_used": 8, "umsync_license_pending": 6} {
		if v := metric(t, r.reg, name); v != want {
			t.Errorf("%s = %v, want %v", name, v, want)
		}
	}
	// The reason is in the plan (and the log).
	for _, a := range res.Plan.Actions {
		if !strings.Contains(a.License, "seats reduced to 8") {
			t.Errorf("%s: license reason %q", a.After.SAMAccountName, a.License)
		}
	}
}
