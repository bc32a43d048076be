#!/usr/bin/env bash
# make test: gofmt, go vet, every test with the race detector and, beside
# them, a brief fuzz of each target; all of it read by internal/testsummary,
# which prints a line per package, progress every 30 s, the failures'
# output in full and, as the last line, "N passed, N failed, N skipped"
# (exit 1 on any failure).
#
# The AD lab (and, as root, Chromium for the status page test) is started in
# the background if none runs: tests that need AD wait for it in
# adlab.Require ($UMSYNC_LAB_WAIT), the others run meanwhile. The lab is
# stopped at the end only if this script started it. The status page
# screenshot lands in bin/artifacts.
#
# FUZZ=0 skips fuzzing, FUZZ=10 runs ten times as many executions
# (scripts/fuzz.sh, which also runs alone).
# TEST_PARALLEL (default 4) is how many tests of one package run at once,
# TEST_PACKAGES (default 3) how many packages: the lab tests mostly wait
# for the DC, so more than the 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."

. scripts/lab-session.sh
tmp=$(mktemp -d)
setup_pid=""
finish() {
	if [ -n "$setup_pid" ]; then wait "$setup_pid" 2>/dev/null || true; fi
	if grep -qx 'lab: started' "$tmp/setup.log" 2>/dev/null && [ ! -e "$tmp/lab-stopped" ]; then
		LAB_STARTED=1
		lab_session_end
	fi
	rm -rf "$tmp"
}
trap finish EXIT

# The background setup: Chromium (≈20 s to install, once), then the lab.
# It writes "ok" or why it failed to $UMSYNC_LAB_WAIT when done.
export UMSYNC_LAB_WAIT="$tmp/lab-ready"
UMSYNC_LAB_ENV=$(scripts/lab.sh env)
export UMSYNC_LAB_ENV
(
	if ! command -v chromium >/dev/null && [ "$(id -u)" = 0 ]; then
		echo "test: installing chromium for the status page test"
		apt-get install -y -qq -o DPkg::Lock::Timeout=300 --no-install-recommends chromium >/dev/null 2>&1 ||
			{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=300 \
				--no-install-recommends chromium >/dev/null; } || echo "test: installing chromium failed"
	fi
	if scripts/lab.sh up; then echo ok >"$UMSYNC_LAB_WAIT.tmp"; else tail -3 "$tmp/setup.log" >"$UMSYNC_LAB_WAIT.tmp"; fi
	mv "$UMSYNC_LAB_WAIT.tmp" "$UMSYNC_LAB_WAIT"
) </dev/null >"$tmp/setup.log" 2>&1 &
setup_pid=$!

CGO_ENABLED=1 go build -o "$tmp/testsummary" ./internal/testsummary

# Each step that is not a go test run (or that failed without a test to
# show for it) writes a line to $tmp/exits; testsummary reads it at the end.
steps() {
	local bad
	bad=$(gofmt -l .)
	if [ -n "$bad" ]; then
		printf 'gofmt: not formatted (run gofmt -w):\n%s\n' "$bad"
		echo "gofmt -l: $(tr '\n' ' ' <<<"$bad")" >>"$tmp/exits"
	fi
	CGO_ENABLED=1 go vet ./... 2>&1 || echo "go vet ./...: exit $?" >>"$tmp/exits"

	# The fuzz targets run beside the tests, niced: the lab tests mostly
	# wait for the DC, and the tail of the suite is one test's scenarios.
	# In a session of their own, so that an interrupt stops them too (a
	# background job of a script ignores SIGINT).
	FUZZ_EXITS="$tmp/exits" setsid nice -n 10 scripts/fuzz.sh >"$tmp/fuzz.json" 2>&1 &
	local fuzz_pid=$!
	trap 'kill -- "-$fuzz_pid" 2>/dev/null; exit 130' INT TERM
	echo "test: go test -race ./... (tests that need AD wait for the lab; fuzzing beside it)"
	CGO_ENABLED=1 go test -race -count=1 -json -timeout 20m -p "${TEST_PACKAGES:-3}" -parallel "${TEST_PARALLEL:-4}" ./... ||
		echo "go test ./...: exit $?" >>"$tmp/exits"
	until [ -e "$UMSYNC_LAB_WAIT" ]; do sleep 1; done
	sed 's/^/  /' "$tmp/setup.log"
	wait "$fuzz_pid" || true # each failed target is in $tmp/exits
	trap - INT TERM
	cat "$tmp/fuzz.json"

	# Stop the lab here (if this script started it), so that the summary
	# stays the last line.
	if grep -qx 'lab: started' "$tmp/setup.log"; then
		scripts/lab.sh down
		touch "$tmp/lab-stopped"
	fi
}

touch "$tmp/exits"
steps 2>&1 | "$tmp/testsummary" -exits "$tmp/exits"
