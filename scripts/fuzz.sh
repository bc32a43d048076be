#!/usr/bin/env bash
# Brief fuzzing of every fuzz target: a fixed number of executions each (a
# time limit can end a run in the middle of minimizing, which Go reports as
# "context deadline exceeded"). The committed corpora in */testdata/fuzz run
# with every `go test` anyway. Prints `go test -json`; each target that
# fails adds a line to the file $FUZZ_EXITS names, if set, and the exit
# status is 1. make test runs it beside the tests (scripts/test.sh).
#
# FUZZ=0 skips, FUZZ=10 runs ten times as many executions.
set -uo pipefail
cd "$(dirname "$0")/.."

fuzz=${FUZZ:-1}
[[ "$fuzz" =~ ^[0-9]+$ ]] || { echo "fuzz: FUZZ must be a number" >&2; exit 2; }
[ "$fuzz" != 0 ] || exit 0
rc=0
for target in ums:FuzzNormalizeE164:100000 ums:FuzzParseSettings:50000 cmd/umsync:FuzzLoadConfig:300 \
	userfile:FuzzReadJSON:20000 userfile:FuzzReadCSV:20000 directory:FuzzDecode:50000; do
	IFS=: read -r pkg name n <<<"$target"
	n=$((n * fuzz))
	echo "fuzz: $name, $n executions"
	if ! CGO_ENABLED=1 go test -json -run='^$' -fuzz="^$name\$" -fuzztime="${n}x" -fuzzminimizetime=100x "./$pkg"; then
		rc=1
		[ -z "${FUZZ_EXITS:-}" ] || echo "fuzz $name: failed" >>"$FUZZ_EXITS"
	fi
done
exit "$rc"
