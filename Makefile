# umsync — see README.md. Every target can be run again and again.
GO          ?= go
VERSION     ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
REVISION    ?= $(shell git rev-parse --short=12 HEAD 2>/dev/null)
LDFLAGS     := -X main.version=$(VERSION) -X main.revision=$(REVISION)
# The static build (Dockerfile uses exactly this): CGO SQLite, no glibc at run time.
STATIC_TAGS := sqlite_omit_load_extension netgo osusergo

.PHONY: build static test demo bench soak lab-up lab-down clean

build:
	CGO_ENABLED=1 $(GO) build -ldflags '$(LDFLAGS)' -o bin/umsync ./cmd/umsync

static:
	CGO_ENABLED=1 $(GO) build -tags '$(STATIC_TAGS)' \
		-ldflags '$(LDFLAGS) -linkmode external -extldflags "-static"' -o bin/umsync-static ./cmd/umsync

# gofmt, vet, unit + integration tests against a real Samba AD DC (started
# in the background if none runs, stopped afterwards only if this target
# started it) and brief fuzzing; progress every 30 s, and the last line is
# "N passed, N failed, N skipped".
test:
	scripts/test.sh

# A running daemon against a local AD seeded with 500 users (Ctrl-C stops it).
demo: build
	scripts/demo.sh

# The performance table of issue 15 in a big domain, each row against its
# ldapsearch floor (BENCH_USERS=10000 by default; seeds filler OUs once).
bench: build
	scripts/bench.sh

# Not in CI: the convergence property test over many seeds, then serve against
# 50,000 users with 1,000 changes every 10 s for 10 minutes (memory,
# goroutines and cycle times every 10 s). SOAK_USERS, SOAK_SECONDS,
# SOAK_CHANGES, SOAK_SEEDS change the sizes.
soak: build
	UMSYNC_PROPERTY_SEEDS=$${SOAK_SEEDS:-100} CGO_ENABLED=1 $(GO) test -count=1 -timeout 60m -run TestConvergenceProperty ./sync/engine
	scripts/soak.sh

lab-up:
	scripts/lab.sh up

lab-down:
	scripts/lab.sh down

clean:
	rm -rf bin
