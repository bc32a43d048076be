package store

import (
	"context"
	"sort"
	"testing"
	"time"

	"github.com/umsync/umsync/ums"
)

func TestDuplicateNumbersAreProblemsOnBoth(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	now := time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)
	a := testUser("a-1", "anna", now)
	b := testUser("b-2", "ben", now)
	c := testUser("c-3", "cleo", now)
	d := testUser("d-4", "dora", now)
	a.Extension, b.Extension, c.Extension, d.Extension = "2001", "2001", "2003", "2003"
	a.FaxNumbers, b.FaxNumbers, c.FaxNumbers = []string{"+49891", "+49899"}, []string{"+49892", "+49899"}, []string{"+49891"}
	d.FaxNumbers = []string{"+49893", "+49893"}                                                         // twice on one user is not a duplicate
	d.State, d.DeactivationReason, d.DeactivatedAt = ums.StateDeactivated, "disabled in directory", now // inactive: holds nothing
	_, err := s.ApplyCycle(ctx, CycleWrite{Users: []*ums.User{&a, &b, &c, &d}, FindDuplicates: true,
		Run: Run{Mode: "full", StartedAt: now, Result: ResultSuccess}})
	if err != nil {
		t.Fatal(err)
	}
	ps, err := s.Problems(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range ps {
		got = append(got, p.SAMAccountName+" "+string(p.Field)+": "+p.Text)
	}
	sort.Strings(got)
	want := []string{
		"anna extension: extension 2001 is also held by ben",
		"anna fax_numbers: fax number +49891 is also held by cleo",
		"anna fax_numbers: fax number +49899 is also held by ben",
		"ben extension: extension 2001 is also held by anna",
		"ben fax_numbers: fax number +49899 is also held by anna",
		"cleo fax_numbers: fax number +49891 is also held by anna",
	}
	if len(got) != len(want) {
		t.Fatalf("problems:\n%q\nwant\n%q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("problem %d = %q, want %q", i, got[i], want[i])
		}
	}
}
