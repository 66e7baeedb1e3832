#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# What the audit trail costs (not part of make check): warm CHECK throughput
# and latency with [audit] audit_checks = all (every answer a record: JSON,
# the syslog line, the writer thread's hash and write) against
# audit_checks = none, in one run, alternating rounds on one daemon
# (RELOAD switches the mode), pinned and unpinned, medians.
#   tests/bench/audit.sh BUILD_DIR      (as root, from a configured build)
# Knobs: BENCH_SECONDS (2) per round, BENCH_ROUNDS (3) per mode,
# BENCH_SYNC (batch) for audit_sync. Same method as tests/bench/run.sh.

BENCH_ROOT_WHY="CHECK about other users"
. "$(dirname "$0")/start.sh"
BENCH_SECONDS="${BENCH_SECONDS:-2}"
BENCH_ROUNDS="${BENCH_ROUNDS:-3}"
BENCH_SYNC="${BENCH_SYNC:-batch}"

. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/slapd.sh"
TESTNAME=bench-audit
. "$top_srcdir/tests/bench/lib.sh"

set_checks() {
	sed -i "s/^audit_checks = .*/audit_checks = $1/" "$CONF"
	pgreq "v1 RELOAD" | grep -q reloaded=yes || die "reload to $1 failed"
}

CHECK_LINE="v1 CHECK user=nurse1 scope=phi.read.clinical"
start_slapd a
PG_AUDIT_SYNC=$BENCH_SYNC
write_ldap_config "$SLAPD_URI_a" "
[role clinical]
group = nurses
scopes = phi.read.clinical
"
# Production's level: the decision log line stays (the audit's syslog
# copy comes on top of it).
sed -i 's/^log_level = .*/log_level = 1/' "$CONF"
# The daemon's stderr (its "syslog" under -f) to /dev/null, not a file
# that would grow by gigabytes; the trail itself is written as usual.
DAEMON_LOG=/dev/null
start_daemon
reply=$(pgreq "$CHECK_LINE" "$CHECK_LINE" | tail -n 1)
case "$reply" in
*allowed=yes*source=cache*) ;;
*) die "warm CHECK answered: $reply" ;;
esac

# run_round PLACEMENT CLIENTS MODE ROUND
run_round() {
	if [ "$1" = pinned ]; then cpus=0; else cpus=$ALLCPUS; fi
	_out=$(taskset -c "$cpus" "$PGBENCH" -c "$2" -t "$BENCH_SECONDS" \
		"$SOCK" "$CHECK_LINE" 2>>"$T/pgbench.err") ||
		die "pgbench $3 $1 c=$2 failed: $_out"
	printf '%s %s %s %s %s %s %s\n' "$1" "$2" "$3" "$4" \
		"$(field rps "$_out")" "$(field p50_us "$_out")" \
		"$(field p99_us "$_out")" >>"$RES"
}

for placement in pinned unpinned; do
	pin "$placement" "$DAEMON_PID"
	for c in 1 8; do
		set_checks all
		run_round "$placement" "$c" warmup 0
		r=1
		while [ "$r" -le "$BENCH_ROUNDS" ]; do
			for mode in none all; do
				set_checks "$mode"
				run_round "$placement" "$c" "$mode" "$r"
			done
			r=$((r + 1))
		done
		say "$placement c=$c done"
	done
done
RECORDS=$(cat "$AUDIT_FILE" "$AUDIT_FILE".[0-9]* 2>/dev/null | wc -l)
SIZE=$(du -sh "$AUDIT_DIR" | cut -f1)
ctl audit verify >"$T/verify" 2>&1 || die "the trail does not verify: $(cat "$T/verify")"
say "rounds (placement clients mode round req/s p50_us p99_us):"
sed 's/^/  /' "$RES" >&2

med() {
	case "$4" in rps) _col=5 ;; p50) _col=6 ;; p99) _col=7 ;; esac
	awk -v m="$1" -v c="$2" -v k="$3" -v col="$_col" \
		'$1 == m && $2 == c && $3 == k { print $col }' "$RES" | median
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
{
	echo "### phiguardd audit benchmark ($(date -u '+%Y-%m-%d %H:%M UTC'), Linux $(uname -r), $NCPU CPUs, load average $LOAD_START at the start, $(cut -d" " -f1-3 /proc/loadavg) at the end)"
	echo
	echo "Command: \`$CMDLINE\` (BENCH_SECONDS=$BENCH_SECONDS BENCH_ROUNDS=$BENCH_ROUNDS audit_sync=$BENCH_SYNC)"
	echo
	echo "Warm \`$CHECK_LINE\`, one daemon, audit_checks switched by RELOAD between alternating ${BENCH_SECONDS}s rounds; medians of $BENCH_ROUNDS. The syslog copy went to stderr -> /dev/null (-f). $RECORDS records ($SIZE) written, chain verified afterwards."
	echo
	echo "| placement | clients | none: decisions/s | none p50/p99 µs | all: decisions/s | all p50/p99 µs | throughput all/none |"
	echo "|---|---|---|---|---|---|---|"
	for placement in pinned unpinned; do
		for c in 1 8; do
			nr=$(med "$placement" "$c" none rps)
			ar=$(med "$placement" "$c" all rps)
			echo "| $placement | $c | $nr | $(med "$placement" "$c" none p50) / $(med "$placement" "$c" none p99) | $ar | $(med "$placement" "$c" all p50) / $(med "$placement" "$c" all p99) | $(ratio "$ar" "$nr") |"
		done
	done
} | tee "$T/table.md"
[ -n "${BENCH_OUT:-}" ] && cp "$T/table.md" "$BENCH_OUT"
stop_daemon
exit 0
