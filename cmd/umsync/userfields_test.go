package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/umsync/umsync/store"
	"github.com/umsync/umsync/ums"
)

// TestUserFieldsRoundTrip: a user with every field of ums.UserFields set
// (lists of several numbers, umlauts, a cell a spreadsheet would run) and
// one with every field it may leave empty go into the store, come back
// from it, from `users list --output json`, and from an export as JSON
// and as CSV imported into another store, each equal in every field that
// format carries. A row added to the table fails here until the user sets
// it, and then wherever a format drops it.
func TestUserFieldsRoundTrip(t *testing.T) {
	t0 := time.Date(2026, 11, 24, 8, 0, 0, 123e6, time.UTC)
	full := ums.User{Anchor: "0e0e0e0e-0000-4000-8000-00000000000e", SAMAccountName: "ämüller",
		DN: "CN=Änne Müller\\, Süd,OU=Staff,DC=example,DC=test", GivenName: "Änne", Surname: "Müller",
		DisplayName: `Änne "Ann" Müller, Vertrieb`, Mail: "aenne.mueller@example.test", Department: "+Süd; Nord",
		Extension: "2099", Phone: "+49891234567", Mobile: "+491715550099",
		FaxNumbers:   []string{"+49895550091", "+49895550092", "+49895550093"},
		AliasNumbers: []string{"+49895550094", "+49895550095"},
		Settings:     "ums1;vm=phone_login;svc=fax,sms,voice;rings=8;prof=sales", Overrides: `{"rings":"8"}`,
		Enabled: true, State: ums.StateDeactivated, DeactivationReason: "aus dem Bereich verschoben (Größe)",
		License: ums.LicenseActive, LicenseSince: t0.Add(time.Minute), Phantom: true,
		FirstSeen: t0, UpdatedAt: t0.Add(time.Hour), DeactivatedAt: t0.Add(2 * time.Hour)}
	for _, f := range ums.UserFields {
		if reflect.ValueOf(f.Ptr(&full)).Elem().IsZero() {
			t.Fatalf("the test's user leaves %s empty: set it", f.Name)
		}
	}
	empty := ums.User{Anchor: "0f0f0f0f-0000-4000-8000-00000000000f", SAMAccountName: "leer",
		DN: "CN=leer,OU=Staff,DC=example,DC=test", State: ums.StateActive, License: ums.LicenseNone,
		FirstSeen: t0, UpdatedAt: t0}
	mine := []ums.User{full, empty}

	cfg := goldenConfig(t)
	st := openConfigStore(t, cfg)
	write := []*ums.User{&full, &empty}
	if _, err := st.ApplyCycle(context.Background(), store.CycleWrite{Users: write,
		Run: store.Run{Mode: "full", StartedAt: t0, Result: store.ResultSuccess}}); err != nil {
		t.Fatal(err)
	}
	stored, err := st.UsersByAnchor(context.Background(), []string{full.Anchor, empty.Anchor})
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	compareUsers(t, "store", stored, mine, 0, nil)

	out, stderr, code := umsync(t, "users", "list", "--output", "json", "--config", cfg)
	var listed []ums.UserView
	if err := json.Unmarshal([]byte(out), &listed); err != nil || code != exitOK {
		t.Fatalf("users list: exit %d %v\n%s", code, err, stderr)
	}
	var views []ums.User
	for _, v := range listed {
		views = append(views, v.User)
	}
	compareUsers(t, "users list --output json", views, mine, ums.Viewed, func(x time.Time) time.Time { return x.Truncate(time.Second) })

	for _, format := range []string{"json", "csv"} {
		file := filepath.Join(t.TempDir(), "users."+format)
		if _, stderr, code := umsync(t, "export", "--format", format, "-o", file, "--config", cfg); code != exitOK {
			t.Fatalf("export %s: %s", format, stderr)
		}
		other := goldenConfig(t) // the same four users, not ours
		out, stderr, code := umsync(t, "import", file, "--config", other)
		if code != exitOK {
			t.Fatalf("import %s: exit %d\n%s%s", format, code, out, stderr)
		}
		if !strings.Contains(out, "2 added, 0 changed") { // the four users the other store has must be equal too
			t.Errorf("import %s:\n%s", format, out)
		}
		st := openConfigStore(t, other)
		imported, err := st.UsersByAnchor(context.Background(), []string{full.Anchor, empty.Anchor})
		st.Close()
		if err != nil {
			t.Fatal(err)
		}
		compareUsers(t, "export "+format+" → import", imported, mine, ums.Exported, nil)
	}
}

// openConfigStore opens the store of a goldenConfig.
func openConfigStore(t *testing.T, cfg string) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), store.Config{Path: filepath.Join(filepath.Dir(cfg), "data", "umsync.db")}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// compareUsers reports each field of ums.UserFields in which a user of
// got differs from the one of want with its anchor: the fields with flags
// carried (0: all) must be equal (times through round), the others zero.
func compareUsers(t *testing.T, where string, got, want []ums.User, carried ums.Flags, round func(time.Time) time.Time) {
	t.Helper()
	found := 0
	for _, w := range want {
		for _, g := range got {
			if g.Anchor != w.Anchor {
				continue
			}
			found++
			for _, f := range ums.UserFields {
				gv, wv := reflect.ValueOf(f.Ptr(&g)).Elem().Interface(), reflect.ValueOf(f.Ptr(&w)).Elem().Interface()
				switch x := wv.(type) {
				case time.Time:
					if round != nil {
						wv = round(x)
					}
				}
				if !f.Has(carried) {
					wv = reflect.Zero(reflect.TypeOf(wv)).Interface()
				}
				if !reflect.DeepEqual(gv, wv) {
					t.Errorf("%s: %s: %s = %#v, want %#v", where, w.SAMAccountName, f.Name, gv, wv)
				}
			}
		}
	}
	if found != len(want) {
		t.Errorf("%s: %d of %d users found", where, found, len(want))
	}
}
