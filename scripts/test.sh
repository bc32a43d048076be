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
CGO_ENABLED=1 go test -race -count=1 -timeout 20m ./...

# Fuzzing, briefly: a fixed number of executions per target (a time limit
# can end a run in the middle of minimizing, which Go reports as "context
# deadline exceeded"). FUZZ=0 skips; FUZZ=10 runs ten times as many. The
# committed corpora in */testdata/fuzz run with every `go test` anyway.
fuzz=${FUZZ:-1}
if [ "$fuzz" != 0 ]; then
	log=$(mktemp)
	for target in ums:FuzzNormalizeE164:100000 ums:FuzzParseSettings:50000 cmd/umsync:FuzzLoadConfig:300 \
		userfile:FuzzReadJSON:20000 userfile:FuzzReadCSV:20000 directory:FuzzDecode:50000; do
		IFS=: read -r pkg name n <<<"$target"
		n=$((n * fuzz))
		start=$(date +%s%N)
		CGO_ENABLED=1 go test -run='^$' -fuzz="^$name\$" -fuzztime="${n}x" -fuzzminimizetime=100x "./$pkg" >"$log" 2>&1 ||
			{ cat "$log"; exit 1; }
		ms=$((($(date +%s%N) - start) / 1000000))
		printf 'fuzz: %-20s %7d execs in %d.%ds, ok\n' "$name" "$n" $((ms / 1000)) $((ms % 1000 / 100))
	done
	rm -f "$log"
fi
