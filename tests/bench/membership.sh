#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Cold decisions on a directory as sites run it (not part of make check):
# BENCH_AGENTS (2000) agents in groupOfNames teams of 1000, nested two
# levels (team -> dept -> all-agents, the role's group), slapd indexed as
# Debian's default database (no uniqueMember index). Prints the p50/p99 of
# BENCH_COLD (100) FLUSH+AUTHZ pairs, the LDAP searches per decision and
# the filters of the last decision (slapd's stats log).
#   tests/bench/membership.sh BUILD_DIR   (as root)
# shellcheck disable=SC2154 # SLAPD_*_NAME are set by start_slapd (eval)

BENCH_ROOT_WHY="FLUSH/AUTHZ about other users"
. "$(dirname "$0")/start.sh"

BENCH_AGENTS="${BENCH_AGENTS:-2000}"
BENCH_COLD="${BENCH_COLD:-100}"

. "$top_srcdir/tests/integration/lib.sh"
SLAPD_DEBUG=stats
. "$top_srcdir/tests/integration/slapd.sh"
TESTNAME=bench-membership
. "$top_srcdir/tests/bench/lib.sh"

slapd_gen_ldif names "$BENCH_AGENTS" 1000 >"$T/agents.ldif"
start_slapd d --ldif "$T/agents.ldif"
write_ldap_config "$SLAPD_URI_d" "[role agents]
group = all-agents
scopes = phi.read"
start_daemon

USER="agent$((BENCH_AGENTS / 2))"
pgreq "v1 FLUSH user=$USER" "v1 AUTHZ user=$USER" >"$OUT"
grep -q 'allowed=yes.*source=fresh' "$OUT" ||
	die "cold AUTHZ did not come fresh from the directory: $(cat "$OUT")"
srch_count() { grep -c ' SRCH base=' "$SLAPD_DIR_d/log"; }
sleep 0.2
before=$(srch_count)
cold=$("$PGBENCH" -c 1 -n "$BENCH_COLD" "$SOCK" "v1 FLUSH user=$USER" \
	"v1 AUTHZ user=$USER" 2>>"$T/pgbench.err") ||
	die "cold run failed: $cold $(tail -n 3 "$T/pgbench.err")"
sleep 0.5
after=$(srch_count)
SEARCHES=$(awk -v a="$after" -v b="$before" -v n="$BENCH_COLD" \
	'BEGIN { printf "%.1f", (a - b) / n }')
echo "agents=$BENCH_AGENTS cold=$BENCH_COLD p50_us=$(field p50_us "$cold") p99_us=$(field p99_us "$cold") searches_per_decision=$SEARCHES"
PER=$(awk -v s="$SEARCHES" 'BEGIN { printf "%d", s + 0.5 }')
sed -n 's/.* SRCH base=.* filter="\([^"]*\)".*/  filter \1/p' \
	"$SLAPD_DIR_d/log" | tail -n "$PER"
