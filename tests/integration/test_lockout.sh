#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# After max_failures wrong codes the user is locked: the next attempt gets
# the lockout message and no prompt, even with the right code, until
# `phiguardctl unlock`; then the right code works again.
. "${top_srcdir:?}/tests/integration/lib.sh"

SECRET=JBSWY3DPEHPK3PXP
NOW=1700000015
LOCKED_MSG='^error: Too many failed verification attempts: this account is locked until [0-2][0-9]:[0-5][0-9] UTC\.$'

PG_MAX_FAILURES=3
PG_LOCKOUT=600
write_config
start_daemon
add_token agent1 SHA1 6 30 "$SECRET"
add_token agent2 SHA1 6 30 "$SECRET"
pam_service login
at_time $NOW
right=$(totp_code "$SECRET" SHA1 6 $NOW)
wrong=000000
[ "$right" != "$wrong" ] || wrong=111111

# Two failures: still prompted, no lockout yet.
for i in 1 2; do
	expect_rc 1 "wrong code $i" -- run_pam login agent1 auth -a "$wrong"
	expect_out '^prompt: ' "wrong code $i is prompted for"
	expect_no_out '^error: Too many' "locked after $i failures"
done
# The third failure locks, and the user is told at once.
start=$(date +%s)
expect_rc 1 "wrong code 3" -- run_pam login agent1 auth -a "$wrong"
expect_out "$LOCKED_MSG" "lockout message after the locking failure"

# Locked: no prompt at all, the right code does not help.
expect_rc 1 "locked, right code" -- run_pam login agent1 auth -a "$right"
expect_no_out '^prompt:' "a locked user was prompted"
expect_out "$LOCKED_MSG" "lockout message"
expect_out '^auth: PAM_AUTH_ERR$' "locked, right code"
expect_log '^auth; user=agent1; .*result=failure; reason=locked$' "locked log line"
# The time shown is the daemon's end of the lockout (lockout = 600 s).
shown=$(sed -n 's/^error: .*locked until \([0-9:]*\) UTC\.$/\1/p' "$OUT")
ok=0
for t in $((start + PG_LOCKOUT - 60)) $((start + PG_LOCKOUT)) $((start + PG_LOCKOUT + 60)); do
	[ "$shown" = "$(date -u -d "@$t" +%H:%M)" ] && ok=1
done
[ "$ok" -eq 1 ] || fail "lockout end shown as $shown, want about $(date -u -d "@$((start + PG_LOCKOUT))" +%H:%M)"

# Another user is not affected.
expect_rc 0 "other user" -- run_pam login agent2 auth -a "$right"

# An admin unlocks; the right code works again and the count restarts.
[ -x "$PHIGUARDCTL" ] || die "$PHIGUARDCTL not built"
ctl unlock agent1 >"$T/ctl.out" 2>&1 || fail "phiguardctl unlock: $(cat "$T/ctl.out")"
expect_rc 0 "after unlock" -- run_pam login agent1 auth -a "$right"
expect_out '^prompt: ' "prompted after unlock"
expect_out '^auth: PAM_SUCCESS$' "after unlock"
expect_rc 1 "one failure after unlock" -- run_pam login agent1 auth -a "$wrong"
expect_no_out '^error: Too many' "locked by one failure after unlock"

finish
