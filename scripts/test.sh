#!/usr/bin/env bash
# make test: start the AD lab if none runs, install Chromium if missing (as
# root), go vet, run every test with the race detector, stop the lab only if
# this script started it. The status page screenshot lands in bin/artifacts.
set -euo pipefail
cd "$(dirname "$0")/.."

. scripts/lab-session.sh
lab_session
trap lab_session_end EXIT

# The status page test drives Debian's headless Chromium (≈20 s to install).
if ! command -v chromium >/dev/null && [ "$(id -u)" = 0 ]; then
	echo "test: installing chromium for the status page test"
	apt-get install -y -qq --no-install-recommends chromium >/dev/null 2>&1 ||
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; }
fi

CGO_ENABLED=1 go vet ./...
CGO_ENABLED=1 go test -race -count=1 -timeout 10m ./...
