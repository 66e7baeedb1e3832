#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# phiguardd's wire protocol against the real daemon, spoken raw by
# pgclient.py: every verb, malformed and over-long lines, slow, idle, greedy and
# non-reading clients, peer permissions (SO_PEERCRED), persistence across
# restarts, signals, daemon mode, --check-config, and one run under valgrind.
. "${top_srcdir:?}/tests/integration/lib.sh"

need "$PY" setpriv
NOBODY_UID=$(id -u nobody) || die "no user nobody"

PG_MAX_CLIENTS=4
PG_CLIENT_TIMEOUT=2
PG_MAX_FAILURES=3
write_config

# to_out CMD...: run with stdout and stderr in $OUT; its exit status.
to_out() {
	"$@" >"$OUT" 2>&1
}

pg() {
	to_out pgclient "$@"
}

# as_nobody CMD...: the same client under uid/gid 65534.
as_nobody() {
	to_out pgclient_as "$NOBODY_UID" "$@"
}

# --- configuration checks --------------------------------------------------
to_out "$PHIGUARDD" --check-config --config "$CONF" ||
	fail "--check-config rejected a good config"
expect_out "^$CONF: OK\$" "--check-config says OK"
BAD="$T/bad.conf"
printf '[daemon]\nsocket = %s\nmax_clients = 0\n' "$SOCK" >"$BAD"
expect_rc 1 "--check-config on a bad config" -- \
	to_out "$PHIGUARDD" --check-config --config "$BAD"
expect_out "^$BAD:3: max_clients: " "--check-config names file:line: key"
printf '[daemon]\nstate_dir = %s/missing\n' "$T" >"$BAD"
expect_rc 1 "--check-config with a missing state_dir" -- \
	to_out "$PHIGUARDD" --check-config --config "$BAD"
expect_out "state_dir: " "--check-config checks state_dir"
to_out "$PHIGUARDD" --dump-config --config "$CONF"
expect_out "^max_clients = $PG_MAX_CLIENTS\$" "--dump-config shows the config"

start_daemon
mode=$(stat -c %a "$SOCK")
[ "$mode" = 666 ] || fail "socket mode is $mode, want 666"

# --- each verb's happy path ------------------------------------------------
pg req "v1 PREAUTH user=nurse1 service=login tty=tty1" \
	"v1 CLAIM user=nurse1 step_start=59240123" \
	"v1 CLAIM user=nurse1 step_start=59240123" \
	"v1 CLAIM user=nurse1 step_start=59240122" \
	"v1 CLAIM user=nurse1 step_start=59240124" \
	"v1 REPORT user=nurse1 factor=totp result=success" \
	"v1 REPORT user=nurse1 factor=push result=failure reason=denied" \
	"v1 UNLOCK user=nurse1" \
	"v1 FROB x=1"
expect_lines "verbs" \
	"v1 OK locked=no push=yes" \
	"v1 OK claimed=yes" \
	"v1 ERR code=replay msg=step%20already%20used" \
	"v1 ERR code=replay msg=step%20already%20used" \
	"v1 OK claimed=yes" \
	"v1 OK locked=no failures=0 push=yes" \
	"v1 OK locked=no failures=1 push=yes" \
	"v1 OK was_locked=no cleared=failures%20push-failures" \
	"v1 ERR code=unknown-verb msg=FROB"
pg req "v1 STATUS"
expect_out '^v1 OK version=[^ ]+ uptime=[0-9]+ users=1 unenrolled=0 locked=0 push_suspended=0 clients=1 requests=[0-9]+ errors=[0-9]+ statelog_commits=[0-9]+ statelog_records=[0-9]+ state=ok audit=ok audit_head=[0-9a-f]{64} audit_records=[0-9]+ audit_lost=0 audit_dropped=0 audit_aggregated=[0-9]+ audit_busy=0 verbs=[^ ]+$' "STATUS"
# Per-verb counts and latency: "VERB count mean_us max_us", LF-separated;
# the four CLAIMs above are in it (replays too), this STATUS not yet.
expect_out ' verbs=([^ ]*%0A)?CLAIM%204%20[0-9]+%20[0-9]+(%0A| |$)' "STATUS per-verb figures"

# --- field errors ----------------------------------------------------------
pg req "v1 PREAUTH" "v1 PREAUTH user=-rf" "v1 PREAUTH user=a/b" \
	"v1 CLAIM user=nurse1" "v1 CLAIM user=nurse1 step_start=12x" \
	"v1 CLAIM user=nurse1 step_start=-1" \
	"v1 CLAIM user=nurse1 step_start=$(($(date +%s) + 400))" \
	"v1 REPORT user=nurse1 factor=sms result=failure" \
	"v1 REPORT user=nurse1 factor=totp" \
	"v1 REPORT user=nurse1 factor=totp result=failure reason=a%20b" \
	"v1 UNLOCK" "v1 PREAUTH user=nurse1 future_key=ignored"
expect_lines "field errors" \
	"v1 ERR code=missing-field msg=user" \
	"v1 ERR code=bad-user msg=invalid%20user%20name" \
	"v1 ERR code=bad-user msg=invalid%20user%20name" \
	"v1 ERR code=missing-field msg=step_start" \
	"v1 ERR code=invalid msg=step_start" \
	"v1 ERR code=invalid msg=step_start" \
	"v1 ERR code=invalid msg=step_start%20is%20in%20the%20future" \
	"v1 ERR code=invalid msg=factor" \
	"v1 ERR code=missing-field msg=result" \
	"v1 ERR code=invalid msg=reason" \
	"v1 ERR code=missing-field msg=user" \
	"v1 OK locked=no push=yes"

# --- malformed lines: ERR, and the connection stays usable ------------------
pg req "v2 PREAUTH user=nurse1" "v1 PREAUTH User=nurse1" \
	"v1 PREAUTH user=nurse%2" "v1 PREAUTH user=nurse%zz1" \
	"v1 PREAUTH user=a user=b" "v1 preauth user=a" "v1  PREAUTH user=a" \
	"v1 PREAUTH user=a " "v1" "" "v1 OK" "v1 PREAUTH user=nurse1"
expect_lines "malformed" \
	"v1 ERR code=version msg=unsupported%20protocol%20version" \
	"v1 ERR code=protocol msg=malformed%20protocol%20line" \
	"v1 ERR code=protocol msg=malformed%20protocol%20line" \
	"v1 ERR code=protocol msg=malformed%20protocol%20line" \
	"v1 ERR code=protocol msg=malformed%20protocol%20line" \
	"v1 ERR code=protocol msg=malformed%20protocol%20line" \
	"v1 ERR code=protocol msg=malformed%20protocol%20line" \
	"v1 ERR code=protocol msg=malformed%20protocol%20line" \
	"v1 ERR code=protocol msg=malformed%20protocol%20line" \
	"v1 ERR code=protocol msg=malformed%20protocol%20line" \
	"v1 ERR code=unknown-verb msg=OK" \
	"v1 OK locked=no push=yes"

# --- line length limit -----------------------------------------------------
pg size 4096
expect_lines "4096-byte line" "v1 OK locked=no push=yes" "open"
pg size 4097
expect_lines "4097-byte line" "v1 ERR code=too-long msg=line%20too%20long" "closed"

# --- pipelining ------------------------------------------------------------
pg pipeline "v1 CLAIM user=pipe step_start=5" "v1 CLAIM user=pipe step_start=5" \
	"v1 FROB" "v1 CLAIM user=pipe step_start=6" "v1 PREAUTH user=pipe"
expect_lines "pipelined" "v1 OK claimed=yes" \
	"v1 ERR code=replay msg=step%20already%20used" \
	"v1 ERR code=unknown-verb msg=FROB" "v1 OK claimed=yes" \
	"v1 OK locked=no push=yes"

# --- slow, idle, greedy and deaf clients -----------------------------------
pg drip
expect_out '^other: v1 OK locked=no push=yes$' "a client is served while another drips"
expect_out '^other served in 0\.' "the dripping client does not stall others"
expect_out '^drip closed after [1-4]\.' "a dripping client is closed after client_timeout"
pg idle
expect_out '^closed after [1-4]\.' "an idle client is closed after client_timeout"
pg busy "$PG_MAX_CLIENTS"
expect_lines "max_clients" "v1 ERR code=busy msg=too%20many%20clients" "closed"
expect_out '^v1 OK version=' "a slot frees up when a client leaves"
pg noread
expect_out '^closed by daemon$' "a client that never reads is dropped"
pg req "v1 PREAUTH user=nurse1"
expect_lines "served after the deaf client" "v1 OK locked=no push=yes"
grep -q 'not reading its responses' "$DAEMON_LOG" ||
	fail "the deaf client's disconnection is not logged"

# --- peer credentials ------------------------------------------------------
as_nobody req "v1 STATUS" "v1 PREAUTH user=root" "v1 PREAUTH user=nobody" \
	"v1 CLAIM user=nobody step_start=7" "v1 CLAIM user=nurse1 step_start=99999999" \
	"v1 UNLOCK user=nobody" "v1 PREAUTH user=no-such-user-here"
expect_lines "non-root peer" \
	"v1 ERR code=permission msg=root%20only" \
	"v1 ERR code=permission msg=may%20only%20ask%20about%20yourself" \
	"v1 OK locked=no push=yes" \
	"v1 OK claimed=yes" \
	"v1 ERR code=permission msg=may%20only%20ask%20about%20yourself" \
	"v1 ERR code=permission msg=root%20only" \
	"v1 ERR code=permission msg=may%20only%20ask%20about%20yourself"
grep -q "STATUS uid=$NOBODY_UID pid=[0-9]* -> ERR code=permission" "$DAEMON_LOG" ||
	fail "permission refusal not logged with the peer uid"
# Other uids share half of max_clients; the rest stays for root (PAM).
as_nobody busy $((PG_MAX_CLIENTS / 2))
expect_lines "non-root connection cap" \
	"v1 ERR code=busy msg=too%20many%20clients" "closed" \
	"v1 ERR code=permission msg=root%20only"

# --- lockout and unlock ----------------------------------------------------
pg req "v1 REPORT user=clerk1 factor=totp result=failure reason=bad-code" \
	"v1 REPORT user=clerk1 factor=totp result=failure reason=bad-code" \
	"v1 REPORT user=clerk1 factor=totp result=failure reason=bad-code" \
	"v1 PREAUTH user=clerk1" "v1 CLAIM user=clerk1 step_start=10"
sed -n 1,2p "$OUT" | grep -c '^v1 OK locked=no failures=[12] push=yes$' | grep -qx 2 ||
	fail "first two failures do not lock"
expect_out '^v1 OK locked=yes until=[0-9]+ failures=3 push=yes$' "third failure locks"
expect_out '^v1 OK locked=yes until=[0-9]+ push=yes$' "PREAUTH reports the lock"
expect_out '^v1 ERR code=locked msg=user%20is%20locked%20out until=[0-9]+$' "CLAIM while locked"
grep -q 'REPORT user=clerk1 uid=0 pid=[0-9]* factor=totp result=failure reason=bad-code -> OK locked=yes' \
	"$DAEMON_LOG" || fail "lockout decision not logged"

# --- push fatigue ----------------------------------------------------------
# result=error (the provider failed) is recorded, never counted; denied or
# unanswered pushes count, and push_max_unanswered (3) of them suspend push.
pg req "v1 REPORT user=pushy factor=push result=error reason=provider-unreachable" \
	"v1 REPORT user=pushy factor=totp result=error" \
	"v1 REPORT user=pushy factor=push result=sent reason=sent" \
	"v1 REPORT user=pushy factor=totp result=sent" \
	"v1 REPORT user=pushy factor=push result=failure reason=push-denied" \
	"v1 REPORT user=pushy factor=push result=failure reason=push-timeout" \
	"v1 PREAUTH user=pushy"
expect_lines "push errors are not counted" \
	"v1 OK locked=no failures=0 push=yes" \
	"v1 ERR code=invalid msg=result" \
	"v1 OK locked=no failures=0 push=yes" \
	"v1 ERR code=invalid msg=result" \
	"v1 OK locked=no failures=1 push=yes" \
	"v1 OK locked=no failures=2 push=yes" \
	"v1 OK locked=no push=yes"
pg req "v1 REPORT user=pushy factor=push result=failure reason=push-denied" \
	"v1 PREAUTH user=pushy"
expect_out '^v1 OK locked=yes until=[0-9]+ failures=3 push=no push_until=[0-9]+$' "third failed push suspends push"
expect_out '^v1 OK locked=yes until=[0-9]+ push=no push_until=[0-9]+$' "PREAUTH reports the suspension"
grep -q 'audit event=push-sent user=pushy ' "$DAEMON_LOG" || fail "no push-sent audit record"
grep -Eq 'ALERT PG-ALERT-PUSHFATIGUE kind=pushfatigue .*user=pushy ' "$DAEMON_LOG" || fail "push suspension not alerted"
grep -Eq 'ALERT PG-ALERT-BRUTEFORCE kind=bruteforce .*user=pushy ' "$DAEMON_LOG" || fail "lockout not alerted"
pg req "v1 STATUS"
expect_out ' locked=2 push_suspended=1 push_suspended_users=pushy%20[0-9]+ clients=' "STATUS names the suspended user"

# --- persistence across restarts -------------------------------------------
restart_daemon
pg req "v1 PREAUTH user=pushy" "v1 UNLOCK user=pushy" "v1 PREAUTH user=pushy"
expect_out '^v1 OK locked=yes until=[0-9]+ push=no push_until=[0-9]+$' "push suspension survives a restart"
expect_out '^v1 OK was_locked=yes cleared=lockout%20push-suspension%20failures%20push-failures$' "UNLOCK of a suspended user"
expect_lines "UNLOCK ends the suspension" "*" "*" "v1 OK locked=no push=yes"
pg req "v1 PREAUTH user=clerk1" "v1 CLAIM user=nurse1 step_start=59240124" \
	"v1 UNLOCK user=clerk1" "v1 PREAUTH user=clerk1" \
	"v1 CLAIM user=clerk1 step_start=10"
expect_out '^v1 OK locked=yes until=' "lock survives a restart"
expect_lines "after restart" "*" \
	"v1 ERR code=replay msg=step%20already%20used" \
	"v1 OK was_locked=yes cleared=lockout%20failures" "v1 OK locked=no push=yes" "v1 OK claimed=yes"
restart_daemon
pg req "v1 PREAUTH user=clerk1" "v1 CLAIM user=clerk1 step_start=10"
expect_lines "unlock survives a restart" "v1 OK locked=no push=yes" \
	"v1 ERR code=replay msg=step%20already%20used"

# --- SIGTERM ---------------------------------------------------------------
stop_daemon
[ ! -e "$SOCK" ] || fail "socket left behind after SIGTERM"
[ ! -e "$T/phiguardd.pid" ] || fail "pidfile left behind after SIGTERM"

# --- daemon mode, stale socket, a second instance ---------------------------
to_out "$PHIGUARDD" --config "$CONF" || fail "daemon mode did not start"
[ -S "$SOCK" ] || fail "daemon mode: no socket once started"
dpid=$(cat "$T/phiguardd.pid" 2>/dev/null)
if [ -z "$dpid" ] || ! kill -0 "$dpid" 2>/dev/null; then
	die "daemon mode: no live pid in the pidfile"
fi
expect_rc 1 "a second instance" -- \
	to_out "$PHIGUARDD" --config "$CONF"
[ -S "$SOCK" ] || fail "a second instance removed the live socket"
kill -KILL "$dpid"
wait_for 10 exited "$dpid" || die "daemon mode: no exit after SIGKILL"
[ -S "$SOCK" ] || die "SIGKILL removed the socket?"
to_out "$PHIGUARDD" --config "$CONF" || fail "no restart over a stale socket"
dpid=$(cat "$T/phiguardd.pid" 2>/dev/null)
pg req "v1 CLAIM user=clerk1 step_start=10"
expect_lines "daemon mode serves" "v1 ERR code=replay msg=step%20already%20used"
kill -TERM "$dpid"
wait_for 10 exited "$dpid" || die "daemon mode: no exit after SIGTERM"
[ ! -e "$SOCK" ] || fail "daemon mode: socket left behind"
: >"$SOCK"
expect_rc 1 "a regular file at the socket path" -- \
	to_out "$PHIGUARDD" --config "$CONF"
[ -f "$SOCK" ] || fail "a regular file at the socket path was removed"
rm -f "$SOCK"

# --- once under valgrind ---------------------------------------------------
if command -v valgrind >/dev/null 2>&1 && [ "${SANITIZERS:-no}" != yes ]; then
	VALGRIND=1
	start_daemon
	pg req "v1 PREAUTH user=nurse1" "v1 CLAIM user=nurse1 step_start=59240200" \
		"v1 REPORT user=vg factor=totp result=failure" "v1 STATUS" \
		"v1 UNLOCK user=vg" "v1 FROB" "v2"
	expect_out '^v1 OK claimed=yes$' "CLAIM under valgrind"
	as_nobody req "v1 PREAUTH user=nobody"
	expect_lines "peer check under valgrind" "v1 OK locked=no push=yes"
	pg size 4097
	stop_daemon
	unset VALGRIND
fi

finish
