#!/usr/bin/env bash
# CI: `make demo`'s setup, then every command the README's demo section
# shows, each checked for what the README says it shows. serve runs in the
# background (stopped by its PID at the end); the lab is stopped only if
# this script started it. demo7 is enabled again at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

. scripts/lab-session.sh
lab_session
serve_pid=""
cleanup() {
	[ -n "$serve_pid" ] && kill -TERM "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null || true
	lab_session_end
}
trap cleanup EXIT
fail() { printf 'demo-check: %s\n' "$*" >&2; [ -f .demo/serve.log ] && tail -20 .demo/serve.log >&2; exit 1; }
step() { printf 'demo-check: %s\n' "$*"; }

make build >/dev/null
DEMO_SETUP_ONLY=1 scripts/demo.sh >/dev/null
# shellcheck disable=SC1090
. "$(scripts/lab.sh env)"
cfg=(--config .demo/umsync.yaml)
demo7="CN=Käthe Müller demo7,OU=Demo,$UMSYNC_LAB_BASE_DN"
ldap() { LDAPTLS_CACERT=$UMSYNC_LAB_CA_FILE "$1" -x -H "$UMSYNC_LAB_LDAPS_URL" -D "$UMSYNC_LAB_BIND_DN" -y "$UMSYNC_LAB_PASSWORD_FILE" "${@:2}"; }
enable_demo7() { printf 'dn: %s\nchangetype: modify\nreplace: userAccountControl\nuserAccountControl: 512\n' "$demo7" | ldap ldapmodify >/dev/null; }
enable_demo7 # a run that stopped half-way left it disabled

step "serve"
bin/umsync serve "${cfg[@]}" >.demo/serve.log 2>&1 &
serve_pid=$!
for _ in $(seq 1 120); do
	curl -fs 127.0.0.1:9742/readyz >/dev/null 2>&1 && break
	kill -0 "$serve_pid" 2>/dev/null || fail "serve exited"
	sleep 1
done
# (Output is captured before grep -q: with pipefail, grep -q leaving early
# fails the writer with SIGPIPE.)
has() { grep -q "$1" <<<"$2"; }
has '"status":"ready"' "$(curl -fs 127.0.0.1:9742/readyz)" || fail "/readyz is not ready after 120 s"
has '^umsync_users{state="active"} 450' "$(curl -s 127.0.0.1:9742/metrics)" || fail "umsync_users{state=\"active\"} is not 450"

step "users list / show"
has 'Müller' "$(bin/umsync users list "${cfg[@]}" --search müller)" || fail "users list --search müller finds nobody"
has demo7 "$(bin/umsync users show demo7 "${cfg[@]}")" || fail "users show demo7"

step "users set demo7 language=de (written to AD)"
bin/umsync users set demo7 language=de "${cfg[@]}" >/dev/null || fail "users set demo7 language=de"
for _ in $(seq 1 30); do
	has 'lang=de' "$(ldap ldapsearch -LLL -b "$demo7" -s base info)" && break
	sleep 1
done
has 'lang=de' "$(ldap ldapsearch -LLL -b "$demo7" -s base info)" || fail "demo7's info does not hold lang=de after 30 s"

step "check-config --online"
bin/umsync check-config --online "${cfg[@]}" >.demo/check.txt || { cat .demo/check.txt; fail "check-config --online failed"; }

step "sync --dry-run, mails, reset-password"
bin/umsync sync --dry-run "${cfg[@]}" >/dev/null || fail "sync --dry-run"
[ "$(ls .demo/mail | wc -l)" -gt 0 ] || fail "no mails in .demo/mail"
bin/umsync users reset-password demo7 "${cfg[@]}" >/dev/null || fail "users reset-password demo7"
# demo7 has lang=de now: its new password mail is German. (The first
# cycle's 900 mails may still be going out: wait for demo7's.)
german() { grep -l '^Subject: Ihr neues UMS-Passwort' $(grep -l '<demo7@example.test>' .demo/mail/*.eml 2>/dev/null) /dev/null 2>/dev/null; }
for _ in $(seq 1 60); do [ -n "$(german)" ] && break; sleep 1; done
[ -n "$(german)" ] || fail "no German password mail for demo7 (lang=de) within 60 s"

step "disable demo7 in AD: the next delta deactivates it"
printf 'dn: %s\nchangetype: modify\nreplace: userAccountControl\nuserAccountControl: 514\n' "$demo7" | ldap ldapmodify >/dev/null
for _ in $(seq 1 70); do grep -q 'user deactivated' .demo/serve.log && break; sleep 1; done
has 'disabled in directory' "$(grep 'user deactivated.*demo7\|user deactivated' .demo/serve.log)" || fail "no 'user deactivated … disabled in directory' within 70 s"
enable_demo7
step "OK: every README demo command works"
