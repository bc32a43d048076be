package main

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/umsync/umsync/store"
	"github.com/umsync/umsync/sync/plan"
	"github.com/umsync/umsync/ums"
)

// TestLicenseListsTheCapsOrder: `umsync license` lists the users waiting
// for a seat in the order the license cap gives them one, by profile
// priority (sales, then default, then none, as the config lists them),
// first seen and name; the store hands them over by anchor, which is not
// that order. The cap's order is found by the cap alone: with k seats,
// the user who gets a seat that k-1 seats did not give is the k-th.
func TestLicenseListsTheCapsOrder(t *testing.T) {
	cfgPath := goldenConfig(t) // holds cweiss, pending in profile default, first seen t0
	t0 := time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)
	pending := func(anchor, sam, settings string, first time.Duration) *ums.User {
		return &ums.User{Anchor: anchor, DN: "CN=" + sam + ",OU=Staff,DC=example,DC=test", SAMAccountName: sam,
			Settings: settings, Enabled: true, State: ums.StateActive, License: ums.LicensePending,
			FirstSeen: t0.Add(first), UpdatedAt: t0}
	}
	st := openConfigStore(t, cfgPath)
	ctx := context.Background()
	if _, err := st.ApplyCycle(ctx, store.CycleWrite{Users: []*ums.User{
		pending("01000000-0000-4000-8000-000000000001", "znone", "ums1;svc=fax", -240*time.Hour),
		pending("02000000-0000-4000-8000-000000000002", "ysales", "ums1;svc=fax;prof=sales", 5*time.Hour),
		pending("03000000-0000-4000-8000-000000000003", "xsales", "ums1;prof=sales", time.Hour),
		pending("04000000-0000-4000-8000-000000000004", "wdefault", "ums1;prof=default", 3*time.Hour),
		pending("05000000-0000-4000-8000-000000000005", "vdefault", "ums1;prof=default", 0),
	}, Run: store.Run{Mode: "delta", StartedAt: t0, Result: store.ResultSuccess}}); err != nil {
		t.Fatal(err)
	}
	rows, err := st.PendingLicenses(ctx)
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := loadConfig(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	priority := cfg.rules.Profiles.Priority

	var seats []plan.Seat
	sam := map[string]string{}
	var stored []string
	for _, u := range rows {
		seats = append(seats, plan.Seat{Anchor: u.Anchor, SAMAccountName: u.SAMAccountName, Eligible: true,
			License: u.License, FirstSeen: u.FirstSeen, Priority: priority(ums.ProfileOf(u.Settings))})
		sam[u.Anchor] = u.SAMAccountName
		stored = append(stored, u.SAMAccountName)
	}
	var capOrder []string
	granted := map[string]bool{}
	for k := 1; k <= len(seats); k++ {
		for _, a := range (&plan.Plan{}).ApplyLicenses(k, seats, t0, priority) {
			if !granted[a] {
				granted[a] = true
				capOrder = append(capOrder, sam[a])
			}
		}
	}
	want := []string{"xsales", "ysales", "cweiss", "vdefault", "wdefault", "znone"}
	if !slices.Equal(capOrder, want) {
		t.Fatalf("the cap gives seats in order %v, want %v", capOrder, want)
	}
	if slices.Equal(stored, want) {
		t.Fatalf("the store's order %v is the cap's: the test shows nothing", stored)
	}

	out, stderr, code := umsync(t, "license", "--output", "json", "--config", cfgPath)
	var lic licenseJSON
	if err := json.Unmarshal([]byte(out), &lic); err != nil || code != exitOK {
		t.Fatalf("license: exit %d %v\n%s", code, err, stderr)
	}
	var listed []string
	for _, u := range lic.PendingUsers {
		listed = append(listed, u.SAMAccountName)
	}
	if !slices.Equal(listed, capOrder) {
		t.Errorf("license --output json lists %v, the cap's order is %v", listed, capOrder)
	}
	out, _, _ = umsync(t, "license", "--config", cfgPath)
	var table []string
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) > 0 && granted[anchorOf(sam, f[0])] {
			table = append(table, f[0])
		}
	}
	if !slices.Equal(table, capOrder) {
		t.Errorf("license table lists %v, the cap's order is %v:\n%s", table, capOrder, out)
	}
}

// anchorOf is the anchor of sAMAccountName name in sam (anchor → name).
func anchorOf(sam map[string]string, name string) string {
	for a, n := range sam {
		if n == name {
			return a
		}
	}
	return ""
}
