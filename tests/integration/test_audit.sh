#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# The audit trail of a real phiguardd: logins through the real PAM module
# leave chained JSON records (claims, factor results, replays, lockouts,
# unlocks, sessions, hostile PAM items), phiguardctl audit show/head/
# verify read them, rotation (by request, SIGUSR1 and size) keeps the
# chain, every kind of tampering is caught and named, and a daemon killed
# with SIGKILL leaves a trail that verifies and goes on after a restart.
. "${top_srcdir:?}/tests/integration/lib.sh"
need python3

SECRET=JBSWY3DPEHPK3PXP
for u in nurse1 nurse2 clerk1; do
	add_token "$u" SHA1 6 30 "$SECRET" phone
done
PG_MAX_FAILURES=3
write_config
pam_service login
start_daemon

# The trail's files (not the torn fragments kept aside).
trail_files() {
	ls "$AUDIT_DIR"/audit.log "$AUDIT_DIR"/audit.log.[0-9]* 2>/dev/null
}

# wait_grep PATTERN: the current file has a line matching (the writer is
# a thread; 5 s at most).
wait_grep() {
	wait_for 5 grep -Eqs -- "$1" "$AUDIT_FILE" ||
		fail "no trail line matching '$1'"
}

# verify_out ARGS...: phiguardctl audit verify, its output in $OUT.
verify_out() {
	ctl audit verify "$@" >"$OUT" 2>&1
}

# Every line of the given files is one JSON object with exactly the keys
# of phiguardd(8), in order, and valid UTF-8.
check_json() {
	python3 - "$@" <<'PY' || fail "audit lines are not the documented JSON"
import json, sys
KEYS = ["time", "host", "event", "user", "service", "tty", "rhost",
        "factor", "decision", "scopes", "reason", "rule", "source", "uid",
        "prev"]
n = 0
for path in sys.argv[1:]:
    for i, raw in enumerate(open(path, "rb"), 1):
        obj = json.loads(raw.decode("utf-8"))
        if list(obj) != KEYS:
            sys.exit("%s:%d: keys %s" % (path, i, list(obj)))
        n += 1
if n == 0:
    sys.exit("no records")
PY
}

# wait_lines N: the trail holds at least N lines (the writer is a thread).
wait_lines() {
	wait_for 5 trail_has "$1" || fail "trail has fewer than $1 lines"
}

trail_has() {
	[ "$(cat $(trail_files) | wc -l)" -ge "$1" ]
}

# --- logins leave records ---------------------------------------------
wait_fresh_step
code=$(totp_code "$SECRET")
expect_rc 0 "login" -- run_pam login nurse1 auth -a "$code"
expect_rc 1 "replayed code" -- run_pam login nurse1 auth -a "$code"
for i in 1 2 3; do
	run_pam login clerk1 auth -a 000000
done
ctl unlock clerk1 >/dev/null || fail "phiguardctl unlock"
# PAM items are not checked by anyone: control bytes, quotes, invalid
# UTF-8 and a long value must still give valid JSON.
long=$(printf 'x%.0s' $(seq 1 700))
pgreq "v1 SESSION user=nurse1 action=open service=sshd tty=pts/1 rhost=10.0.0.7" \
	"v1 SESSION user=nurse1 action=close service=a%22b%5Cc%01%1B[31m tty=%FF%C0%AF rhost=$long" \
	>"$OUT"
grep -q '^v1 OK$' "$OUT" || fail "SESSION refused: $(cat "$OUT")"
# A local user asking about someone else is refused and recorded.
pgreq_as nobody "v1 UNLOCK user=clerk1" >/dev/null 2>&1
wait_lines 12

ctl audit show >"$OUT" 2>&1 || fail "audit show failed"
for ev in daemon-start totp-claim factor-success replay factor-failure \
	lockout unlock session-open session-close refused; do
	grep -Eq "^[0-9TZ:.-]+ +$ev " "$OUT" || fail "no $ev record in audit show"
done
expect_out 'factor-failure +clerk1 +deny .*reason=bad-code' "failure with its reason"
expect_out 'unlock +clerk1 +allow .*uid=0' "unlock with the admin uid"
expect_out 'refused .*uid=65534' "refusal with the caller's uid"
expect_out 'session-open +nurse1 .*service=sshd tty=pts/1 rhost=10.0.0.7' "session items"
# Control bytes never reach the terminal.
if grep -q "$(printf '\033')" "$OUT"; then fail "escape byte in audit show"; fi
# Codes never reach the trail.
if grep -q "$code" "$AUDIT_FILE"; then fail "a code is in the trail"; fi
check_json "$AUDIT_FILE"
# Every event is mirrored to the log in the key=value shape.
grep -Eq 'audit event=lockout user=clerk1 service=login tty=- rhost=- factor=totp decision=deny scopes=- reason=max-failures rule=- source=- uid=-$' \
	"$DAEMON_LOG" || fail "no lockout line in the documented syslog shape"

# Filters.
ctl audit show --user clerk1 --event 'factor-*' >"$OUT" 2>&1
[ "$(grep -c 'factor-failure' "$OUT")" -eq 3 ] || fail "--user/--event: want 3 failures"
expect_no_out 'nurse1' "--user filters other users out"
ctl audit show --since "$(date -u -d '+1 hour' '+%Y-%m-%dT%H:%M:%SZ')" >"$OUT" 2>&1
expect_out '^0 records shown' "--since in the future shows nothing"
ctl audit show --until 2000-01-01 >"$OUT" 2>&1
expect_out '^0 records shown' "--until in the past shows nothing"
ctl audit show --json --event replay >"$OUT" 2>/dev/null
[ "$(wc -l <"$OUT")" -eq 1 ] || fail "--json --event replay: want one line"
grep -qF "$(grep '"event":"replay"' "$AUDIT_FILE")" "$OUT" ||
	fail "--json does not print the stored line"
expect_rc 2 "show with a bad time" -- ctl audit show --since yesterday

# The count ends the table, on the same stream; a warning about a line
# that is not a record stands where that line is, whatever the streams
# are (a file, a pipe: stdout is not line-buffered there).
ctl audit show >"$OUT" 2>"$T/err"
n=$(grep -cE '^[0-9]{4}-' "$OUT")
[ "$(tail -n 1 "$OUT")" = "$n records shown; the chain was not verified (phiguardctl audit verify)" ] ||
	fail "audit show: the count is not the table's last line: $(tail -n 1 "$OUT")"
[ ! -s "$T/err" ] || fail "audit show: stderr without a reason: $(cat "$T/err")"
ctl alerts >"$OUT" 2>"$T/err"
expect_out '^[0-9]+ records? shown; the chain was not verified' "alerts: the count on stdout"
[ ! -s "$T/err" ] || fail "alerts: stderr without a reason: $(cat "$T/err")"
{
	head -n 3 "$AUDIT_FILE"
	echo "not a record"
	tail -n +4 "$AUDIT_FILE"
} >"$T/damaged.log"
ctl audit show "$T/damaged.log" 2>&1 | cat >"$OUT"
sed -n '5p' "$OUT" | grep -q "damaged.log:4: not an audit record" ||
	fail "audit show: the warning is not after the third row: $(sed -n '1,6p' "$OUT")"
tail -n 1 "$OUT" | grep -Eq '^[0-9]+ records shown; some lines were not records; the chain was not verified' ||
	fail "audit show: the count is not last: $(tail -n 2 "$OUT")"

# Head: from the daemon, and from the file when it is not running.
head_d=$(ctl audit head) || fail "audit head"
ctl status >"$OUT" 2>&1
expect_out '^  audit +ok$' "status shows audit=ok"
expect_out "^  audit_head +$head_d\$" "status shows the head"
ctl audit verify >"$OUT" 2>&1 || fail "verify of an untouched trail"
expect_out "^intact: [0-9]+ records in 1 file, head $head_d\$" "verify names the head"

# --- rotation keeps the chain -----------------------------------------
ctl audit rotate >"$OUT" 2>&1 || fail "audit rotate: $(cat "$OUT")"
expect_out "^rotated to $AUDIT_FILE.1; head [0-9a-f]{64}\$" "rotate names the file"
pgreq "v1 SESSION user=nurse2 action=open" >/dev/null
kill -USR1 "$DAEMON_PID"
wait_for 5 test -f "$AUDIT_FILE.2" || fail "SIGUSR1 did not rotate"
pgreq "v1 SESSION user=nurse2 action=close" >/dev/null
wait_grep '"event":"session-close","user":"nurse2"'
head -n 1 "$AUDIT_FILE.2" | grep -q '"event":"audit-rotate","user":null.*"reason":"request","rule":null,"source":null,"uid":0,' ||
	fail "the file after a requested rotation starts with audit-rotate uid 0"
head -n 1 "$AUDIT_FILE" | grep -q '"event":"audit-rotate".*"reason":"signal"' ||
	fail "the file after SIGUSR1 starts with audit-rotate"
grep -q 'audit rotated (signal)' "$DAEMON_LOG" || fail "rotation head not logged"
ctl audit verify >"$OUT" 2>&1 || fail "verify across rotations: $(cat "$OUT")"
expect_out '^intact: [0-9]+ records in 3 files' "verify reads the rotated files in order"

# By size: a small limit, then enough events to pass it.
stop_daemon
head_file=$(ctl audit head 2>/dev/null)
last=$(tail -n 1 "$AUDIT_FILE" | python3 -c 'import hashlib,sys; print(hashlib.sha256(sys.stdin.buffer.read().rstrip(b"\n")).hexdigest())')
[ "$head_file" = "$last" ] || fail "audit head without a daemon: $head_file, want $last"
PG_AUDIT_ROTATE_SIZE=4096
write_config
start_daemon
# One connection, one request at a time, so the writer sees the size
# grow between batches.
for i in $(seq 0 39); do
	echo "v1 SESSION user=nurse2 action=open tty=tty$i"
done | pgclient stream --pause 0.01 >/dev/null
wait_grep '"tty":"tty39"'
[ -f "$AUDIT_FILE.3" ] || fail "no rotation by size"
ctl audit verify >"$OUT" 2>&1 || fail "verify after size rotation: $(cat "$OUT")"
check_json $(trail_files)

# --- tampering is caught and named ------------------------------------
stop_daemon
TAMPER="$T/tamper"
mkdir -p "$TAMPER"
FULLHEAD=$(ctl audit head 2>/dev/null)
# The whole trail as one file, oldest first (FILE.1, FILE.2, ... FILE).
whole() {
	n=1
	while [ -f "$AUDIT_FILE.$n" ]; do
		cat "$AUDIT_FILE.$n"
		n=$((n + 1))
	done
	cat "$AUDIT_FILE"
}
# tampered NAME COMMAND...: the whole trail changed by COMMAND (a filter)
# into $TAMPER/NAME, then verified into $OUT.
tampered() {
	name=$1
	shift
	whole | "$@" >"$TAMPER/$name"
	ctl audit verify "$TAMPER/$name" >"$OUT" 2>&1
}
whole >"$TAMPER/orig"
# One byte of a deny record: a deny turned into "denY".
n=$(grep -n '"decision":"deny"' "$TAMPER/orig" | head -n 1 | cut -d: -f1)
expect_rc 1 "one byte edited" -- tampered edit sed "${n}s/\"deny\"/\"denY\"/"
expect_out "^$TAMPER/edit:$((n + 1)): modified-or-removed: does not follow $TAMPER/edit:$n" "edit named"
expect_rc 1 "line deleted" -- tampered delete sed '7d'
expect_out "^$TAMPER/delete:7: modified-or-removed" "deletion named"
expect_rc 1 "line inserted" -- tampered insert awk 'NR == 3 { keep = $0 } { print } NR == 6 { print keep }'
expect_out "^$TAMPER/insert:7: inserted" "insertion named"
expect_rc 1 "lines swapped" -- tampered reorder awk 'NR == 4 { held = $0; next } { print } NR == 5 { print held }'
expect_out "^$TAMPER/reorder:4: reordered: out of order: it follows $TAMPER/reorder:5" "reordering named"
expect_rc 1 "garbage line" -- tampered garbage sed '3s/.*/not json/'
expect_out "^$TAMPER/garbage:3: malformed" "garbage named"
# Truncation: invisible alone, caught against a head kept elsewhere.
expect_rc 0 "truncated, no head" -- tampered trunc sed '$d'
expect_rc 1 "truncated against the head" -- \
	verify_out --head "$FULLHEAD" "$TAMPER/trunc"
expect_out ": truncated: the given head is no line's hash" "truncation named"
expect_rc 0 "an older head is fine" -- verify_out --head \
	"$(sed -n '2p' "$TAMPER/orig" | python3 -c 'import hashlib,sys; print(hashlib.sha256(sys.stdin.buffer.read().rstrip(b"\n")).hexdigest())')" \
	"$TAMPER/trunc"
expect_out 'written after it' "verify says how many records came after the head"
# Whole files: one missing from the middle of the chain, or the first.
REST=$(n=2; while [ -f "$AUDIT_FILE.$n" ]; do echo "$AUDIT_FILE.$n"; n=$((n + 1)); done; echo "$AUDIT_FILE")
expect_rc 1 "a rotated file left out" -- verify_out "$AUDIT_FILE.1" $(echo "$REST" | sed 1d)
expect_out "^$AUDIT_FILE.3:1: modified-or-removed" "a missing middle file named"
expect_rc 1 "the first file left out" -- verify_out $REST
expect_out "^$AUDIT_FILE.2:1: removed" "a missing start named"
anchor=$(tail -n 1 "$AUDIT_FILE.1" | python3 -c 'import hashlib,sys; print(hashlib.sha256(sys.stdin.buffer.read().rstrip(b"\n")).hexdigest())')
expect_rc 0 "archived start with --anchor" -- verify_out --anchor "$anchor" $REST

# --- SIGKILL mid-write ------------------------------------------------
# The default rotation size again: with 4096 bytes, the load below made
# size rotations land at random points, even between the kill and the
# records this part checks (daemon-start chained to the last complete line,
# daemon-stop the last line).
PG_AUDIT_ROTATE_SIZE=67108864
write_config
start_daemon
seq 0 99999 | sed 's/^/v1 SESSION user=nurse1 action=open tty=kill/' |
	pgclient stream >/dev/null 2>&1 &
LOADER=$!
sleep 0.5
kill -KILL "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null
DAEMON_PID=""
wait "$LOADER" 2>/dev/null
before=$(cat $(trail_files) | wc -l)
# Intact up to the last complete line; a write the kill cut short can
# only be the last line. Most kills land between writes: then make the
# torn write certain.
if verify_out; then
	printf '{"time":"2026-11-29T00:00:00.000Z","host":"ws1","event":"sess' >>"$AUDIT_FILE"
	expect_rc 1 "a torn last line is reported" -- verify_out
fi
expect_out "^$AUDIT_FILE:[0-9]+: partial: " "torn last line named"
last=$(tail -n 2 "$AUDIT_FILE" | head -n 1 | python3 -c 'import hashlib,sys; print(hashlib.sha256(sys.stdin.buffer.read().rstrip(b"\n")).hexdigest())')
start_daemon
wait_lines $((before + 1))
ls "$AUDIT_FILE".torn-* >/dev/null 2>&1 || fail "torn tail not kept aside"
grep -q 'ended in a part line' "$DAEMON_LOG" || fail "torn tail not logged"
grep '"event":"daemon-start"' "$AUDIT_FILE" | tail -n 1 | grep -q "\"prev\":\"$last\"" ||
	fail "the restart does not chain to the last complete line"
ctl audit verify >"$OUT" 2>&1 || fail "trail after restart: $(cat "$OUT")"
check_json $(trail_files)
stop_daemon
tail -n 1 "$AUDIT_FILE" | grep -q '"event":"daemon-stop"' || fail "no daemon-stop record"
echo "--- audit show excerpt" >&2
ctl audit show "$AUDIT_FILE.1" 2>/dev/null | head -n 14 >&2
finish
