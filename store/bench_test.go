package store

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/umsync/umsync/ums"
)

// BenchmarkApplyCycle50k: the store's side of a full sync of 50,000 users
// into an empty store (create), then of the same 50,000 changed (update:
// read versions, check, write). make bench measures the whole cycle
// against AD; this isolates what the row versions and their triggers cost.
func BenchmarkApplyCycle50k(b *testing.B) {
	const n = 50000
	ctx := context.Background()
	now := time.Now()
	for _, phase := range []string{"create", "update"} {
		b.Run(phase, func(b *testing.B) {
			for range b.N {
				b.StopTimer()
				s, err := Open(ctx, Config{Path: b.TempDir() + "/umsync.db", BusyTimeout: time.Second}, zerolog.Nop())
				if err != nil {
					b.Fatal(err)
				}
				users := make([]*ums.User, n)
				for i := range users {
					u := testUser(fmt.Sprintf("%08x-0000-0000-0000-000000000000", i), fmt.Sprintf("u%d", i), now)
					users[i] = &u
				}
				run := Run{Mode: "full", StartedAt: now, Result: ResultSuccess}
				if phase == "update" {
					if _, err := s.ApplyCycle(ctx, CycleWrite{Users: users, Run: run}); err != nil {
						b.Fatal(err)
					}
					stored, err := s.AllUsers(ctx)
					if err != nil {
						b.Fatal(err)
					}
					for i := range stored {
						stored[i].Department = "changed"
						users[i] = &stored[i]
					}
				}
				b.StartTimer()
				if _, err := s.ApplyCycle(ctx, CycleWrite{Users: users, Run: run}); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				s.Close()
			}
		})
	}
}
