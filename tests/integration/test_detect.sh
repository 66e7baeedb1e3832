#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Threat detection end to end, through the real module and phiguardd: a
# code-spraying run from one remote host raises PG-ALERT-SPRAY (syslog
# line, audit record, `phiguardctl alerts`) and, with spray_block, that
# host is refused without a prompt, told that the address is blocked (not
# that the account is locked), while another host is not; a lockout
# raises PG-ALERT-BRUTEFORCE; a login at an hour the agent never works,
# after a learned routine that survived a restart, raises PG-ALERT-HOUR,
# and the routine itself raises nothing.
. "${top_srcdir:?}/tests/integration/lib.sh"

SECRET=JBSWY3DPEHPK3PXP
# The daemon's local time decides the hour: make it UTC, like the clocks.
TZ=UTC
export TZ

PG_MAX_FAILURES=3
# detect_config [EXTRA [detect] LINES]
detect_config() {
	write_config
	{
		echo "[detect]"
		echo "spray_users = 3"
		echo "spray_window = 600"
		echo "spray_block = 120"
		echo "hour_min_logins = 5"
		echo "hour_percent = 10"
	} >>"$CONF"
}

# A service that takes PAM_RHOST / PAM_TTY from the environment.
{
	echo "auth required $PAM_WRAPPER_MODULES/pam_set_items.so"
	echo "auth required $PAM_MODULE config=$CONF $(valgrind_timeout_arg)"
	echo "account required pam_permit.so"
} >"$PAMD/items"
printf 'auth required pam_deny.so\naccount required pam_deny.so\n' >"$PAMD/other"

for u in agent1 agent2 agent3 agent4 agent5 night1; do
	add_token "$u" SHA1 6 30 "$SECRET"
done

alerts() { ctl alerts "$@" >"$T/alerts" 2>&1 || fail "phiguardctl alerts: $(cat "$T/alerts")"; }
n_alerts() { grep -c "$1" "$T/alerts" || true; }

# A webhook receiver that accepts connections and never answers: alerts
# for it must not delay any decision (it has alert_webhook_timeout = 30).
HANG_PORT_FILE="$T/hang.port"
python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(16)
open(sys.argv[1] + ".tmp", "w").write(str(s.getsockname()[1]))
import os; os.rename(sys.argv[1] + ".tmp", sys.argv[1])
conns = []
while True:
    c, _ = s.accept(); conns.append(c)' "$HANG_PORT_FILE" &
HANG_PID=$!
stop_hang() { stop_pid "$HANG_PID"; }
CLEANUP_HOOKS="$CLEANUP_HOOKS stop_hang"
wait_for 10 test -s "$HANG_PORT_FILE" || die "hanging receiver did not start"

# --- spraying from one host ------------------------------------------------
detect_config
cat >>"$CONF" <<CONF
alert_webhook = https://127.0.0.1:$(cat "$HANG_PORT_FILE")/alerts
alert_webhook_timeout = 30
CONF
start_daemon
wrong=000000
[ "$(totp_code "$SECRET")" != "$wrong" ] || wrong=111111
for u in agent1 agent2; do
	PAM_RHOST=203.0.113.7 expect_rc 1 "$u wrong code" -- run_pam items "$u" auth -a "$wrong"
done
grep -q 'PG-ALERT-SPRAY' "$DAEMON_LOG" && fail "spray alert before spray_users users"
PAM_RHOST=203.0.113.7 expect_rc 1 "agent3 wrong code" -- run_pam items agent3 auth -a "$wrong"
grep -Eq 'ALERT PG-ALERT-SPRAY kind=spray .*source_type=rhost source=203\.0\.113\.7 ' "$DAEMON_LOG" ||
	fail "no spray alert after 3 users from one host"
# Refused without a prompt now, even with the right code ...
PAM_RHOST=203.0.113.7 expect_rc 1 "blocked host, right code" -- run_pam items agent4 auth -a "$(totp_code "$SECRET")"
expect_no_out '^prompt:' "a blocked host was prompted"
BLOCKED_TAIL='blocked until [0-9]{2}:[0-9]{2} UTC after failed verification attempts for several accounts\. Call the help desk\.$'
expect_out "^error: Logins from this address are $BLOCKED_TAIL" "blocked host's message"
expect_no_out 'account is locked' "a blocked host was told the account is locked"
expect_log 'user=agent4; .*result=failure; reason=source-blocked$' "blocked host's log line"
# ... while another host is served.
wait_fresh_step
PAM_RHOST=198.51.100.2 expect_rc 0 "other host" -- run_pam items agent5 auth -a "$(totp_code "$SECRET")"
alerts
[ "$(n_alerts 'reason=PG-ALERT-SPRAY')" -eq 1 ] ||
	fail "want one spray alert in the trail: $(cat "$T/alerts")"
grep -q 'alert .*rhost=203\.0\.113\.7' "$T/alerts" || fail "spray alert without its source: $(cat "$T/alerts")"

# --- lockout: brute force ------------------------------------------------
# The locking attempt raises an alert for the hanging webhook; it is
# answered without waiting for it (bound: a third of the webhook timeout;
# under valgrind, most of it).
lim=10000
[ -z "${VALGRIND:-}" ] || lim=25000
for i in 1 2 3; do
	t0=$(now_ms)
	PAM_TTY=tty3 run_pam items agent1 auth -a "$wrong" || true
	ms=$(($(now_ms) - t0))
	[ "$ms" -lt "$lim" ] || fail "attempt $i took $ms ms with a hanging webhook"
done
grep -Eq 'ALERT PG-ALERT-BRUTEFORCE kind=bruteforce .*user=agent1 ' "$DAEMON_LOG" ||
	fail "no brute-force alert on lockout"
alerts --user agent1
[ "$(n_alerts 'reason=PG-ALERT-BRUTEFORCE')" -eq 1 ] ||
	fail "want one brute-force alert for agent1: $(cat "$T/alerts")"
stop_daemon

# --- an unusual hour, after a routine learned across a restart -----------
# Five day-shift logins (09:00-09:04 UTC, one a day apart), the daemon
# restarted in between: quiet. Then one at 03:00: an alert.
DAY=1795510800 # 2026-11-23 09:00:00 UTC
day=0
while [ $day -lt 5 ]; do
	t=$((DAY + day * 86400 + day * 60))
	PG_DAEMON_TIME=$t start_daemon
	at_time $t
	expect_rc 0 "day login $day" -- run_pam items night1 auth -a "$(totp_code "$SECRET" SHA1 6 $t)"
	at_time ""
	stop_daemon
	day=$((day + 1))
done
grep -q 'PG-ALERT-HOUR' "$DAEMON_LOG" && fail "hour alert during the routine"
t=$((DAY + 6 * 86400 - 6 * 3600)) # 03:00 UTC
PG_DAEMON_TIME=$t start_daemon
at_time $t
expect_rc 0 "night login" -- run_pam items night1 auth -a "$(totp_code "$SECRET" SHA1 6 $t)"
at_time ""
grep -Eq 'ALERT PG-ALERT-HOUR kind=hour severity=warning .*user=night1 ' "$DAEMON_LOG" ||
	fail "no alert for a 03:00 login after a day-shift routine"
# The writer thread appends the record after the log line: give it (a
# loaded machine) up to 10 s.
# (alerts failing ends the wait: it failed the test already.)
hour_alert_or_error() {
	! alerts --user night1 || [ "$(n_alerts 'reason=PG-ALERT-HOUR')" -ne 0 ]
}
wait_for -i 0.2 10 hour_alert_or_error
[ "$(n_alerts 'reason=PG-ALERT-HOUR')" -eq 1 ] || fail "hour alert not in the trail: $(cat "$T/alerts")"
[ -s "$STATE_DIR/hours" ] || fail "learned hours not saved in state_dir"

# --- what the module makes of the daemon's answers for a blocked source --
# (the stand-in daemon: a terminal as the source, and a block that starts
# between PREAUTH and CLAIM).
UNTIL=$(($(date +%s) + 120))
{
	echo "auth required $PAM_WRAPPER_MODULES/pam_set_items.so"
	echo "auth required $PAM_MODULE config=$CONF socket=$FAKE_SOCK $(valgrind_timeout_arg)"
	echo "account required pam_permit.so"
} >"$PAMD/fake"
fake_answers "PREAUTH v1 OK locked=yes until=$UNTIL reason=source-blocked push=yes"
fake_start
PAM_TTY=tty3 expect_rc 1 "blocked terminal" -- run_pam fake agent5 auth -a "$wrong"
expect_no_out '^prompt:' "a blocked terminal was prompted"
expect_out "^error: Logins at this terminal are $BLOCKED_TAIL" "blocked terminal's message"
# A user lock stays a user lock.
fake_answers "PREAUTH v1 OK locked=yes until=$UNTIL push=yes"
PAM_TTY=tty3 expect_rc 1 "locked user" -- run_pam fake agent5 auth -a "$wrong"
expect_out '^error: Too many failed verification attempts: this account is locked until' "locked user's message"
# Blocked between PREAUTH and CLAIM: the right code, then the block.
fake_answers "PREAUTH v1 OK locked=no push=yes" \
	"CLAIM v1 ERR code=locked msg=source-blocked until=$UNTIL"
PAM_RHOST=203.0.113.9 expect_rc 1 "blocked at CLAIM" -- run_pam fake agent5 auth -a "$(totp_code "$SECRET")"
expect_out '^prompt: ' "prompted before the block"
expect_out "^error: Logins from this address are $BLOCKED_TAIL" "message for a block at CLAIM"
expect_no_out 'account is locked' "a block at CLAIM was called a lock"
fake_stop

finish
