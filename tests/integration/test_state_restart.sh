#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# A restart of phiguardd forgets nothing: a used code stays used and a
# lockout stays in force (state persisted by the daemon, replayed at start).
. "$top_srcdir/tests/integration/lib.sh"

SECRET=JBSWY3DPEHPK3PXP
add_token nurse1 SHA1 6 30 "$SECRET" phone
add_token clerk1 SHA1 6 30 "$SECRET" phone
PG_MAX_FAILURES=3
write_config
pam_service login
start_daemon

# A code used before the restart is refused after it.
wait_fresh_step
code=$(totp_code "$SECRET")
expect_rc 0 "first use of a fresh code" -- run_pam login nurse1 auth -a "$code"
expect_out '^auth: PAM_SUCCESS$' "first use"
restart_daemon
expect_rc 1 "same code after restart" -- run_pam login nurse1 auth -a "$code"
expect_out '^auth: PAM_AUTH_ERR$' "replay after restart is refused"

# A lockout made before the restart holds after it.
for i in 1 2 3; do
	run_pam login clerk1 auth -a 000000
done
restart_daemon
code=$(totp_code "$SECRET")
expect_rc 1 "locked user after restart" -- run_pam login clerk1 auth -a "$code"
expect_out '^error: .*locked until' "lock message survives the restart"
expect_no_out '^prompt:' "a locked user is not prompted"

# The state log exists, and a torn final record (crash mid-write) does not
# stop the daemon nor unlock the user.
[ -s "$STATE_DIR/state.log" ] || fail "state.log missing or empty"
stop_daemon
printf 'U clerk1 garbage-without-newl' >>"$STATE_DIR/state.log"
start_daemon
expect_rc 1 "locked user after torn write" -- run_pam login clerk1 auth -a "$(totp_code "$SECRET")"
expect_out '^error: .*locked until' "still locked after a torn record"

# A corrupt state file: the daemon starts safe, keeping the lock and
# refusing codes used before, and says so in STATUS.
stop_daemon
printf 'this is not a state record\n' >"$STATE_DIR/state.log"
start_daemon
expect_rc 1 "after corruption, a locked user stays locked" -- \
	run_pam login clerk1 auth -a "$(totp_code "$SECRET")"
expect_out '^error: .*locked until' "safe start keeps users locked"
ls "$STATE_DIR"/state.log.corrupt-* >/dev/null 2>&1 ||
	fail "corrupt state file was not kept aside"
"$PHIGUARDCTL" --config "$CONF" status >"$OUT" 2>&1 ||
	fail "phiguardctl status failed"
expect_out 'state.*recovered' "status reports the recovery"
"$PHIGUARDCTL" --config "$CONF" unlock clerk1 >"$OUT" 2>&1 ||
	fail "phiguardctl unlock failed"
# Unlocked, but the safe start also raised the step floor past every code
# that could have been used before the corruption: the current code is
# still refused (as a replay) until the floor has passed.
expect_rc 1 "code below the recovery floor" -- \
	run_pam login clerk1 auth -a "$(totp_code "$SECRET")"
expect_out '^auth: PAM_AUTH_ERR$' "recovery floor refuses current codes"
expect_no_out 'locked until' "unlock lifted the safe-start lock"
finish
