#!/usr/bin/env bash
# make demo: a local Samba AD with 500 users in OU=Demo, and umsync serve in
# the foreground (console logs) syncing them into .demo/umsync.db.
# Ctrl-C stops umsync, and the lab too if this script started it.
set -euo pipefail
cd "$(dirname "$0")/.."

. scripts/lab-session.sh
lab_session
trap lab_session_end EXIT

# shellcheck disable=SC1090
. "$(scripts/lab.sh env)"
# Seed once; a second `make demo` keeps the same users (and their anchors).
if ! LDAPTLS_CACERT=$UMSYNC_LAB_CA_FILE ldapsearch -x -H "$UMSYNC_LAB_LDAPS_URL" -D "$UMSYNC_LAB_BIND_DN" \
	-y "$UMSYNC_LAB_PASSWORD_FILE" -b "OU=Demo,$UMSYNC_LAB_BASE_DN" -s base dn >/dev/null 2>&1; then
	scripts/lab.sh seed --ou Demo --count 500
fi

mkdir -p .demo
cat >.demo/umsync.yaml <<YAML
# Written by scripts/demo.sh for the local lab.
directory:
  url: $UMSYNC_LAB_LDAPS_URL
  ca_file: $UMSYNC_LAB_CA_FILE
  bind_dn: $UMSYNC_LAB_BIND_DN
  bind_password_file: $UMSYNC_LAB_PASSWORD_FILE
  base_dns: ["OU=Demo,$UMSYNC_LAB_BASE_DN"]
  attributes:
    settings: info           # Samba's schema has no extensionAttribute10 (Exchange's)
store:
  path: umsync.db
sync:
  schedule: "@every 30s"
mail:
  transport: file            # one .eml per mail in .demo/mail (no SMTP server needed)
  from: "UMS Demo <ums@example.test>"
  admin_to: ["admin@example.test"]
  file:
    dir: mail
  portal_url: https://ums.example.test/
telemetry:
  listen: 127.0.0.1:9742
log:
  level: info
  format: console
YAML
cat <<MSG

umsync is starting against the lab (500 users in OU=Demo, every 10th disabled).
While it runs, in another terminal:
  curl -s 127.0.0.1:9742/metrics | grep ^umsync_
  curl -s 127.0.0.1:9742/readyz
  bin/umsync users list --config .demo/umsync.yaml --search müller
  bin/umsync users show demo7 --config .demo/umsync.yaml
  bin/umsync users set demo7 language=de --config .demo/umsync.yaml
  bin/umsync check-config --online --config .demo/umsync.yaml
  ls .demo/mail | head        # the info and password mails, one .eml each
  bin/umsync users reset-password demo7 --config .demo/umsync.yaml
Ctrl-C stops it.

MSG
[ "${DEMO_SETUP_ONLY:-}" = 1 ] && exit 0   # scripts/demo-check.sh: the setup only
bin/umsync serve --config .demo/umsync.yaml
