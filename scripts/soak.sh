#!/usr/bin/env bash
# make soak (not in CI): umsync serve against SOAK_USERS (default 50000) users
# while SOAK_CHANGES (1000) of them change every 10 s for SOAK_SECONDS (600).
# Every 10 s it prints the serve process's RSS, its goroutines, and the last
# delta's duration and users updated; at the end a summary. Memory and
# goroutines must stay flat. The lab is started if none runs (and stopped
# afterwards only then); the seeded OU is reused by later runs.
set -euo pipefail
cd "$(dirname "$0")/.."

N=${SOAK_USERS:-50000}
DURATION=${SOAK_SECONDS:-600}
CHANGES=${SOAK_CHANGES:-1000}
[[ "$N" =~ ^[0-9]+$ && "$DURATION" =~ ^[0-9]+$ && "$CHANGES" =~ ^[0-9]+$ ]] || { echo "soak: numbers, please" >&2; exit 2; }
[ -x bin/umsync ] || make build

. scripts/lab-session.sh
lab_session
work=$(mktemp -d)
pid=""
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
	rm -rf "$work"
	lab_session_end
}
trap cleanup EXIT
# shellcheck disable=SC1090
. "$(scripts/lab.sh env)"
ou="Soak$N"
base="OU=$ou,$UMSYNC_LAB_BASE_DN"
search() {
	LDAPTLS_CACERT=$UMSYNC_LAB_CA_FILE ldapsearch -LLL -o ldif-wrap=no -x -H "$UMSYNC_LAB_LDAPS_URL" -D "$UMSYNC_LAB_BIND_DN" \
		-y "$UMSYNC_LAB_PASSWORD_FILE" -b "$base" -E pr=1000/noprompt "(&(objectCategory=person)(objectClass=user))" dn 2>/dev/null |
		grep '^dn' || true
}
search >"$work/dns"
if [ "$(wc -l <"$work/dns")" -ne "$N" ]; then
	scripts/lab.sh seed --ou "$ou" --count "$N" --prefix "s${N}x" --replace
	search >"$work/dns"
fi

cat >"$work/umsync.yaml" <<YAML
directory:
  url: $UMSYNC_LAB_LDAPS_URL
  ca_file: $UMSYNC_LAB_CA_FILE
  bind_dn: $UMSYNC_LAB_BIND_DN
  bind_password_file: $UMSYNC_LAB_PASSWORD_FILE
  base_dns: ["$base"]
store:
  path: $work/umsync.db
sync:
  schedule: "@every 10s"
  full_schedule: "0 0 1 1 *"
  max_deactivation_percent: 0
telemetry:
  listen: 127.0.0.1:9743
YAML
bin/umsync serve --config "$work/umsync.yaml" 2>"$work/serve.log" &
pid=$!
echo "soak: serve (pid $pid) reads $N users; then $CHANGES changes every 10 s for ${DURATION}s"
until grep -q '"message":"sync finished"' "$work/serve.log"; do
	kill -0 "$pid" 2>/dev/null || { cat "$work/serve.log"; exit 1; }
	sleep 1
done
grep '"message":"sync finished"' "$work/serve.log" | tail -1

printf '%6s %8s %10s %10s %12s\n' t_s rss_mb goroutines updated delta_ms | tee "$work/table"
start=$(date +%s)
i=0
while [ $(($(date +%s) - start)) -lt "$DURATION" ]; do
	tick=$(date +%s)
	shuf -n "$CHANGES" --random-source=<(yes "$i") "$work/dns" |
		awk -v v="soak-$i" '{ print $0; print "changetype: modify"; print "replace: department"; print "department: " v; print "" }' \
			>"$work/modify.ldif"
	ldbmodify -H "$UMSYNC_LAB_SAM_LDB" "$work/modify.ldif" >/dev/null
	sleep $((10 - ($(date +%s) - tick) > 0 ? 10 - ($(date +%s) - tick) : 0))
	rss=$(awk '/VmRSS/ { printf "%.0f", $2 / 1024 }' "/proc/$pid/status")
	gr=$(curl -s 127.0.0.1:9743/metrics | awk '$1 == "go_goroutines" { print $2 }')
	last=$(grep '"message":"sync finished"' "$work/serve.log" | tail -1)
	upd=$(sed -n 's/.*"updated":\([0-9]*\).*/\1/p' <<<"$last")
	ms=$(sed -n 's/.*"duration_seconds":\([0-9.e+-]*\).*/\1/p' <<<"$last" | awk '{ print $1 * 1000 }')
	printf '%6d %8s %10s %10s %12.0f\n' $(($(date +%s) - start)) "$rss" "$gr" "$upd" "$ms" | tee -a "$work/table"
	i=$((i + 1))
done
echo
col() { tail -n +2 "$work/table" | awk -v c="$1" '{ print $c }' | sort -n; }
n=$(($(wc -l <"$work/table") - 1))
echo "soak: $n samples; rss $(col 2 | head -1)..$(col 2 | tail -1) MB; goroutines $(col 3 | head -1)..$(col 3 | tail -1);" \
	"delta median $(col 5 | sed -n "$(((n + 1) / 2))p") ms, max $(col 5 | tail -1) ms"
errors=$(grep -c '"level":"error"' "$work/serve.log" || true)
echo "soak: $errors error lines in the serve log"
