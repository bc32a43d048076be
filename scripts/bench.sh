#!/usr/bin/env bash
# make bench: how fast is a full sync compared with the raw directory read?
#
# Seeds BENCH_USERS (default 10000) into OU=Bench<N> (an OU of its own), then times
# BENCH_RUNS (default 3) runs each of
#   ldapsearch   a paged (1000) dump of the mapped attributes over verified LDAPS
#   umsync       `umsync sync --full` into an empty store (log level info, to a file)
# then, against the store the last full run left, BENCH_RUNS runs each of
#   delta_idle   `umsync sync` with nothing changed in AD
#   delta_100    `umsync sync` after 100 users were changed (checks: exactly 100 updated)
# and prints a table (min/median seconds, peak RSS) and, last,
#   full_sync_ratio=<umsync median / ldapsearch median>
#   delta_idle_ms=, delta_100_ms=<median wall time of the process, start to exit>
#   umsync_peak_rss_mb=<largest peak RSS of the full umsync runs>
# Starts the lab if none runs and stops it afterwards only if it started it.
set -euo pipefail
cd "$(dirname "$0")/.."

N=${BENCH_USERS:-10000}
RUNS=${BENCH_RUNS:-3}
[[ "$N" =~ ^[0-9]+$ && "$RUNS" =~ ^[1-9][0-9]*$ ]] || { echo "bench: BENCH_USERS and BENCH_RUNS must be numbers" >&2; exit 2; }

if [ ! -x /usr/bin/time ]; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends time >/dev/null
fi
[ -x bin/umsync ] || make build

. scripts/lab-session.sh
lab_session
work=$(mktemp -d)
cleanup() {
	rm -rf "$work"
	lab_session_end
}
trap cleanup EXIT

# shellcheck disable=SC1090
. "$(scripts/lab.sh env)"
ou="Bench$N"
base="OU=$ou,$UMSYNC_LAB_BASE_DN"
count_users() {
	LDAPTLS_CACERT=$UMSYNC_LAB_CA_FILE ldapsearch -LLL -x -H "$UMSYNC_LAB_LDAPS_URL" -D "$UMSYNC_LAB_BIND_DN" \
		-y "$UMSYNC_LAB_PASSWORD_FILE" -b "$base" -E pr=1000/noprompt "$filter" dn 2>/dev/null | grep -c '^dn:' || true
}
filter="(&(objectCategory=person)(objectClass=user))"
# The OU holds only the bench users. Seeding is deterministic, so an OU
# left by an earlier run with exactly N users is reused (deleting 10,000
# entries with ldbdel takes minutes); otherwise it is replaced.
if [ "$(count_users)" -eq "$N" ]; then
	echo "bench: reusing $base ($N users seeded by an earlier run)"
else
	scripts/lab.sh seed --ou "$ou" --count "$N" --prefix "b${N}x" --replace
fi

attrs=(objectGUID sAMAccountName givenName sn displayName mail department telephoneNumber ipPhone mobile
	facsimileTelephoneNumber otherFacsimileTelephoneNumber userAccountControl)

cat >"$work/umsync.yaml" <<YAML
directory:
  url: $UMSYNC_LAB_LDAPS_URL
  ca_file: $UMSYNC_LAB_CA_FILE
  bind_dn: $UMSYNC_LAB_BIND_DN
  bind_password_file: $UMSYNC_LAB_PASSWORD_FILE
  base_dns: ["$base"]
  page_size: 1000
store:
  path: $work/umsync.db
log:
  level: info
YAML

# measure NAME CMD...: one run; appends "seconds peak_rss_kb" to $work/NAME.
measure() {
	local name=$1; shift
	/usr/bin/time -f '%e %M' -o "$work/$name.one" "$@" >"$work/$name.out" 2>"$work/$name.err" || {
		echo "bench: $name failed:" >&2; tail -5 "$work/$name.err" >&2; exit 1; }
	cat "$work/$name.one" >>"$work/$name"
}

# Check the dump reads what was seeded before timing it.
got=$(count_users)
[ "$got" -eq "$N" ] || { echo "bench: ldapsearch read $got users, expected $N" >&2; exit 1; }

for i in $(seq 1 "$RUNS"); do
	measure ldapsearch env LDAPTLS_CACERT="$UMSYNC_LAB_CA_FILE" ldapsearch -LLL -x -H "$UMSYNC_LAB_LDAPS_URL" \
		-D "$UMSYNC_LAB_BIND_DN" -y "$UMSYNC_LAB_PASSWORD_FILE" -b "$base" -E pr=1000/noprompt "$filter" "${attrs[@]}"
	rm -f "$work"/umsync.db*
	measure umsync bin/umsync sync --full --config "$work/umsync.yaml"
	grep -q "read $N, created $N," "$work/umsync.out" ||
		{ echo "bench: umsync did not create $N users: $(cat "$work/umsync.out")" >&2; exit 1; }
done

# Deltas against the store the last full run left: idle (nothing changed in
# AD), then 100 users changed before each run. Wall time of the whole
# `umsync sync` process, start to exit.
for i in $(seq 1 "$RUNS"); do
	measure delta_idle bin/umsync sync --config "$work/umsync.yaml"
	grep -q "^delta sync: read 0, created 0, updated 0," "$work/delta_idle.out" ||
		{ echo "bench: idle delta was not empty: $(cat "$work/delta_idle.out")" >&2; exit 1; }
done
terms=""
for j in $(seq 0 99); do terms="$terms(sAMAccountName=b${N}x$j)"; done
LDAPTLS_CACERT=$UMSYNC_LAB_CA_FILE ldapsearch -LLL -o ldif-wrap=no -x -H "$UMSYNC_LAB_LDAPS_URL" -D "$UMSYNC_LAB_BIND_DN" \
	-y "$UMSYNC_LAB_PASSWORD_FILE" -b "$base" "(|$terms)" dn | grep '^dn' >"$work/dns"
[ "$(wc -l <"$work/dns")" -eq 100 ] || { echo "bench: found $(wc -l <"$work/dns") of the 100 users to change" >&2; exit 1; }
for i in $(seq 1 "$RUNS"); do
	awk -v v="bench-$i-$$" '{ print $0; print "changetype: modify"; print "replace: department";
		print "department: " v; print "" }' "$work/dns" >"$work/modify.ldif"
	LDAPTLS_CACERT=$UMSYNC_LAB_CA_FILE ldapmodify -x -H "$UMSYNC_LAB_LDAPS_URL" -D "$UMSYNC_LAB_BIND_DN" \
		-y "$UMSYNC_LAB_PASSWORD_FILE" -f "$work/modify.ldif" >/dev/null
	measure delta_100 bin/umsync sync --config "$work/umsync.yaml"
	grep -q "^delta sync: read 100, created 0, updated 100," "$work/delta_100.out" ||
		{ echo "bench: the delta did not update exactly 100 users: $(cat "$work/delta_100.out")" >&2; exit 1; }
done

# stats FILE: "min median max_rss_mb" of its "seconds rss_kb" lines.
stats() {
	sort -n "$1" | awk '{ t[NR] = $1; if ($2 > rss) rss = $2 }
		END { m = (NR % 2) ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2
		      printf "%.2f %.2f %.0f\n", t[1], m, rss / 1024 }'
}
read -r l_min l_med l_rss < <(stats "$work/ldapsearch")
read -r u_min u_med u_rss < <(stats "$work/umsync")

echo
echo "full sync of $N users, $RUNS runs each ($(nproc) cores, $(date -u +%Y-%m-%d))"
printf '%-12s %10s %10s %14s\n' what min_s median_s peak_rss_mb
printf '%-12s %10s %10s %14s\n' ldapsearch "$l_min" "$l_med" "$l_rss"
printf '%-12s %10s %10s %14s\n' umsync "$u_min" "$u_med" "$u_rss"
read -r di_min di_med _ < <(stats "$work/delta_idle")
read -r d1_min d1_med _ < <(stats "$work/delta_100")
printf '%-12s %10s %10s\n' delta_idle "$di_min" "$di_med"
printf '%-12s %10s %10s\n' delta_100 "$d1_min" "$d1_med"
awk -v u="$u_med" -v l="$l_med" 'BEGIN { printf "full_sync_ratio=%.2f\n", (l > 0 ? u / l : 0) }'
awk -v i="$di_med" -v d="$d1_med" 'BEGIN { printf "delta_idle_ms=%.0f\ndelta_100_ms=%.0f\n", i * 1000, d * 1000 }'
echo "umsync_peak_rss_mb=$u_rss"
