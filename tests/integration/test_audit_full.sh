#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# The audit trail on a full file system (a 64 KiB tmpfs): with
# audit_failure = deny new logins are refused with reason
# audit-unavailable, STATUS says audit=failed, the log says so once, and
# the daemon recovers by itself once space is back, the chain intact;
# with audit_failure = syslog logins go on and events are in the log.
. "${top_srcdir:?}/tests/integration/lib.sh"
need python3

mount_tmpfs auditfs
AUDIT_DIR="$MNT"
AUDIT_FILE="$MNT/audit.log"

SECRET=JBSWY3DPEHPK3PXP
for i in 1 2 3 4 5 6 7 8; do
	add_token "agent$i" SHA1 6 30 "$SECRET" phone
done
pam_service login

# status_audit: the audit= field of STATUS.
status_audit() {
	pgreq "v1 STATUS" | tr ' ' '\n' | sed -n 's/^audit=//p'
}

# wait_audit STATE: poll STATUS (5 s at most, 20 s under valgrind).
wait_audit() {
	secs=5
	[ -z "${VALGRIND:-}" ] || secs=20
	wait_for "$secs" audit_is "$1" || {
		fail "STATUS never showed audit=$1"
		return 1
	}
}

audit_is() {
	[ "$(status_audit)" = "$1" ]
}

# fill: take every free byte, then make the daemon try to write.
fill() {
	dd if=/dev/zero of="$MNT/filler" bs=1k >/dev/null 2>&1
	dd if=/dev/zero of="$MNT/filler2" bs=1 >/dev/null 2>&1
	i=0
	while [ "$i" -lt 20 ]; do
		pgreq "v1 SESSION user=agent1 action=open tty=fill$i" >/dev/null
		i=$((i + 1))
	done
}

login() { # login USER: a TOTP login with the current code
	run_pam login "$1" auth -a "$(totp_code "$SECRET")"
}

for mode in deny syslog; do
	log "audit_failure = $mode"
	# Other users in each round: a code works once per user.
	if [ "$mode" = deny ]; then a=1 b=2 c=3 d=4; else a=5 b=6 c=7 d=8; fi
	rm -f "$MNT"/*
	PG_AUDIT_FAILURE=$mode
	write_config
	: >"$DAEMON_LOG"
	start_daemon
	wait_fresh_step
	expect_rc 0 "$mode: login with room on the disk" -- login agent$a
	fill
	wait_audit failed || true
	pgreq "v1 STATUS" >"$OUT"
	expect_out 'audit_reason=write:%20No%20space%20left%20on%20device' "$mode: STATUS gives the reason"
	if [ "$mode" = deny ]; then
		expect_rc 1 "deny: login while the trail is full" -- login agent$b
		expect_out '^auth: PAM_' "deny: login answered"
		expect_no_out '^auth: PAM_SUCCESS$' "deny: no login without its record"
		pgreq "v1 CLAIM user=agent$c step_start=$(($(date +%s) / 30 * 30))" >"$OUT"
		expect_out '^v1 ERR code=unavailable msg=audit-unavailable$' "deny: CLAIM refused with the reason"
		grep -q "audit event=totp-claim user=agent$c .*decision=deny .*reason=audit-unavailable" \
			"$DAEMON_LOG" || fail "deny: the refusal is in the log"
	else
		expect_rc 0 "syslog: login goes on" -- login agent$b
		grep -q "audit event=factor-success user=agent$b" "$DAEMON_LOG" ||
			fail "syslog: the event is mirrored to the log"
	fi
	# Said once, not per request.
	n=$(grep -c 'cannot be written' "$DAEMON_LOG")
	[ "$n" -eq 1 ] || fail "$mode: the failure was logged $n times, want once"
	rm -f "$MNT/filler" "$MNT/filler2"
	wait_audit ok || true
	grep -q 'writable again' "$DAEMON_LOG" || fail "$mode: no recovery line"
	expect_rc 0 "$mode: login after recovery" -- login agent$d
	stop_daemon
	ctl audit verify >"$OUT" 2>&1 || fail "$mode: chain after the outage: $(cat "$OUT")"
	# What happened during the outage is in the trail now.
	ctl audit show --event 'session-open' >"$OUT" 2>&1
	expect_out 'tty=fill19' "$mode: events queued during the outage were written"
	if [ "$mode" = deny ]; then
		ctl audit show --user agent$c >"$OUT" 2>&1
		expect_out "totp-claim +agent$c +deny .*reason=audit-unavailable" "deny: the refusal is recorded"
		echo "--- audit show excerpt (audit_failure = deny)" >&2
		ctl audit show 2>/dev/null | grep -v 'tty=fill' >&2
	fi
done
finish
