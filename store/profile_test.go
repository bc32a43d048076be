package store

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/umsync/umsync/ums"
)

// TestProfileIsProfileOf: the queries that filter by profile read it from
// the settings in SQL as ums.ProfileOf does in Go.
func TestProfileIsProfileOf(t *testing.T) {
	s, _ := openTest(t)
	for _, settings := range []string{
		"",
		"ums1",
		"ums1;prof=sales",
		"ums1;vm=phone_login;svc=fax,sms,voice;rings=4;prof=sales-2",
		"ums1;rings=4",
		"ums1;cfwd=+4930123;dnd=1;prof=a_b",
		"prof=x", // no leading ';': not a prof key
	} {
		for _, p := range []string{"", "sales", "sales-2", "a_b", "x", "2", "a%b"} {
			cond, args := profileIs(p)
			var got bool
			// cond's placeholders come first in the text, then the settings.
			if err := s.read.QueryRow(`SELECT `+cond+` FROM (SELECT ? AS settings)`, append(args, settings)...).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if want := ums.ProfileOf(settings) == p; got != want {
				t.Errorf("profile of %q is %q: SQL says %v, ums.ProfileOf says %v", settings, p, got, want)
			}
		}
	}
}

// TestProfileQueries: ListUsers filters by the settings' profile ("-":
// none), and ProfileAnchors lists the active users of other profiles.
func TestProfileQueries(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	now := time.Now()
	a := testUser("aaaaaaaa-0000-0000-0000-000000000001", "alice", now)
	a.Settings = "ums1;rings=4;prof=sales"
	b := testUser("bbbbbbbb-0000-0000-0000-000000000002", "bob", now)
	b.Settings = "ums1;prof=sales-2"
	c := testUser("cccccccc-0000-0000-0000-000000000003", "carol", now)
	c.Settings = "ums1;rings=5"
	d := testUser("dddddddd-0000-0000-0000-000000000004", "dora", now)
	d.Settings, d.State = "ums1;prof=sales-2", ums.StateDeactivated
	if _, err := s.ApplyCycle(ctx, CycleWrite{Users: []*ums.User{&a, &b, &c, &d}, Run: Run{Mode: "full", StartedAt: now, Result: ResultSuccess}}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ profile, want string }{
		{"sales", "alice"},
		{"sales-2", "bob,dora"},
		{"-", "carol"},
		{"", "alice,bob,carol,dora"},
		{"sale", ""},
	} {
		got, err := s.ListUsers(ctx, UserFilter{Profile: tt.profile})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, u := range got {
			names = append(names, u.SAMAccountName)
		}
		if strings.Join(names, ",") != tt.want {
			t.Errorf("ListUsers(profile %q) = %v, want %s", tt.profile, names, tt.want)
		}
	}
	got, err := s.ProfileAnchors(ctx, "sales")
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{b.Anchor: "sales-2", c.Anchor: ""}; !maps.Equal(got, want) {
		t.Errorf("ProfileAnchors(except sales) = %v, want %v", got, want)
	}
}

// TestCountLicenseTypes: the seat holders by license type, read from the
// settings in SQL: admin only where lic=admin is set, voice otherwise (a
// profile named admin is no admin license); users without a seat are not
// counted.
func TestCountLicenseTypes(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	now := time.Now()
	var users []*ums.User
	for i, tt := range []struct {
		settings string
		license  ums.LicenseState
	}{
		{"ums1;lic=admin", ums.LicenseActive},
		{"ums1;rings=4;lic=admin;dnd=1;prof=sales", ums.LicenseActive},
		{"ums1;lic=voice;prof=admin", ums.LicenseActive},
		{"", ums.LicenseActive},
		{"ums1;prof=sales", ums.LicenseActive},
		{"ums1;lic=admin", ums.LicensePending},
		{"ums1;lic=admin", ums.LicenseNone},
	} {
		u := testUser(fmt.Sprintf("%08d-0000-0000-0000-000000000000", i), fmt.Sprintf("u%d", i), now)
		u.Settings, u.License = tt.settings, tt.license
		users = append(users, &u)
	}
	if _, err := s.ApplyCycle(ctx, CycleWrite{Users: users, Run: Run{Mode: "full", StartedAt: now, Result: ResultSuccess}}); err != nil {
		t.Fatal(err)
	}
	got, err := s.CountLicenseTypes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := map[ums.LicenseType]int{ums.LicenseAdmin: 2, ums.LicenseVoice: 3}; !maps.Equal(got, want) {
		t.Errorf("CountLicenseTypes = %v, want %v", got, want)
	}
}
