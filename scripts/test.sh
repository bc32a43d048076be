#!/usr/bin/env bash
# make test: start the AD lab if none runs, go vet, run every test with the
# race detector, stop the lab only if this script started it.
set -euo pipefail
cd "$(dirname "$0")/.."

started=""
out=$(scripts/lab.sh up)
printf '%s\n' "$out"
grep -qx 'lab: started' <<<"$out" && started=1
cleanup() { if [ -n "$started" ]; then scripts/lab.sh down; fi; }
trap cleanup EXIT

export UMSYNC_LAB_ENV
UMSYNC_LAB_ENV=$(scripts/lab.sh env)
CGO_ENABLED=1 go vet ./...
CGO_ENABLED=1 go test -race -count=1 -timeout 10m ./...
