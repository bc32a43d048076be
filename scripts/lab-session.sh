# Sourced by the scripts that need the AD lab (test, demo, bench, CI).
#   lab_session       start the lab if none runs; export UMSYNC_LAB_ENV
#   lab_session_end   stop the lab, but only if lab_session started it
# Call lab_session_end from the caller's EXIT trap.
LAB_STARTED=""

lab_session() {
	local out
	out=$(scripts/lab.sh up)
	printf '%s\n' "$out"
	if grep -qx 'lab: started' <<<"$out"; then LAB_STARTED=1; fi
	UMSYNC_LAB_ENV=$(scripts/lab.sh env)
	export UMSYNC_LAB_ENV
}

lab_session_end() {
	if [ -n "$LAB_STARTED" ]; then scripts/lab.sh down; fi
}
