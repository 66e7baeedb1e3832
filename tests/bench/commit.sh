#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# The state log's group commit under concurrent logins (not part of make
# check): COMMIT_CLIENTS (8) clients CLAIM a fresh step each (a new user
# per request, so every CLAIM is accepted and written) for COMMIT_SECONDS
# (5), while one more client sends CHECKs (no directory configured: the
# loop answers at once, so its latency is the time a request waits behind
# the event loop). Prints CLAIM/s, CLAIM p50/p99, CHECK p50/p99/max and
# the commits and records STATUS counts (when the daemon has them).
#   tests/bench/commit.sh BUILD_DIR      (as root, from a configured build)
# COMMIT_BASE=OTHER_BUILD_DIR alternates rounds between the two builds
# (base first) and prints the medians of each: on a machine shared with
# other work, compare only figures of one run. COMMIT_ROUNDS (3).
# The state directory is under TMPDIR (/tmp): on a real disk, not tmpfs,
# for the fdatasync cost to show.

BENCH_ROOT_WHY="CLAIMs about other users"
. "$(dirname "$0")/start.sh"
COMMIT_CLIENTS="${COMMIT_CLIENTS:-8}"
COMMIT_SECONDS="${COMMIT_SECONDS:-5}"
COMMIT_ROUNDS="${COMMIT_ROUNDS:-3}"
COMMIT_BASE="${COMMIT_BASE:-}"

. "$top_srcdir/tests/integration/lib.sh"
TESTNAME=bench-commit
. "$top_srcdir/tests/bench/lib.sh"

[ -z "$COMMIT_BASE" ] || [ -x "$COMMIT_BASE/phiguardd" ] ||
	die "COMMIT_BASE=$COMMIT_BASE: no phiguardd there"
STATUS_LINE=

# one_round LABEL BUILD ROUND: a fresh state log, the load, the figures.
one_round() {
	label=$1
	PHIGUARDD="$2/phiguardd"
	STATE_DIR="$T/state-$label-$3"
	mkdir -m 0700 "$STATE_DIR"
	write_config
	start_daemon
	step=$(($(date +%s) / 30 * 30))
	"$PGBENCH" -c 1 -t "$COMMIT_SECONDS" -e code= "$SOCK" \
		"v1 CHECK user=agent1 scope=phi.read" >"$T/check.out" &
	check=$!
	"$PGBENCH" -c "$COMMIT_CLIENTS" -t "$COMMIT_SECONDS" \
		-r "$(($3 * 10000000)):$(($3 * 10000000 + 9999999))" "$SOCK" \
		"v1 CLAIM user=b$label%d step_start=$step" >"$T/claim.out"
	wait "$check"
	STATUS_LINE=$(pgreq "v1 STATUS")
	stop_daemon
	claim=$(cat "$T/claim.out")
	chk=$(cat "$T/check.out")
	[ "$(field errors "$claim")" = 0 ] || die "$label: CLAIMs refused: $claim"
	commits=$(field statelog_commits "$STATUS_LINE")
	records=$(field statelog_records "$STATUS_LINE")
	printf '%s claim_rps=%s claim_p50_us=%s claim_p99_us=%s check_p50_us=%s check_p99_us=%s check_max_us=%s commits=%s records=%s\n' \
		"$label" "$(field rps "$claim")" "$(field p50_us "$claim")" \
		"$(field p99_us "$claim")" "$(field p50_us "$chk")" \
		"$(field p99_us "$chk")" "$(field max_us "$chk")" \
		"${commits:-n/a}" "${records:-n/a}" | tee -a "$RES" >&2
}

round=1
while [ "$round" -le "$COMMIT_ROUNDS" ]; do
	[ -z "$COMMIT_BASE" ] || one_round before "$COMMIT_BASE" "$round"
	one_round after "$top_builddir" "$round"
	round=$((round + 1))
done

# medians LABEL: of every figure of LABEL's rounds.
medians() {
	grep "^$1 " "$RES" >"$T/rounds" || return 0
	line="$1 (median of $(wc -l <"$T/rounds"))"
	for k in claim_rps claim_p50_us claim_p99_us check_p50_us check_p99_us check_max_us commits records; do
		line="$line $k=$(tr ' ' '\n' <"$T/rounds" | sed -n "s/^$k=//p" | median)"
	done
	echo "$line"
}
echo "# $CMDLINE; $COMMIT_CLIENTS CLAIM clients + 1 CHECK client, ${COMMIT_SECONDS}s a round, load at start $LOAD_START"
[ -z "$COMMIT_BASE" ] || medians before
medians after
finish
