package store

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/umsync/umsync/ums"
)

// TestWatermarkMovesOnlyWithItsChanges: the watermark is written in the
// cycle's transaction; a cycle that fails leaves the old one.
func TestWatermarkMovesOnlyWithItsChanges(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	if _, ok, err := s.Watermark(ctx); ok || err != nil {
		t.Fatalf("new store: watermark present %v, %v", ok, err)
	}
	now := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	a := testUser("aaaaaaaa-0000-0000-0000-000000000001", "alice", now)
	w1 := Watermark{ServiceName: "CN=NTDS Settings,CN=DC1", InvocationID: "inv-1", Scope: "s1", USN: 100, UpdatedAt: now}
	if _, err := s.ApplyCycle(ctx, CycleWrite{Users: []*ums.User{&a}, Watermark: &w1,
		Run: Run{Mode: "full", StartedAt: now, Result: ResultSuccess}}); err != nil {
		t.Fatal(err)
	}
	got, ok, err := s.Watermark(ctx)
	if !ok || err != nil || got.USN != 100 || got.ServiceName != w1.ServiceName || got.InvocationID != "inv-1" ||
		got.Scope != "s1" || got.Cookie != nil || !got.UpdatedAt.Equal(now) {
		t.Fatalf("watermark = %+v, %v, %v", got, ok, err)
	}

	bad := testUser("bbbbbbbb-0000-0000-0000-000000000002", "bob", now)
	bad.State = "weird"
	w2 := w1
	w2.USN, w2.Cookie = 200, []byte{0, 1, 2, 0xff}
	if _, err := s.ApplyCycle(ctx, CycleWrite{Users: []*ums.User{&bad}, Watermark: &w2,
		Run: Run{Mode: "delta", StartedAt: now, Result: ResultSuccess}}); err == nil {
		t.Fatal("a cycle with an invalid user succeeded")
	}
	if got, _, _ := s.Watermark(ctx); got.USN != 100 {
		t.Fatalf("a failed cycle moved the watermark to %d", got.USN)
	}
	// Written only over the watermark the cycle started from.
	if applied, err := s.ApplyCycle(ctx, CycleWrite{Watermark: &w2, Run: Run{Mode: "delta", StartedAt: now, Result: ResultSuccess}}); err != nil || !applied.WatermarkMoved {
		t.Fatalf("a cycle that started from no watermark: %+v, %v; want WatermarkMoved", applied, err)
	}
	if got, _, _ := s.Watermark(ctx); got.USN != 100 {
		t.Fatalf("a cycle that started from another watermark moved it to %d", got.USN)
	}
	if applied, err := s.ApplyCycle(ctx, CycleWrite{Watermark: &w2, WatermarkRead: &got,
		Run: Run{Mode: "delta", StartedAt: now, Result: ResultSuccess}}); err != nil || applied.WatermarkMoved {
		t.Fatalf("ApplyCycle = %+v, %v", applied, err)
	}
	if got, _, _ := s.Watermark(ctx); got.USN != 200 || !bytes.Equal(got.Cookie, w2.Cookie) {
		t.Fatalf("watermark = %+v, want USN 200 and the cookie", got)
	}
	// An import drops it while a cycle runs: the cycle does not bring it back.
	read, _, _ := s.Watermark(ctx)
	if _, err := s.ImportUsers(ctx, nil, false, false, "admin", now); err != nil {
		t.Fatal(err)
	}
	w3 := w2
	w3.USN = 300
	if applied, err := s.ApplyCycle(ctx, CycleWrite{Watermark: &w3, WatermarkRead: &read,
		Run: Run{Mode: "delta", StartedAt: now, Result: ResultSuccess}}); err != nil || !applied.WatermarkMoved {
		t.Fatalf("ApplyCycle after an import = %+v, %v; want WatermarkMoved", applied, err)
	}
	if _, ok, _ := s.Watermark(ctx); ok {
		t.Fatal("the cycle brought back the watermark the import dropped")
	}
}

func TestPurgeAndLookups(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	now := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	var users []*ums.User
	for i := range 700 { // more than one IN (...) batch
		u := testUser(fmt.Sprintf("%08x-0000-0000-0000-000000000000", i), fmt.Sprintf("u%d", i), now)
		if i%2 == 1 {
			u.State, u.DeactivatedAt = ums.StateDeactivated, now.Add(-time.Duration(i)*time.Hour)
		}
		users = append(users, &u)
	}
	if _, err := s.ApplyCycle(ctx, CycleWrite{Users: users, Run: Run{Mode: "full", StartedAt: now, Result: ResultSuccess}}); err != nil {
		t.Fatal(err)
	}
	anchors := []string{users[0].Anchor, users[699].Anchor, "ffffffff-0000-0000-0000-000000000000"}
	for i := 100; i < 650; i++ {
		anchors = append(anchors, users[i].Anchor)
	}
	got, err := s.UsersByAnchor(ctx, anchors)
	if err != nil || len(got) != 552 {
		t.Fatalf("UsersByAnchor: %d users, %v; want 552 (the unknown one left out)", len(got), err)
	}
	expired, err := s.DeactivatedBefore(ctx, now.Add(-600*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	// Deactivated (odd i) more than 600 h ago: i = 601, 603, ..., 699.
	if len(expired) != 50 || expired[0].SAMAccountName != "u601" {
		t.Fatalf("DeactivatedBefore: %d users, first %v", len(expired), expired[0].SAMAccountName)
	}
	active, err := s.User(ctx, users[0].Anchor)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.ApplyCycle(ctx, CycleWrite{Purge: []*ums.User{&active},
		Run: Run{Mode: "delta", StartedAt: now, Result: ResultSuccess}}); err == nil {
		t.Fatal("purging an active user succeeded")
	}
	if _, err := s.ApplyCycle(ctx, CycleWrite{Purge: []*ums.User{&expired[0], &expired[1]},
		Run: Run{Mode: "delta", StartedAt: now, Result: ResultSuccess, Purged: 2}}); err != nil {
		t.Fatal(err)
	}
	counts, _ := s.CountByState(ctx)
	if counts[ums.StateActive] != 350 || counts[ums.StateDeactivated] != 348 {
		t.Errorf("after purge: %v", counts)
	}
	runs, _ := s.Runs(ctx, 1)
	if runs[0].Purged != 2 {
		t.Errorf("run purged = %d", runs[0].Purged)
	}
}

// TestImportDuringFirstCycleKeepsFullRequested: a cycle that started with
// no watermark (the first full sync) and an import that comes while it
// runs: the cycle does not write a watermark, so the next cycle runs full
// and brings the imported rows in line with AD.
func TestImportDuringFirstCycleKeepsFullRequested(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	now := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	read, ok, err := s.Watermark(ctx) // as the cycle starts
	if err != nil || ok {
		t.Fatalf("new store: %v, %v", ok, err)
	}
	if _, err := s.ImportUsers(ctx, []ums.User{testUser("aaaaaaaa-0000-0000-0000-000000000001", "alice", now)},
		false, false, "admin", now); err != nil {
		t.Fatal(err)
	}
	w := Watermark{ServiceName: "dc1", InvocationID: "inv", Scope: "s", USN: 100, UpdatedAt: now}
	applied, err := s.ApplyCycle(ctx, CycleWrite{Watermark: &w, ImportEpoch: read.ImportEpoch,
		Run: Run{Mode: "full", StartedAt: now, Result: ResultSuccess}})
	if err != nil || !applied.WatermarkMoved {
		t.Fatalf("ApplyCycle = %+v, %v; want WatermarkMoved", applied, err)
	}
	if _, ok, _ := s.Watermark(ctx); ok {
		t.Fatal("a cycle that started before an import wrote a watermark: the next cycle would not run full")
	}
	// Without an import in between it is written.
	read, _, _ = s.Watermark(ctx)
	if applied, err := s.ApplyCycle(ctx, CycleWrite{Watermark: &w, ImportEpoch: read.ImportEpoch,
		Run: Run{Mode: "full", StartedAt: now, Result: ResultSuccess}}); err != nil || applied.WatermarkMoved {
		t.Fatalf("ApplyCycle = %+v, %v", applied, err)
	}
	if _, ok, _ := s.Watermark(ctx); !ok {
		t.Fatal("no watermark after a cycle with no import in between")
	}
}
