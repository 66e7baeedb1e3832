#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Under systemd, phiguardd's stderr is the journal (JOURNAL_STREAM names
# it): each line then carries its syslog priority as the "<N>" prefix
# journald reads, and no time or phiguardd[pid] of its own (journald adds
# those). Alerts are at LOG_ALERT (<1>), lockout records at LOG_WARNING,
# audit records at LOG_NOTICE, the rest at info and debug. With the
# variable inherited but stderr elsewhere, the plain format stays.
. "${top_srcdir:?}/tests/integration/lib.sh"

PG_MAX_FAILURES=3
write_config
printf 'audit_head_interval = 1\n[push]\npush_max_unanswered = 2\n' >>"$CONF"
"$PHIGUARDD" --check-config --config "$CONF" >"$OUT" 2>&1 ||
	die "--check-config: $(cat "$OUT")"

JLOG="$T/journal"
: >"$JLOG"
# What systemd puts there: the stream's device and inode, in decimal.
JS=$(stat -c '%d:%i' "$JLOG")
JOURNAL_STREAM=$JS "$PHIGUARDD" -f --config "$CONF" >>"$JLOG" 2>&1 &
DAEMON_PID=$!
wait_socket "$SOCK" "$DAEMON_PID" phiguardd
pgreq "v1 REPORT user=agent1 factor=totp result=failure reason=bad-code" \
	"v1 REPORT user=agent1 factor=totp result=failure reason=bad-code" \
	"v1 REPORT user=agent1 factor=totp result=failure reason=bad-code" \
	"v1 REPORT user=pushy factor=push result=failure reason=push-denied" \
	"v1 REPORT user=pushy factor=push result=failure reason=push-timeout" \
	>"$OUT" || fail "requests: $(cat "$OUT")"
expect_out 'locked=yes' "the third failure locks"
wait_for 5 grep -q 'audit-head ' "$JLOG" ||
	die "no audit-head line within 5 s (audit_head_interval = 1)"
stop_daemon
cp "$JLOG" "$DAEMON_LOG" # shown if the test fails

# prio_of PATTERN: the "<N>" of the one line matching PATTERN.
prio_of() {
	n=$(grep -cE -- "$1" "$JLOG")
	[ "$n" -eq 1 ] || { echo "lines:$n"; return; }
	grep -E -- "$1" "$JLOG" | sed -n 's/^<\([0-9]\)>.*/\1/p'
}
expect_prio() {
	got=$(prio_of "$2")
	[ "$got" = "$1" ] || fail "$3: priority '$got', want $1: $(grep -E -- "$2" "$JLOG")"
}
expect_prio 1 'ALERT PG-ALERT-BRUTEFORCE kind=bruteforce .*user=agent1 ' "lockout alert"
expect_prio 1 'ALERT PG-ALERT-PUSHFATIGUE kind=pushfatigue .*user=pushy ' "push fatigue alert"
expect_prio 4 'audit event=lockout user=agent1 ' "lockout audit record"
expect_prio 5 'audit event=daemon-start ' "audit record"
expect_prio 6 'serving on ' "info line"
grep -qE '^<7>' "$JLOG" || fail "no debug line at <7> (log_level = 2)"
grep -qE '^<5>audit-head head=[0-9a-f]{64} ' "$JLOG" || fail "no audit-head line at <5>"
# What README's rsyslog example forwards matches lines the daemon writes.
grep -o '\$msg contains "[^"]*"' "$top_srcdir/README.md" | sed 's/^[^"]*"//; s/"$//' >"$T/matches"
[ "$(wc -l <"$T/matches")" -eq 2 ] || fail "README: not two rsyslog matches: $(cat "$T/matches")"
while read -r m; do
	grep -qF -- "$m" "$JLOG" || fail "README's rsyslog match '$m' is in no daemon line"
done <"$T/matches"
# Every line has exactly one prefix and nothing journald adds itself.
bad=$(grep -vE '^<[0-7]>' "$JLOG")
[ -z "$bad" ] || fail "lines without a priority prefix: $bad"
bad=$(grep -E '^<[0-7]>(<[0-7]>|[0-9]{4}-[0-9]{2}-[0-9]{2}T)|phiguardd\[[0-9]+\]' "$JLOG")
[ -z "$bad" ] || fail "lines with a time or ident of their own: $bad"

# The variable inherited, stderr elsewhere: the plain format.
: >"$DAEMON_LOG"
export JOURNAL_STREAM="$JS"
start_daemon
stop_daemon
unset JOURNAL_STREAM
grep -qE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[^ ]+ phiguardd\[[0-9]+\]: .*serving on ' "$DAEMON_LOG" ||
	fail "stderr that is not the journal lost its time and ident"
! grep -qE '^<[0-7]>' "$DAEMON_LOG" || fail "priority prefix on stderr that is not the journal"

finish
