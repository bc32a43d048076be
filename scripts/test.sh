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

# Fuzzing, briefly (FUZZTIME per target, 0 skips): the committed corpora in
# */testdata/fuzz run with every `go test`; this explores beyond them.
fuzztime=${FUZZTIME:-5s}
if [ "$fuzztime" != 0 ]; then
	log=$(mktemp)
	for target in ums:FuzzNormalizeE164 ums:FuzzParseSettings cmd/umsync:FuzzLoadConfig \
		userfile:FuzzReadJSON userfile:FuzzReadCSV directory:FuzzDecode; do
		pkg=${target%%:*} name=${target#*:}
		echo "fuzz: $name ($fuzztime)"
		CGO_ENABLED=1 go test -run='^$' -fuzz="^$name\$" -fuzztime="$fuzztime" -fuzzminimizetime=1s "./$pkg" >"$log" 2>&1 ||
			{ cat "$log"; exit 1; }
		grep -h 'elapsed' "$log" | tail -1
	done
	rm -f "$log"
fi
