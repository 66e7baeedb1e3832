#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# The state log on a full file system (a 64 KiB tmpfs as state_dir, issue
# 11): changes are refused (ERR code=io), STATUS says state=failed with the
# reason, the log says so once, the daemon retries with a growing pause
# instead of rewriting the log for every request, and it recovers by
# itself once space is back, with what was counted meanwhile made durable.
. "${top_srcdir:?}/tests/integration/lib.sh"
need python3

mount_tmpfs statefs
STATE_DIR="$MNT"
PG_MAX_FAILURES=3
write_config
start_daemon

# status_field KEY: that field of STATUS.
status_field() {
	pgreq "v1 STATUS" | tr ' ' '\n' | sed -n "s/^$1=//p"
}

# wait_state WANT SECONDS: poll STATUS until state=WANT.
wait_state() {
	secs=$2
	[ -z "${VALGRIND:-}" ] || secs=$((secs * 3))
	wait_for "$secs" state_is "$1" || {
		fail "STATUS never showed state=$1"
		return 1
	}
}

state_is() {
	[ "$(status_field state)" = "$1" ]
}

step=$(($(date +%s) / 30 * 30))
pgreq "v1 CLAIM user=agent1 step_start=$step" >"$OUT"
expect_out '^v1 OK claimed=yes$' "CLAIM with room on the disk"

dd if=/dev/zero of="$MNT/filler" bs=1k >/dev/null 2>&1
dd if=/dev/zero of="$MNT/filler2" bs=1 >/dev/null 2>&1

# reports USER N: N failure REPORTs for USER (USER%d: distinct users), on
# one connection.
reports() {
	u=$1 n=$2
	set --
	i=0
	while [ "$i" -lt "$n" ]; do
		# shellcheck disable=SC2059 # the user may hold a %d
		set -- "$@" "v1 REPORT user=$(printf "$u" "$i") factor=totp result=failure reason=bad-code"
		i=$((i + 1))
	done
	pgreq "$@"
}

# Appends fill the log's last page first: then a change fails.
reports 'fill%d' 150 >"$OUT"
grep -q '^v1 ERR code=io' "$OUT" || fail "150 records never met the full disk"
# Twenty more changes in a row.
reports victim 20 >"$OUT"
[ "$(grep -c '^v1 ERR code=io' "$OUT")" -eq 20 ] ||
	fail "changes on a full disk not refused as io: $(sort "$OUT" | uniq -c)"
pgreq "v1 CLAIM user=agent2 step_start=$step" >"$OUT"
expect_out '^v1 ERR code=io ' "CLAIM on a full disk refused"
pgreq "v1 STATUS" >"$OUT"
expect_out ' state=failed ' "STATUS says state=failed"
expect_out ' state_reason=[^ ]*No%20space%20left%20on%20device' "STATUS gives the reason"
# Reading goes on.
pgreq "v1 PREAUTH user=agent3" >"$OUT"
expect_out '^v1 OK locked=no' "PREAUTH on a full disk"

n=$(grep -c 'state log .* cannot be written' "$DAEMON_LOG")
[ "$n" -eq 1 ] || fail "the failure was logged $n times, want once"
# Not one rewrite of the log per request: retries after 1, 2, 4, 8 ...
# s; five would take half a minute.
n=$(grep -Ec 'compaction failed|state log retry failed' "$DAEMON_LOG")
[ "$n" -le 5 ] || fail "$n rewrites tried for 170 requests within a few seconds"

rm -f "$MNT/filler" "$MNT/filler2"
wait_state ok 40 || true
n=$(grep -c 'writable again' "$DAEMON_LOG")
[ "$n" -eq 1 ] || fail "recovery logged $n times, want once"
pgreq "v1 CLAIM user=agent4 step_start=$step" >"$OUT"
expect_out '^v1 OK claimed=yes$' "CLAIM after recovery"
# agent2's step was claimed in memory though refused: still used (the
# refusal erred on the side of denying, and so does this).
pgreq "v1 CLAIM user=agent2 step_start=$step" >"$OUT"
expect_out '^v1 ERR code=replay ' "a step refused during the outage stays used"

# What was counted while the disk was full is durable now.
restart_daemon
pgreq "v1 PREAUTH user=victim" "v1 CLAIM user=agent1 step_start=$step" >"$OUT"
expect_out '^v1 OK locked=yes ' "failures counted during the outage survive a restart"
expect_out '^v1 ERR code=replay ' "a step claimed before the outage stays used"
finish
