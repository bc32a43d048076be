#!/usr/bin/env bash
# make bench: umsync against the floor the directory sets, in a big domain.
#
# The synced OU, OU=Bench<N>, holds BENCH_USERS (default 10000) users and
# sits in a domain several times its size: filler OUs OU=BenchFiller1,
# OU=BenchFiller2, … of 50,000 users each, enough of them that filler and
# bench OU hold max(4×N, 100,000) users together, but at most 4 fillers
# (N=10k: 2 fillers, 110k; N=50k: 3, 200k; N=200k: 4, 400k, only 2×N,
# because seeding ran at 356 users/s on 2026-12-02 (60k→110k users in the
# domain, machine shared): 4×N would take 30 min to seed at 200k.
# BENCH_FILLERS sets the number. Every OU is seeded deterministically by
# scripts/lab.sh seed (ldbadd into sam.ldb) and reused by later runs when
# its count is right, so only the first run at a size pays for the seeding.
#
# Then, BENCH_RUNS (default 3) times each, every row with its floor measured
# in the same run (a paged ldapsearch -E pr=1000 process over verified LDAPS
# with the same base, filter and attributes as umsync):
#   full_read     the directory read alone: BenchmarkFullRead of package
#                 directory (Client.Users with the default config, no
#                 store), run once as a process, vs the paged ldapsearch
#   full_empty    `umsync sync --full` into an empty store (checks: created N)
#   full_nightly  `umsync sync --full` against the store the last one left,
#                 nothing changed (checks: read N, nothing created or updated)
#   delta_idle    `umsync sync` with nothing changed (checks: read 0)
#   delta_100     `umsync sync` after 100 users were changed
#   delta_1000    `umsync sync` after 1,000 users were changed (checks:
#                 exactly that many read and updated)
# The delta floor is one ldapsearch process doing umsync's delta search,
# (&(uSNChanged>=X)<filter>) under the OU, X the watermark (checks: it
# returns exactly the changed users). Times are wall seconds of the whole
# process, start to exit; peak RSS is /usr/bin/time's %M.
# Prints one table (floor and umsync: min, median; ratio of the medians;
# peak RSS of each), then key=value lines:
#   <row>_floor_s=, <row>_s= (medians), <row>_ratio=, <row>_rss_mb= (umsync's peak)
#   domain_users=, bench_users=
# Starts the lab if none runs and stops it afterwards only if it started it.
set -euo pipefail
cd "$(dirname "$0")/.."

N=${BENCH_USERS:-10000}
RUNS=${BENCH_RUNS:-3}
FILLER_SIZE=50000
want_filler=$(( (N * 4 > 100000 ? N * 4 : 100000) - N ))
fillers=$(( (want_filler + FILLER_SIZE - 1) / FILLER_SIZE ))
FILLERS=${BENCH_FILLERS:-$(( fillers > 4 ? 4 : fillers ))}
[[ "$N" =~ ^[0-9]+$ && "$RUNS" =~ ^[1-9][0-9]*$ && "$FILLERS" =~ ^[0-9]+$ ]] ||
	{ echo "bench: BENCH_USERS, BENCH_RUNS and BENCH_FILLERS must be numbers" >&2; exit 2; }
[ "$N" -ge 1000 ] || { echo "bench: BENCH_USERS must be at least 1000 (the 1,000-change delta)" >&2; exit 2; }

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
CGO_ENABLED=1 go test -c -o "$work/directory.test" ./directory

# shellcheck disable=SC1090
. "$(scripts/lab.sh env)"
filter="(&(objectCategory=person)(objectClass=user))"
# What umsync's default attribute map asks for (directory.Decoder.Attributes).
attrs=(objectGUID userAccountControl sAMAccountName givenName sn displayName mail department telephoneNumber
	ipPhone mobile extensionAttribute10 otherTelephone facsimileTelephoneNumber otherFacsimileTelephoneNumber)
# search -b BASE FILTER ATTRS...: a paged ldapsearch over verified LDAPS.
search=(env LDAPTLS_CACERT="$UMSYNC_LAB_CA_FILE" ldapsearch -LLL -o ldif-wrap=no -x -H "$UMSYNC_LAB_LDAPS_URL"
	-D "$UMSYNC_LAB_BIND_DN" -y "$UMSYNC_LAB_PASSWORD_FILE" -E pr=1000/noprompt)
count_users() { "${search[@]}" -b "$1" "$filter" 1.1 2>/dev/null | grep -c '^dn:' || true; }
highest_usn() {
	LDAPTLS_CACERT=$UMSYNC_LAB_CA_FILE ldapsearch -LLL -x -H "$UMSYNC_LAB_LDAPS_URL" -D "$UMSYNC_LAB_BIND_DN" \
		-y "$UMSYNC_LAB_PASSWORD_FILE" -s base -b "" highestCommittedUSN | awk '/^highestCommittedUSN:/ { print $2 }'
}
# seed_ou NAME COUNT PREFIX: seeding is deterministic, so an OU left by an
# earlier run with exactly COUNT users is reused (deleting 50,000 entries
# with ldbdel takes minutes); otherwise it is replaced.
seed_ou() {
	if [ "$(count_users "OU=$1,$UMSYNC_LAB_BASE_DN")" -eq "$2" ]; then
		echo "bench: reusing OU=$1 ($2 users)"
	else
		scripts/lab.sh seed --ou "$1" --count "$2" --prefix "$3" --replace
	fi
}
for i in $(seq 1 "$FILLERS"); do seed_ou "BenchFiller$i" "$FILLER_SIZE" "bf${i}x"; done
seed_ou "Bench$N" "$N" "b${N}x"
base="OU=Bench$N,$UMSYNC_LAB_BASE_DN"
domain_users=$(count_users "$UMSYNC_LAB_BASE_DN")

cat >"$work/umsync.yaml" <<YAML
directory:
  url: $UMSYNC_LAB_LDAPS_URL
  ca_file: $UMSYNC_LAB_CA_FILE
  bind_dn: $UMSYNC_LAB_BIND_DN
  bind_password_file: $UMSYNC_LAB_PASSWORD_FILE
  base_dns: ["$base"]
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
fail() { echo "bench: $*" >&2; exit 1; }
# expect NAME PATTERN: the output of NAME's last run matches.
expect() { grep -q "$2" "$work/$1.out" || fail "$1: want \"$2\", got: $(head -c 600 "$work/$1.out")"; }
# entries NAME WANT: NAME's last ldapsearch printed WANT entries.
entries() {
	local got; got=$(grep -c '^dn:' "$work/$1.out" || true)
	[ "$got" -eq "$2" ] || fail "$1 returned $got entries, want $2"
}

# Full reads and syncs. The floor of all three is the same paged search.
for i in $(seq 1 "$RUNS"); do
	measure read_floor "${search[@]}" -b "$base" "$filter" "${attrs[@]}"
	entries read_floor "$N"
	measure full_read env UMSYNC_LAB_ENV="$UMSYNC_LAB_ENV" UMSYNC_BENCH_BASE_DN="$base" UMSYNC_BENCH_USERS="$N" \
		"$work/directory.test" -test.run '^$' -test.bench '^BenchmarkFullRead$' -test.benchtime 1x
	expect full_read '^ok\|^PASS'
	rm -f "$work"/umsync.db*
	measure full_empty bin/umsync sync --full --config "$work/umsync.yaml"
	expect full_empty "^full sync: read $N, created $N, updated 0,"
	measure full_nightly bin/umsync sync --full --config "$work/umsync.yaml"
	expect full_nightly "^full sync: read $N, created 0, updated 0, reactivated 0, deactivated 0,"
done

# Deltas against the store the last full run left. The floor searches from
# the same watermark as umsync (the DC's highestCommittedUSN before the
# changes) and runs first; it changes nothing.
delta_attrs=("${attrs[@]}" uSNChanged)
for i in $(seq 1 "$RUNS"); do
	x=$(( $(highest_usn) + 1 ))
	measure idle_floor "${search[@]}" -b "$base" "(&(uSNChanged>=$x)$filter)" "${delta_attrs[@]}"
	entries idle_floor 0
	measure delta_idle bin/umsync sync --config "$work/umsync.yaml"
	expect delta_idle "^delta sync: read 0, created 0, updated 0,"
done
for k in 100 1000; do
	terms=""
	for j in $(seq 0 $((k - 1))); do terms="$terms(sAMAccountName=b${N}x$j)"; done
	"${search[@]}" -b "$base" "(|$terms)" 1.1 | grep '^dn' >"$work/dns"
	[ "$(wc -l <"$work/dns")" -eq "$k" ] || fail "found $(wc -l <"$work/dns") of the $k users to change"
	for i in $(seq 1 "$RUNS"); do
		awk -v v="bench-$k-$i-$$" '{ print $0; print "changetype: modify"; print "replace: department";
			print "department: " v; print "" }' "$work/dns" >"$work/modify.ldif"
		x=$(( $(highest_usn) + 1 ))
		LDAPTLS_CACERT=$UMSYNC_LAB_CA_FILE ldapmodify -x -H "$UMSYNC_LAB_LDAPS_URL" -D "$UMSYNC_LAB_BIND_DN" \
			-y "$UMSYNC_LAB_PASSWORD_FILE" -f "$work/modify.ldif" >/dev/null
		measure "delta_${k}_floor" "${search[@]}" -b "$base" "(&(uSNChanged>=$x)$filter)" "${delta_attrs[@]}"
		entries "delta_${k}_floor" "$k"
		measure "delta_$k" bin/umsync sync --config "$work/umsync.yaml"
		expect "delta_$k" "^delta sync: read $k, created 0, updated $k,"
	done
done

# stats FILE: "min median max_rss_mb" of its "seconds rss_kb" lines.
stats() {
	sort -n "$1" | awk '{ t[NR] = $1; if ($2 > rss) rss = $2 }
		END { m = (NR % 2) ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2
		      printf "%.3f %.3f %.0f\n", t[1], m, rss / 1024 }'
}
rows=(full_read:read_floor full_empty:read_floor full_nightly:read_floor delta_idle:idle_floor
	delta_100:delta_100_floor delta_1000:delta_1000_floor)
echo
echo "$N users in $base, $domain_users users in the domain; $RUNS runs each; $(nproc) cores, $(date -u +%Y-%m-%d)"
printf '%-13s %9s %9s %8s  %9s %9s %8s  %6s\n' row floor_min floor_med floor_mb umsync_min umsync_med umsync_mb ratio
kv=""
for r in "${rows[@]}"; do
	row=${r%%:*} floor=${r#*:}
	read -r f_min f_med f_rss < <(stats "$work/$floor")
	read -r u_min u_med u_rss < <(stats "$work/$row")
	ratio=$(awk -v u="$u_med" -v f="$f_med" 'BEGIN { printf "%.2f", (f > 0 ? u / f : 0) }')
	printf '%-13s %9s %9s %8s  %9s %9s %8s  %6s\n' "$row" "$f_min" "$f_med" "$f_rss" "$u_min" "$u_med" "$u_rss" "$ratio"
	kv+="${row}_floor_s=$f_med"$'\n'"${row}_s=$u_med"$'\n'"${row}_ratio=$ratio"$'\n'"${row}_rss_mb=$u_rss"$'\n'
done
printf '%s' "$kv"
echo "domain_users=$domain_users"
echo "bench_users=$N"
