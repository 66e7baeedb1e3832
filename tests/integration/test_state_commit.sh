#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Group commit of the state log (issue 13): a writer thread makes CLAIM,
# REPORT and UNLOCK changes durable, one fdatasync for every change queued
# while the previous one was syncing, and answers them only then; other
# requests are answered meanwhile. The daemon runs with a shim that makes
# every fdatasync of state.log take PG_SLOWSYNC_MS (a slow disk).
. "${top_srcdir:?}/tests/integration/lib.sh"
need python3

SHIM="$top_builddir/tests/integration/.libs/slowsync.so"
[ -f "$SHIM" ] || die "$SHIM not built"
SYNC_MS=1000
[ -z "${VALGRIND:-}" ] || skip "LD_PRELOAD shim under valgrind"

write_config
start_slow_daemon() {
	export LD_PRELOAD="$SHIM" PG_SLOWSYNC_MS="$SYNC_MS"
	start_daemon
	unset LD_PRELOAD PG_SLOWSYNC_MS
}
start_slow_daemon

# status_field KEY: that field of STATUS.
status_field() {
	pgreq "v1 STATUS" | tr ' ' '\n' | sed -n "s/^$1=//p"
}
NOW=$(date +%s)
STEP=$((NOW - NOW % 30))

# --- 8 concurrent CLAIMs share commits ---------------------------------
c0=$(status_field statelog_commits)
r0=$(status_field statelog_records)
i=1
pids=
while [ $i -le 8 ]; do
	pgreq "v1 CLAIM user=group$i step_start=$STEP" >"$T/claim$i" &
	pids="$pids $!"
	i=$((i + 1))
done
# Not a bare wait: the daemon is a child too.
for p in $pids; do
	wait "$p"
done
cat "$T"/claim[1-8] >"$OUT"
[ "$(grep -c '^v1 OK claimed=yes$' "$OUT")" -eq 8 ] ||
	fail "8 concurrent CLAIMs: not all accepted: $(cat "$OUT")"
c1=$(status_field statelog_commits)
r1=$(status_field statelog_records)
log "8 CLAIMs: $((r1 - r0)) records in $((c1 - c0)) commits"
[ $((r1 - r0)) -eq 8 ] || fail "8 CLAIMs made $((r1 - r0)) records durable"
# The first commits alone; the others arrive while it syncs (1 s) and share
# the next one, or a few on a slow machine: never one each.
[ $((c1 - c0)) -ge 1 ] && [ $((c1 - c0)) -le 4 ] ||
	fail "8 concurrent CLAIMs took $((c1 - c0)) commits (group commit: 2 expected)"

# --- the same step again while its first CLAIM is being written ----------
pgclient race "v1 CLAIM user=twice step_start=$STEP" \
	"v1 CLAIM user=twice step_start=$STEP" >"$OUT"
expect_lines "a replay refused while the first CLAIM syncs" \
	"pending" "v1 ERR code=replay msg=step%20already%20used" \
	"v1 OK claimed=yes"

# --- other requests are answered while a commit is in progress -----------
# The slow request is still waiting for its fdatasync when the fast one,
# sent 0.2 s later on another connection, is answered.
pgclient race "v1 CLAIM user=slow1 step_start=$STEP" "v1 CHECK user=nurse1 scope=phi.read" >"$OUT"
expect_lines "CHECK answered during a commit" "pending" "v1 *" "v1 OK claimed=yes"
pgclient race "v1 REPORT user=slow2 factor=totp result=failure" "v1 PREAUTH user=other" >"$OUT"
expect_lines "PREAUTH answered during a commit" "pending" "v1 OK locked=no push=yes" \
	"v1 OK locked=no failures=1 push=yes"
pgclient race "v1 UNLOCK user=slow2" "v1 STATUS" >"$OUT"
expect_lines "STATUS answered during a commit" "pending" "v1 OK version=*" \
	"v1 OK was_locked=no cleared=failures"
# Nothing to write: answered at once, not parked.
pgclient race "v1 UNLOCK user=slow2" "v1 STATUS" >"$OUT"
expect_lines "an UNLOCK that changes nothing is not held" "answered-early" "*" \
	"v1 OK was_locked=no cleared=none"

# --- shutdown drains the writer --------------------------------------------
pgreq "v1 CLAIM user=last step_start=$STEP" >"$T/last" &
client=$!
sleep 0.3
stop_daemon
wait $client
[ "$(cat "$T/last")" = "v1 OK claimed=yes" ] ||
	fail "a CLAIM in flight at shutdown answered '$(cat "$T/last")'"
grep -q "phiguardd stopped$" "$DAEMON_LOG" || fail "daemon did not stop cleanly"

# --- and every acknowledged step survives ---------------------------------
PG_SLOWSYNC_MS=0
start_daemon
pgreq "v1 CLAIM user=last step_start=$STEP" "v1 CLAIM user=group5 step_start=$STEP" \
	"v1 CLAIM user=twice step_start=$STEP" "v1 CLAIM user=slow1 step_start=$STEP" >"$OUT"
expect_lines "acknowledged steps are replays after a restart" \
	"v1 ERR code=replay msg=step%20already%20used" \
	"v1 ERR code=replay msg=step%20already%20used" \
	"v1 ERR code=replay msg=step%20already%20used" \
	"v1 ERR code=replay msg=step%20already%20used"
finish
