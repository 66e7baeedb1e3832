#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Site mode ([tokens] store = ldap): a CLAIM's step is made durable in the
# daemon's state log while the directory decides it, not after. The daemon
# runs with the slow-disk shim (every fdatasync of state.log takes
# SYNC_MS): a CLAIM is answered only once its record is durable, yet a
# directory that is slow at the same time adds nothing to that wait; the
# floor it wrote holds across a crash, below a directory left lower; a
# step the directory refuses is refused; report=yes resets the failures
# here too. Then the kept records' file (offline mode) with a slow fsync:
# its save is the token store's worker's, and the loop answers meanwhile.
# shellcheck disable=SC2154 # SLAPD_*_NAME are set by start_slapd (eval)
. "${top_srcdir:?}/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/slapd.sh"
. "$top_srcdir/tests/integration/site_lib.sh"

SHIM="$top_builddir/tests/integration/.libs/slowsync.so"
[ -f "$SHIM" ] || die "$SHIM not built"
[ -z "${VALGRIND:-}" ] || skip "LD_PRELOAD shim and timings under valgrind"
SYNC_MS=1000
FREEZE_MS=600
SECRET=JBSWY3DPEHPK3PXP

start_slapd a --oath
site_params a
enroll a nurse1 "$SECRET"
enroll a frontdesk1 "$SECRET"
site_config "$SLAPD_URI_a"

start_slow_daemon() {
	export LD_PRELOAD="$SHIM" PG_SLOWSYNC_MS="$SYNC_MS"
	start_daemon
	unset LD_PRELOAD PG_SLOWSYNC_MS
}
start_slow_daemon

NOW=$(date +%s)
STEP=$((NOW - NOW % 30))

# set_step USER STEP_START: the directory's step of USER's token set to
# that of STEP_START, as another terminal or a replica would leave it.
set_step() {
	ldap_modify a <<LDIF || die "$1's step"
dn: cn=$1,$SLAPD_TOKEN_BASE
changetype: modify
replace: oathTOTPLastTimeStep
oathTOTPLastTimeStep: $(($2 / 30))
LDIF
}

# timed_claim USER STEP_START [MORE]: the CLAIM's reply in $OUT, its time
# in ms in $ELAPSED.
timed_claim() {
	pgreq_timed "v1 CLAIM user=$1 step_start=$2${3:+ $3}"
	ELAPSED=$PGREQ_MS
}

pgreq "v1 PREAUTH user=nurse1" >"$OUT"
expect_out "^v1 OK" "PREAUTH nurse1"
pgreq "v1 PREAUTH user=frontdesk1" >"$OUT"
expect_out "^v1 OK" "PREAUTH frontdesk1"

# --- durable before OK -------------------------------------------------------
timed_claim nurse1 $((STEP - 120))
expect_out '^v1 OK claimed=yes$' "site CLAIM accepted"
log "site CLAIM with a ${SYNC_MS} ms fdatasync: $ELAPSED ms"
[ "$ELAPSED" -ge $((SYNC_MS - 100)) ] ||
	fail "site CLAIM answered in $ELAPSED ms, before its record could be durable (${SYNC_MS} ms sync)"
[ "$(last_step a nurse1)" = $(((STEP - 120) / 30)) ] ||
	fail "the directory does not hold the claimed step: $(last_step a nurse1)"

# --- the directory's wait and the sync overlap --------------------------------
# slapd frozen for FREEZE_MS while the record syncs for SYNC_MS: one after
# the other would take their sum; together, about the longer one.
freeze_slapd a
(
	sleep "$(awk -v ms="$FREEZE_MS" 'BEGIN { printf "%.3f", ms / 1000 }')"
	thaw_slapd a
) &
THAWER=$!
timed_claim nurse1 $((STEP - 90))
wait "$THAWER"
expect_out '^v1 OK claimed=yes$' "site CLAIM with a slow directory"
log "site CLAIM, ${SYNC_MS} ms sync and a ${FREEZE_MS} ms frozen directory: $ELAPSED ms"
[ "$ELAPSED" -lt $((SYNC_MS + FREEZE_MS - 100)) ] ||
	fail "site CLAIM took $ELAPSED ms: the sync waited for the directory (sum $((SYNC_MS + FREEZE_MS)) ms)"
[ "$(last_step a nurse1)" = $(((STEP - 90) / 30)) ] ||
	fail "the directory does not hold the second step: $(last_step a nurse1)"

# --- a step the directory refuses ----------------------------------------------
# Another terminal used frontdesk1's step already: the directory refuses.
set_step frontdesk1 $((STEP - 60))
timed_claim frontdesk1 $((STEP - 60))
expect_out '^v1 ERR code=replay ' "a step used at another terminal"
[ "$(last_step a frontdesk1)" = $(((STEP - 60) / 30)) ] ||
	fail "a refused claim moved the directory's step: $(last_step a frontdesk1)"

# --- report=yes resets the failures here ---------------------------------------
pgreq "v1 REPORT user=frontdesk1 factor=totp result=failure" >"$OUT"
expect_out 'failures=1' "a first failure"
pgreq "v1 REPORT user=frontdesk1 factor=totp result=failure" >"$OUT"
expect_out 'failures=2' "a second failure"
timed_claim frontdesk1 $((STEP - 30)) "report=yes"
expect_out '^v1 OK claimed=yes reported=yes$' "CLAIM report=yes"
pgreq "v1 REPORT user=frontdesk1 factor=totp result=failure" >"$OUT"
expect_out 'failures=1' "failures reset by CLAIM report=yes"
[ "$(token_attr a frontdesk1 oathFailureCount)" = 1 ] ||
	fail "directory's failure count: $(token_attr a frontdesk1 oathFailureCount)"

# --- the floor holds across a crash ----------------------------------------------
# Killed without a chance to write anything more; the directory is then
# left holding a lower step (a replica that missed the claim): the
# daemon's floor, made durable with the claim, still refuses it.
kill -KILL "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null
DAEMON_PID=""
set_step nurse1 $((STEP - 150))
start_daemon
pgreq "v1 PREAUTH user=nurse1" >"$OUT"
expect_out "^v1 OK" "PREAUTH nurse1 after the crash"
pgreq "v1 CLAIM user=nurse1 step_start=$((STEP - 90))" >"$OUT"
expect_out '^v1 ERR code=replay ' "the last step claimed before the crash"
pgreq "v1 CLAIM user=nurse1 step_start=$((STEP - 120))" >"$OUT"
expect_out '^v1 ERR code=replay ' "a step below the floor, above the directory's"
[ "$(last_step a nurse1)" = $(((STEP - 150) / 30)) ] ||
	fail "a refused claim moved the directory's step: $(last_step a nurse1)"
pgreq "v1 CLAIM user=nurse1 step_start=$STEP" >"$OUT"
expect_out '^v1 OK claimed=yes$' "the next step"
stop_daemon

# --- the kept records are saved off the loop ----------------------------------
# tokens.kept.tmp's fsync takes KEPT_SYNC_MS. A PREAUTH changes the kept
# records; the next tick (within a second) starts their save; STATUS,
# sent every 50 ms meanwhile, is never held up by it.
KEPT_SYNC_MS=1500
export LD_PRELOAD="$SHIM" PG_SLOWSYNC_MS="$KEPT_SYNC_MS" PG_SLOWSYNC_NAME=tokens.kept.tmp
start_daemon
unset LD_PRELOAD PG_SLOWSYNC_MS PG_SLOWSYNC_NAME
pgreq "v1 PREAUTH user=frontdesk1" >"$OUT"
expect_out "^v1 OK .*tokens=1" "PREAUTH frontdesk1 (kept)"
worst=0
n=0
while [ "$n" -lt 50 ]; do
	pgreq_timed "v1 STATUS"
	[ "$PGREQ_MS" -le "$worst" ] || worst=$PGREQ_MS
	sleep 0.05
	n=$((n + 1))
done
log "STATUS during a ${KEPT_SYNC_MS} ms save of the kept records: worst $worst ms"
[ "$worst" -lt 700 ] ||
	fail "STATUS waited $worst ms: the kept records' save held the loop"
stop_daemon
grep -q '^frontdesk1 ' "$STATE_DIR/tokens.kept" ||
	fail "tokens.kept was not saved"
finish
