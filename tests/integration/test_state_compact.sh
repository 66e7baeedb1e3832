#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Compaction of the state log off the event loop (issue 13): once the log
# has grown past twice its compacted size plus 1 MiB, the writer thread
# rewrites it (state.log.tmp, fsync, rename) in queue order while the loop
# goes on answering. The daemon runs with a shim that makes every fsync of
# state.log.tmp take SYNC_MS (a slow disk): a CHECK and a PREAUTH sent
# during that sync are answered at once, a CLAIM queued behind the
# compaction is answered once it and its own commit are durable, and every
# acknowledged change survives a restart, and a SIGKILL in the middle of
# the compaction.
. "${top_srcdir:?}/tests/integration/lib.sh"
need python3

SHIM="$top_builddir/tests/integration/.libs/slowsync.so"
[ -f "$SHIM" ] || die "$SHIM not built"
SYNC_MS=1500
# An answer during the compaction's sync: well under the sync itself
# (a python client's start included).
FAST_MS=300
[ -z "${VALGRIND:-}" ] || skip "LD_PRELOAD shim under valgrind"

# Failure counts that grow without locking anyone: each REPORT of a user
# adds a failure to that user's record.
PG_MAX_FAILURES=1000
write_config
TMP_LOG="$STATE_DIR/state.log.tmp"

start_slow_daemon() {
	export LD_PRELOAD="$SHIM" PG_SLOWSYNC_NAME=state.log.tmp PG_SLOWSYNC_MS="$SYNC_MS"
	start_daemon
	unset LD_PRELOAD PG_SLOWSYNC_NAME PG_SLOWSYNC_MS
}

# flood PREFIX: in the background (pid in $flood, replies in
# $T/PREFIX.out), USERS distinct users PREFIX1... each reported as a
# failure once on each of CONNS connections at once (a user's record
# grows with its failures): about 1.3 MiB of records, from an empty log
# the compaction starting at about 1 MiB, with the flood still going on.
USERS=2400
CONNS=8
flood() {
	seq 1 "$USERS" | sed "s/.*/v1 REPORT user=$1& factor=totp result=failure/" >"$T/$1.in"
	t0=$(now_ms)
	pgclient stream --conns "$CONNS" --window 0 <"$T/$1.in" >"$T/$1.out" &
	flood=$!
}

# Wait for the compaction: the writer has created state.log.tmp.
wait_compaction() {
	wait_for -i 0.01 60 test -e "$TMP_LOG" ||
		die "no compaction within 60 s of the flood (state.log: $(wc -c <"$STATE_DIR/state.log") bytes)"
	log "compaction started $(($(now_ms) - t0)) ms into the flood"
}

# acked PREFIX: how many of the flood's REPORTs were acknowledged.
acked() {
	grep -c '^v1 OK locked=no failures=' "$T/$1.out"
}

start_slow_daemon
NOW=$(date +%s)
STEP=$((NOW - NOW % 30))
pgreq "v1 CLAIM user=early step_start=$STEP" >"$OUT"
expect_lines "a CLAIM before the flood" "v1 OK claimed=yes"
flood u

# --- requests while the writer syncs the compacted log -----------------
wait_compaction
pgreq_timed "v1 CHECK user=nurse1 scope=phi.read"
check_ms=$PGREQ_MS
expect_lines "CHECK during the compaction" "v1 *"
pgreq_timed "v1 PREAUTH user=other"
preauth_ms=$PGREQ_MS
expect_lines "PREAUTH during the compaction" "v1 OK locked=no push=yes"
[ -e "$TMP_LOG" ] || log "the compaction ended before both answers: timing is loose"
log "during the compaction's ${SYNC_MS} ms fsync: CHECK $check_ms ms, PREAUTH $preauth_ms ms"
[ "$check_ms" -lt "$FAST_MS" ] ||
	fail "CHECK during the compaction took $check_ms ms (>= $FAST_MS): the loop waited for its sync"
[ "$preauth_ms" -lt "$FAST_MS" ] ||
	fail "PREAUTH during the compaction took $preauth_ms ms (>= $FAST_MS)"
# Queued behind the compaction: answered once it and its own commit are
# durable.
pgreq_timed "v1 CLAIM user=during step_start=$STEP"
expect_lines "a CLAIM queued during the compaction" "v1 OK claimed=yes"
log "CLAIM queued during the compaction answered in $PGREQ_MS ms"

wait "$flood"
log "flood of $((USERS * CONNS)) REPORTs: $(($(now_ms) - t0)) ms"
n=$(acked u)
[ "$n" -eq $((USERS * CONNS)) ] ||
	fail "$n of $((USERS * CONNS)) REPORTs acknowledged: $(grep -v '^v1 OK' "$T/u.out" | sort | uniq -c | head -n 3)"

# --- the log was compacted, by the writer --------------------------------
line=$(grep 'state log compacted: ' "$DAEMON_LOG" | head -n 1)
[ -z "$line" ] || log "${line#*: }"
new=$(printf '%s\n' "$line" | sed -n 's/.*compacted: \([0-9]*\) bytes (were \([0-9]*\)).*/\1/p')
old=$(printf '%s\n' "$line" | sed -n 's/.*compacted: \([0-9]*\) bytes (were \([0-9]*\)).*/\2/p')
if [ -z "$new" ]; then
	fail "no compaction logged"
else
	[ "$old" -gt 1048576 ] && [ "$new" -lt $((old / 2)) ] ||
		fail "compacted $old bytes to $new"
fi
size=$(wc -c <"$STATE_DIR/state.log")
[ "$size" -lt 1048576 ] || fail "state.log is $size bytes after the flood"
[ ! -e "$TMP_LOG" ] || fail "state.log.tmp left behind"
grep -q 'cannot be written' "$DAEMON_LOG" && fail "the compaction failed"

# --- every acknowledged change survives a restart --------------------------
stop_daemon
start_daemon
pgreq "v1 CLAIM user=early step_start=$STEP" "v1 CLAIM user=during step_start=$STEP" \
	"v1 REPORT user=u1 factor=totp result=failure" \
	"v1 REPORT user=u$USERS factor=totp result=failure" >"$OUT"
expect_lines "acknowledged changes after a restart" \
	"v1 ERR code=replay msg=step%20already%20used" \
	"v1 ERR code=replay msg=step%20already%20used" \
	"v1 OK locked=no failures=$((CONNS + 1)) push=yes" \
	"v1 OK locked=no failures=$((CONNS + 1)) push=yes"

# --- a crash during the compaction loses nothing acknowledged --------------
# From an empty log again, the daemon is killed in the compaction's sync:
# the old log, complete, is the one replayed, and holds every REPORT that
# was answered (each added one failure to its user's record).
stop_daemon
rm -f "$STATE_DIR"/state.log*
start_slow_daemon
pgreq "v1 CLAIM user=early step_start=$STEP" >"$OUT"
expect_lines "a CLAIM before the second flood" "v1 OK claimed=yes"
flood w
wait_compaction
pgreq "v1 CLAIM user=lost step_start=$STEP" >"$T/lost.out" &
lost=$!
sleep 0.2
kill -KILL "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null
DAEMON_PID=""
wait "$flood" "$lost"
n=$(acked w)
log "killed in the compaction's sync: $n of $((USERS * CONNS)) REPORTs acknowledged"
[ "$(cat "$T/lost.out")" = "v1 OK claimed=yes" ] &&
	fail "a CLAIM queued behind the compaction was answered before it was done"
start_daemon
# Answered once the log is loaded (the socket comes before that).
pgreq "v1 CLAIM user=early step_start=$STEP" >"$OUT"
expect_lines "a claimed step after the crash" "v1 ERR code=replay msg=step%20already%20used"
[ ! -e "$TMP_LOG" ] || fail "state.log.tmp of the killed compaction kept"
# state.log, compacted at the start: one U record per user, its failure
# count in field 6.
counted=$(awk '$1 == "U" && $2 ~ /^w[0-9]+$/ { s += $6 } END { print s + 0 }' "$STATE_DIR/state.log")
log "after the crash: $counted failures recorded"
[ "$counted" -ge "$n" ] ||
	fail "after the crash $counted failures recorded, $n acknowledged"
finish
