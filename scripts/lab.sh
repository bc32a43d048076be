#!/usr/bin/env bash
# The real-AD lab: a Samba AD DC on 127.0.0.1 only, provisioned into one
# folder (LAB_DIR), with LDAPS from a CA this script generates.
# Facts behind every step: ../shared/notes/samba-ad.md.
#
#   scripts/lab.sh install          apt packages (idempotent)
#   scripts/lab.sh up               install, provision, start; prints "lab: started" or "lab: already running"
#   scripts/lab.sh down             stop the DC by its PID file
#   scripts/lab.sh status           exit 0 if the DC answers
#   scripts/lab.sh env              print the path of lab.env
#   scripts/lab.sh seed --ou NAME --count N [--prefix P] [--replace]
#
# LAB_DIR is $UMSYNC_LAB_DIR or /var/tmp/umsync-lab. Needs root.
set -euo pipefail

LAB_DIR=${UMSYNC_LAB_DIR:-/var/tmp/umsync-lab}
REALM=EXAMPLE.TEST
BASE_DN=DC=example,DC=test
BIND_DN="CN=Administrator,CN=Users,$BASE_DN"
PACKAGES=(samba samba-ad-dc samba-ad-provision samba-dsdb-modules samba-vfs-modules winbind ldap-utils ldb-tools openssl iproute2)

say() { printf '%s\n' "$*"; }
die() { printf 'lab: %s\n' "$*" >&2; exit 1; }
now() { date +%s.%N; }
took() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1fs", b - a }'; }

need_root() { [ "$(id -u)" -eq 0 ] || die "must run as root (provisioning chowns files; samba binds 389/636)"; }

install() {
	local missing=()
	for p in "${PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	need_root
	local t; t=$(now)
	# Keep the packages' scripts from starting the distro's samba on all
	# interfaces; remove the guard only if we created it.
	local guard=""
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod 755 /usr/sbin/policy-rc.d
		guard=1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
	[ -n "$guard" ] && rm -f /usr/sbin/policy-rc.d
	say "lab: installed ${missing[*]} in $(took "$t")"
}

pid_file() { echo "$LAB_DIR/run/samba.pid"; }

running_pid() {
	local f; f=$(pid_file)
	[ -s "$f" ] || return 1
	local pid; pid=$(tr -dc 0-9 <"$f")
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
	echo "$pid"
}

answers() {
	ldapsearch -x -o nettimeout=2 -H ldap://127.0.0.1 -s base -b "" namingContexts >/dev/null 2>&1
}

# ports_free fails at once, naming the holder, when another process listens
# on the lab's ports (127.0.0.1 or any address, 389/636): samba could not
# bind them, and polling a foreign listener would only wait for minutes.
ports_free() {
	local held
	held=$(ss -Hltnp '( sport = :389 or sport = :636 )' 2>/dev/null | awk '{ print $4, $6 }') || true
	[ -z "$held" ] && return 0
	die "ports 389/636 are taken, so this lab's DC cannot listen (another LDAP server, or a lab in another LAB_DIR):
$held
stop that process, or use its lab (UMSYNC_LAB_DIR)"
}

# gen_tls writes a CA, a server cert with IP and DNS SANs (Go rejects a
# CN-only cert), a cert for a wrong name and an unrelated CA (for tests).
gen_tls() {
	local d="$LAB_DIR/tls"
	mkdir -p "$d"
	[ -s "$d/server.pem" ] && return 0
	openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=umsync lab CA" \
		-keyout "$d/ca.key" -out "$d/ca.pem" 2>/dev/null
	openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=unrelated CA" \
		-keyout "$d/other-ca.key" -out "$d/other-ca.pem" 2>/dev/null
	local name san
	for name in server wrongname; do
		if [ $name = server ]; then san="IP:127.0.0.1,DNS:localhost,DNS:dc1.example.test"; else san="DNS:wrong.example.invalid"; fi
		openssl req -newkey rsa:2048 -nodes -subj "/CN=$name" -keyout "$d/$name.key" -out "$d/$name.csr" 2>/dev/null
		printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\n' "$san" >"$d/$name.ext"
		openssl x509 -req -in "$d/$name.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
			-days 3650 -extfile "$d/$name.ext" -out "$d/$name.pem" 2>/dev/null
		rm -f "$d/$name.csr" "$d/$name.ext"
	done
	chmod 600 "$d"/*.key
}

provision() {
	[ -f "$LAB_DIR/etc/smb.conf" ] && return 0
	need_root
	local t; t=$(now)
	mkdir -p "$LAB_DIR"
	chmod 700 "$LAB_DIR"
	# A password that meets AD complexity: upper, lower, digit, symbol.
	local pass="Lab-$(openssl rand -hex 12)-Aa1"
	printf '%s' "$pass" >"$LAB_DIR/admin.pass"
	chmod 600 "$LAB_DIR/admin.pass"
	mkdir -p "$LAB_DIR/log" "$LAB_DIR/run" "$LAB_DIR/cache"
	samba-tool domain provision -s /dev/null --targetdir="$LAB_DIR" --realm=$REALM --domain=EXAMPLE \
		--server-role=dc --dns-backend=NONE --backend-store=mdb --adminpass="$pass" \
		--host-name=dc1 --host-ip=127.0.0.1 \
		--option="interfaces=127.0.0.1" --option="bind interfaces only=yes" \
		--option="server services=ldap" --option="log file=$LAB_DIR/log/samba.log" \
		>"$LAB_DIR/log/provision.log" 2>&1 || { tail -20 "$LAB_DIR/log/provision.log" >&2; die "provision failed"; }
	gen_tls
	# Provision drops some --options silently: set them in [global] directly.
	local extra
	extra=$(cat <<CONF
	interfaces = 127.0.0.1
	bind interfaces only = yes
	server services = ldap
	log file = $LAB_DIR/log/samba.log
	ldap server require strong auth = no
	pid directory = $LAB_DIR/run
	ncalrpc dir = $LAB_DIR/run/ncalrpc
	ntp signd socket directory = $LAB_DIR/run/ntp_signd
	winbindd socket directory = $LAB_DIR/run/winbindd
	cache directory = $LAB_DIR/cache
	tls enabled = yes
	tls keyfile = $LAB_DIR/tls/server.key
	tls certfile = $LAB_DIR/tls/server.pem
	tls cafile = $LAB_DIR/tls/ca.pem
CONF
)
	awk -v extra="$extra" '
		/^\[global\]/ { print; print extra; next }
		/^[ \t]*(interfaces|bind interfaces only|server services|log file|ldap server require strong auth|pid directory|ncalrpc dir|ntp signd socket directory|winbindd socket directory|cache directory|tls enabled|tls keyfile|tls certfile|tls cafile)[ \t]*=/ { next }
		{ print }' "$LAB_DIR/etc/smb.conf" >"$LAB_DIR/etc/smb.conf.new"
	mv "$LAB_DIR/etc/smb.conf.new" "$LAB_DIR/etc/smb.conf"
	say "lab: provisioned $LAB_DIR in $(took "$t")"
}

write_env() {
	cat >"$LAB_DIR/lab.env" <<ENV
UMSYNC_LAB_DIR=$LAB_DIR
UMSYNC_LAB_LDAPS_URL=ldaps://127.0.0.1:636
UMSYNC_LAB_LDAP_URL=ldap://127.0.0.1:389
UMSYNC_LAB_CA_FILE=$LAB_DIR/tls/ca.pem
UMSYNC_LAB_OTHER_CA_FILE=$LAB_DIR/tls/other-ca.pem
UMSYNC_LAB_BIND_DN=$BIND_DN
UMSYNC_LAB_PASSWORD_FILE=$LAB_DIR/admin.pass
UMSYNC_LAB_BASE_DN=$BASE_DN
UMSYNC_LAB_SAM_LDB=$LAB_DIR/private/sam.ldb
UMSYNC_LAB_SMB_CONF=$LAB_DIR/etc/smb.conf
ENV
}

up() {
	install
	need_root
	mkdir -p "$LAB_DIR"
	exec 9>"$LAB_DIR/.lock"
	flock 9
	running_pid >/dev/null || ports_free
	provision
	write_env
	if running_pid >/dev/null && answers; then
		say "lab: already running"
		return 0
	fi
	local t; t=$(now)
	# 9>&-: the daemon must not inherit (and hold forever) the lock.
	samba -s "$LAB_DIR/etc/smb.conf" -D -M prefork 9>&-
	local i
	for i in $(seq 1 120); do
		answers && break
		running_pid >/dev/null || [ "$i" -lt 6 ] || { tail -30 "$LAB_DIR/log/samba.log" >&2 || true; die "samba exited (see $LAB_DIR/log/samba.log)"; }
		sleep 0.5
	done
	answers || { tail -30 "$LAB_DIR/log/samba.log" >&2 || true; die "the DC did not answer on ldap://127.0.0.1 within 60 s"; }
	# Verified LDAPS with our CA, as umsync will use it.
	LDAPTLS_CACERT="$LAB_DIR/tls/ca.pem" ldapsearch -x -o nettimeout=5 -H ldaps://127.0.0.1 -D "$BIND_DN" \
		-y "$LAB_DIR/admin.pass" -b "$BASE_DN" -s base dn >/dev/null ||
		die "LDAPS with $LAB_DIR/tls/ca.pem failed"
	say "lab: DC answers on ldap:// and ldaps:// after $(took "$t") (pid $(running_pid))"
	say "lab: started"
}

down() {
	local pid
	if ! pid=$(running_pid); then
		say "lab: not running"
		return 0
	fi
	kill -TERM "$pid"
	local i
	for i in $(seq 1 30); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.5
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid"
	fi
	say "lab: stopped"
}

status() {
	local pid
	if pid=$(running_pid) && answers; then
		say "lab: running pid $pid"
		return 0
	fi
	say "lab: not running"
	return 1
}

# seed writes N deterministic users into OU=NAME and adds them with ldbadd in
# batch mode straight into sam.ldb (~1,000 users/s; ldapadd slows to 52/s).
seed() {
	local ou="" count="" prefix="" replace=""
	while [ $# -gt 0 ]; do
		case "$1" in
		--ou) ou=$2; shift 2 ;;
		--count) count=$2; shift 2 ;;
		--prefix) prefix=$2; shift 2 ;;
		--replace) replace=1; shift ;;
		*) die "seed: unknown argument $1" ;;
		esac
	done
	[ -n "$ou" ] && [ -n "$count" ] || die "usage: lab.sh seed --ou NAME --count N [--prefix P] [--replace]"
	[[ "$count" =~ ^[0-9]+$ ]] || die "seed: --count must be a number"
	status >/dev/null || die "the lab is not running: scripts/lab.sh up"
	[ -n "$prefix" ] || prefix=$(printf '%s' "$ou" | tr 'A-Z' 'a-z' | tr -dc 'a-z0-9' | cut -c1-8)
	local ou_dn="OU=$ou,$BASE_DN"
	local exists=""
	ldapsearch -x -H ldap://127.0.0.1 -D "$BIND_DN" -y "$LAB_DIR/admin.pass" -b "$ou_dn" -s base dn >/dev/null 2>&1 && exists=1
	if [ -n "$exists" ]; then
		[ -n "$replace" ] || die "seed: $ou_dn exists; use --replace to delete and re-seed it"
		ldbdel -H "$LAB_DIR/private/sam.ldb" -r "$ou_dn" >/dev/null
	fi
	local ldif="$LAB_DIR/seed-$ou.ldif"
	local t; t=$(now)
	awk -v n="$count" -v ou="$ou_dn" -v p="$prefix" -f "$(dirname "$0")/lab/users.awk" >"$ldif"
	# ldbadd reports a rejected entry (e.g. a sAMAccountName already used
	# elsewhere in the domain) with "ERR:" and may still exit 0.
	local out
	if ! out=$(ldbadd -H "$LAB_DIR/private/sam.ldb" -o batch_mode:1 -o transaction_index_cache_size:202481 "$ldif" 2>&1) ||
		grep -q '^ERR' <<<"$out"; then
		printf '%s\n' "$out" | head -5 >&2
		rm -f "$ldif"
		die "seed: ldbadd failed (sAMAccountNames are unique per domain: pick another --prefix)"
	fi
	local secs; secs=$(awk -v a="$t" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }')
	rm -f "$ldif"
	say "lab: seeded $count users into $ou_dn in ${secs}s ($(awk -v n="$count" -v s="$secs" 'BEGIN { printf "%.0f", n / (s > 0 ? s : 1) }') users/s)"
	say "lab: expected total=$count disabled=$(( count == 0 ? 0 : (count - 1) / 10 + 1 ))"
}

case "${1:-}" in
install) install ;;
up) up ;;
down) down ;;
status) status ;;
env) echo "$LAB_DIR/lab.env" ;;
seed) shift; seed "$@" ;;
*) sed -n '2,13p' "$0"; exit 2 ;;
esac
