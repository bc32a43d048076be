package directory_test

import (
	"context"
	"os"
	"strconv"
	"testing"

	"github.com/rs/zerolog"

	"github.com/umsync/umsync/directory"
	"github.com/umsync/umsync/internal/adlab"
	"github.com/umsync/umsync/ums"
)

// BenchmarkFullRead times Client.Users alone (no store, no planning) over
// the lab's base DN $UMSYNC_BENCH_BASE_DN, with the default config unless
// $UMSYNC_BENCH_READ_CONNECTIONS or $UMSYNC_BENCH_PAGE_SIZE say otherwise.
// It fails unless it reads $UMSYNC_BENCH_USERS users (when set). make bench
// runs it as a process (-test.benchtime=1x) beside a paged ldapsearch: the
// "full read" row. The users are seeded by scripts/bench.sh, not here.
func BenchmarkFullRead(b *testing.B) {
	lab := adlab.Require(b)
	base := os.Getenv("UMSYNC_BENCH_BASE_DN")
	if base == "" {
		b.Fatal("UMSYNC_BENCH_BASE_DN is not set (scripts/bench.sh sets it to the seeded OU)")
	}
	cfg := lab.Config(base)
	for env, v := range map[string]*int{"UMSYNC_BENCH_READ_CONNECTIONS": &cfg.ReadConnections,
		"UMSYNC_BENCH_PAGE_SIZE": &cfg.PageSize} {
		if s := os.Getenv(env); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil {
				b.Fatalf("%s=%q: %v", env, s, err)
			}
			*v = n
		}
	}
	want := -1
	if s := os.Getenv("UMSYNC_BENCH_USERS"); s != "" {
		var err error
		if want, err = strconv.Atoi(s); err != nil {
			b.Fatalf("UMSYNC_BENCH_USERS=%q: %v", s, err)
		}
	}
	c, err := directory.New(cfg, zerolog.Nop())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		st, err := c.State(ctx)
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		if _, err := c.Users(ctx, st, func(ums.User) error { n++; return nil },
			func(dn string, err error) { b.Errorf("skipped %s: %v", dn, err) }); err != nil {
			b.Fatal(err)
		}
		if want >= 0 && n != want {
			b.Fatalf("read %d users, want %d", n, want)
		}
		b.ReportMetric(float64(n), "users/op")
	}
}
