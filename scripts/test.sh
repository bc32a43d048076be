#!/usr/bin/env bash
# make test: start the AD lab if none runs, go vet, run every test with the
# race detector, stop the lab only if this script started it.
set -euo pipefail
cd "$(dirname "$0")/.."

. scripts/lab-session.sh
lab_session
trap lab_session_end EXIT

CGO_ENABLED=1 go vet ./...
CGO_ENABLED=1 go test -race -count=1 -timeout 10m ./...
