#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Compaction of the state log off the event loop (issue 13): once the log
# has grown past twice its compacted size plus 1 MiB, the writer thread
# rewrites it (state.log.tmp, fsync, rename) in queue order while the loop
# goes on answering. The daemon runs with a shim that makes every fsync of
# state.log.tmp take SYNC_MS (a slow disk): a CHECK and a PREAUTH sent
# during that sync are answered at once, a CLAIM queued behind the
# compaction is answered once it and its own commit are durable, and every
# acknowledged change survives a restart.
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
export LD_PRELOAD="$SHIM" PG_SLOWSYNC_NAME=state.log.tmp PG_SLOWSYNC_MS="$SYNC_MS"
start_daemon
unset LD_PRELOAD PG_SLOWSYNC_NAME PG_SLOWSYNC_MS
TMP_LOG="$STATE_DIR/state.log.tmp"

NOW=$(date +%s)
STEP=$((NOW - NOW % 30))
pgreq "v1 CLAIM user=early step_start=$STEP" >"$OUT"
expect_lines "a CLAIM before the flood" "v1 OK claimed=yes"

# --- grow the log past 1 MiB -------------------------------------------
# USERS distinct users, each reported as a failure once on each of CONNS
# connections at once (a user's record grows with its failures): about
# 1.3 MiB of records, the compaction starting at about 1 MiB, with the
# flood still going on.
USERS=2400
CONNS=8
seq 1 "$USERS" | sed 's/.*/v1 REPORT user=u& factor=totp result=failure/' >"$T/flood"
t0=$(now_ms)
pgclient stream --conns "$CONNS" --window 0 <"$T/flood" >"$T/flood.out" &
flood=$!

# --- requests while the writer syncs the compacted log -----------------
wait_for -i 0.01 60 test -e "$TMP_LOG" ||
	die "no compaction within 60 s of the flood (state.log: $(wc -c <"$STATE_DIR/state.log") bytes)"
log "compaction started $(($(now_ms) - t0)) ms into the flood"
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
n=$(grep -c '^v1 OK locked=no failures=' "$T/flood.out")
[ "$n" -eq $((USERS * CONNS)) ] ||
	fail "$n of $((USERS * CONNS)) REPORTs acknowledged: $(grep -v '^v1 OK' "$T/flood.out" | sort | uniq -c | head -n 3)"

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
finish
