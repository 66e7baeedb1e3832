#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# The audit trail under load and abuse (not part of make check): does
# every decision reach the trail, and does a local user's flood cost
# anyone a login? One daemon (a directory, audit_checks = all, log level
# info, the daemon at low CPU priority), then:
#   (1) a flood alone: ABUSE_FLOOD_CONNS connections as nobody sending
#       "v1 PREAUTH user=root" for ABUSE_FLOOD_SECONDS: audit and log
#       bytes per refused request;
#   (2) ABUSE_CLIENTS root clients, ABUSE_N requests each (allowed
#       CHECKs, denied CHECKs and replayed CLAIMs: each answer a decision
#       record), with the flood running all along: decision records lost
#       (answered minus found in the trail, and STATUS audit_lost) and
#       refusals of these legitimate requests (an answer other than the
#       expected one, e.g. audit-unavailable);
#   then the chain is verified, and the daemon's VmRSS before and after.
#   tests/bench/abuse.sh BUILD_DIR      (as root, from a configured build)
# Knobs: ABUSE_N (20000) requests per root client, ABUSE_CLIENTS (8),
# ABUSE_FLOOD_CONNS (30), ABUSE_FLOOD_SECONDS (5), ABUSE_NICE (19: the
# daemon's nice value; 0 leaves it), ABUSE_CHECKS (all: audit_checks).
# Exit status 1 if a decision record was lost or a legitimate request
# refused.

BENCH_ROOT_WHY="CHECK/CLAIM about other users, a flood as nobody"
. "$(dirname "$0")/start.sh"
ABUSE_N="${ABUSE_N:-20000}"
ABUSE_CLIENTS="${ABUSE_CLIENTS:-8}"
ABUSE_FLOOD_CONNS="${ABUSE_FLOOD_CONNS:-30}"
ABUSE_FLOOD_SECONDS="${ABUSE_FLOOD_SECONDS:-5}"
ABUSE_NICE="${ABUSE_NICE:-19}"
ABUSE_CHECKS="${ABUSE_CHECKS:-all}"

. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/slapd.sh"
TESTNAME=bench-abuse
. "$top_srcdir/tests/bench/lib.sh"
need setpriv renice
[ "$ABUSE_CLIENTS" -ge 4 ] || die "ABUSE_CLIENTS must be at least 4"

# Bytes of the whole trail (rotated files included) and of the log.
trail_bytes() {
	cat "$AUDIT_FILE" "$AUDIT_FILE".[0-9]* 2>/dev/null | wc -c
}
log_bytes() { wc -c <"$DAEMON_LOG"; }
log_lines() { wc -l <"$DAEMON_LOG"; }
# trail_count STRING: records holding STRING (fixed), whole trail.
trail_count() {
	cat "$AUDIT_FILE" "$AUDIT_FILE".[0-9]* 2>/dev/null | grep -cF -- "$1"
}
# as_nobody COMMAND...: pgbench (built in $T, which nobody may read).
as_nobody() {
	setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"
}

# ------------------------------------------------------------ set-up
start_slapd a
write_ldap_config "$SLAPD_URI_a" "
[role clinical]
group = nurses
scopes = phi.read.clinical
"
sed -i "s/^log_level = .*/log_level = 1/; s/^audit_checks = .*/audit_checks = $ABUSE_CHECKS/" "$CONF"
start_daemon
ALLOW="v1 CHECK user=nurse1 scope=phi.read.clinical"
DENY="v1 CHECK user=nurse1 scope=phi.write.billing"
CLAIM="v1 CLAIM user=agent1 step_start=30"
pgreq "$ALLOW" "$DENY" "$CLAIM" >"$OUT"
grep -q 'allowed=yes' "$OUT" && grep -q 'reason=no-rule' "$OUT" &&
	grep -q 'claimed=yes' "$OUT" || die "set-up answers: $(cat "$OUT")"
if [ "$ABUSE_NICE" -ne 0 ]; then
	for t in /proc/"$DAEMON_PID"/task/*; do
		renice -n "$ABUSE_NICE" -p "${t##*/}" >/dev/null
	done
fi
sleep 1
RSS0=$(rss_kib "$DAEMON_PID")

# ------------------------------------------------------------ (1) flood alone
b0=$(trail_bytes) l0=$(log_bytes) n0=$(log_lines)
flood=$(as_nobody "$PGBENCH" -c "$ABUSE_FLOOD_CONNS" -t "$ABUSE_FLOOD_SECONDS" \
	-e code=permission "$SOCK" "v1 PREAUTH user=root" 2>>"$T/pgbench.err") ||
	die "flood failed: $flood"
sleep 1.5
b1=$(trail_bytes) l1=$(log_bytes) n1=$(log_lines)
REFUSED=$(field requests "$flood")
[ "$(field errors "$flood")" -eq 0 ] || die "flood answers other than permission: $flood"
per() { awk -v a="$1" -v n="$2" 'BEGIN { printf "%.4f", (n > 0 ? a / n : 0) }'; }
A_PER=$(per $((b1 - b0)) "$REFUSED")
L_PER=$(per $((l1 - l0)) "$REFUSED")
say "flood alone: $flood; audit +$((b1 - b0)) B, log +$((l1 - l0)) B ($((n1 - n0)) lines)"

# ------------------------------------------------------------ (2) load + flood
allow0=$(trail_count '"event":"check-allow","user":"nurse1"')
deny0=$(trail_count '"event":"check-deny","user":"nurse1"')
replay0=$(trail_count '"event":"replay","user":"agent1"')
# The flood in rounds until the load is done, each round's figures kept.
: >"$T/flood.rounds"
: >"$T/flooding"
(
	while [ -f "$T/flooding" ]; do
		as_nobody "$PGBENCH" -c "$ABUSE_FLOOD_CONNS" -t 2 -e code=permission \
			"$SOCK" "v1 PREAUTH user=root" >>"$T/flood.rounds" 2>>"$T/pgbench.err"
	done
) &
FLOOD_PID=$!
stop_flood() {
	rm -f "$T/flooding"
	stop_pid "$FLOOD_PID"
}
CLEANUP_HOOKS="$CLEANUP_HOOKS stop_flood"
ca=$((ABUSE_CLIENTS / 2)) cd=$((ABUSE_CLIENTS / 4))
cc=$((ABUSE_CLIENTS - ca - cd))
t0=$(date +%s)
"$PGBENCH" -c "$ca" -n $((ca * ABUSE_N)) -e allowed=yes "$SOCK" "$ALLOW" \
	>"$T/load.allow" 2>>"$T/pgbench.err" &
p1=$!
"$PGBENCH" -c "$cd" -n $((cd * ABUSE_N)) -e reason=no-rule "$SOCK" "$DENY" \
	>"$T/load.deny" 2>>"$T/pgbench.err" &
p2=$!
"$PGBENCH" -c "$cc" -n $((cc * ABUSE_N)) -e code=replay "$SOCK" "$CLAIM" \
	>"$T/load.claim" 2>>"$T/pgbench.err" &
p3=$!
wait "$p1" "$p2" "$p3" 2>/dev/null
LOAD_S=$(($(date +%s) - t0))
rm -f "$T/flooding"
wait "$FLOOD_PID" 2>/dev/null
sleep 2
for k in allow deny claim; do
	say "load $k: $(cat "$T/load.$k")"
done
# sum NAME FILE...: the total of NAME=... over pgbench result lines.
sum() {
	_f=$1
	shift
	awk -v f="$_f" '{ for (i = 1; i <= NF; i++) if (index($i, f "=") == 1) {
		n += substr($i, length(f) + 2) } } END { print n + 0 }' "$@"
}
FLOODED=$(sum requests "$T/flood.rounds")
FLOOD_ERR=$(sum errors "$T/flood.rounds")
ANSWERED=$(sum requests "$T/load.allow" "$T/load.deny" "$T/load.claim")
REFUSALS=$(sum errors "$T/load.allow" "$T/load.deny" "$T/load.claim")
WANT=$((ABUSE_N * ABUSE_CLIENTS))
[ "$ANSWERED" -eq "$WANT" ] || say "only $ANSWERED of $WANT load requests were answered"
found=$(($(trail_count '"event":"check-allow","user":"nurse1"') - allow0 +
	$(trail_count '"event":"check-deny","user":"nurse1"') - deny0 +
	$(trail_count '"event":"replay","user":"agent1"') - replay0))
[ "$ABUSE_CHECKS" = all ] || say "audit_checks = $ABUSE_CHECKS: allowed CHECKs make no record"
expected=$ANSWERED
if [ "$ABUSE_CHECKS" != all ]; then
	expected=$((expected - $(field requests "$(cat "$T/load.allow")")))
fi
LOST=$((expected - found))
RSS1=$(rss_kib "$DAEMON_PID")
status=$(pgreq "v1 STATUS")
stop_daemon
t1=$(date +%s)
ctl audit verify >"$T/verify" 2>&1 || die "the trail does not verify: $(cat "$T/verify")"
VERIFY_S=$(($(date +%s) - t1))
RECORDS=$(cat "$AUDIT_FILE" "$AUDIT_FILE".[0-9]* | wc -l)
FILES=$(ls "$AUDIT_FILE" "$AUDIT_FILE".[0-9]* | wc -l)
{
	echo "### phiguardd audit under load and abuse ($(date -u '+%Y-%m-%d %H:%M UTC'), Linux $(uname -r), $NCPU CPUs, load average $LOAD_START at the start, $(cut -d" " -f1-3 /proc/loadavg) at the end)"
	echo
	echo "Command: \`$CMDLINE\` (ABUSE_N=$ABUSE_N ABUSE_CLIENTS=$ABUSE_CLIENTS ABUSE_FLOOD_CONNS=$ABUSE_FLOOD_CONNS ABUSE_FLOOD_SECONDS=$ABUSE_FLOOD_SECONDS ABUSE_NICE=$ABUSE_NICE audit_checks=$ABUSE_CHECKS)"
	echo
	echo "| figure | value | want |"
	echo "|---|---|---|"
	echo "| (1) flood alone: refused requests as nobody in ${ABUSE_FLOOD_SECONDS}s | $REFUSED | |"
	echo "| audit bytes written per refused request | $A_PER | ≪ 1 |"
	echo "| log bytes per refused request | $L_PER ($((n1 - n0)) lines in all) | ≪ 1 |"
	echo "| (2) root requests ($ca allowed CHECK, $cd denied CHECK, $cc replayed CLAIM clients × $ABUSE_N), answered in ${LOAD_S}s | $ANSWERED of $WANT | all |"
	echo "| refused as nobody meanwhile (errors: $FLOOD_ERR) | $FLOODED | |"
	echo "| decision records lost (answered $expected, in the trail $found) | $LOST | 0 |"
	echo "| STATUS audit_lost | $(field audit_lost "$status") | 0 |"
	echo "| refusals of legitimate requests | $REFUSALS | 0 |"
	echo "| STATUS audit_dropped / audit_aggregated / audit_busy | $(field audit_dropped "$status") / $(field audit_aggregated "$status") / $(field audit_busy "$status") | |"
	echo "| phiguardd VmRSS before (1) / after (2) | $RSS0 kB / $RSS1 kB | |"
	echo "| trail | $RECORDS records in $FILES files, verified intact in ${VERIFY_S}s | |"
} | tee "$T/table.md"
[ -n "${BENCH_OUT:-}" ] && cp "$T/table.md" "$BENCH_OUT"
[ "$LOST" -eq 0 ] && [ "$REFUSALS" -eq 0 ] && [ "$(field audit_lost "$status")" = 0 ]
