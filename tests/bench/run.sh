#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# The authorization benchmark of phiguardd (not part of make check): warm
# CHECK against a bare epoll echo floor, cold AUTHZ against the ldapsearch
# calls it replaces, and resident memory per cached user, in one run.
#   tests/bench/run.sh BUILD_DIR      (as root, from a configured build)
# Knobs (environment): BENCH_SECONDS (2) per measured round, BENCH_ROUNDS
# (3) alternating floor/daemon rounds, BENCH_COLD (200) cold decisions,
# BENCH_LDAPSEARCH (20) timed ldapsearch replays, BENCH_USERS (100000).
# The figures only mean something beside the floor measured in the same
# run (README.md, "Benchmark").
# shellcheck disable=SC2154 # SLAPD_*_NAME are set by start_slapd (eval)

BENCH_ROOT_WHY="CHECK/AUTHZ/FLUSH about other users"
. "$(dirname "$0")/start.sh"

BENCH_SECONDS="${BENCH_SECONDS:-2}"
BENCH_ROUNDS="${BENCH_ROUNDS:-3}"
BENCH_COLD="${BENCH_COLD:-200}"
BENCH_LDAPSEARCH="${BENCH_LDAPSEARCH:-20}"
BENCH_USERS="${BENCH_USERS:-100000}"

# A daemon and slapd in a temp dir, cleaned up (with every process started
# here) by lib.sh's EXIT trap.
. "$top_srcdir/tests/integration/lib.sh"
SLAPD_DEBUG=stats
. "$top_srcdir/tests/integration/slapd.sh"
TESTNAME=bench
. "$top_srcdir/tests/bench/lib.sh"

ECHO_SOCK="$T/echo.sock"
ECHO_PID=""
echo_stop() {
	stop_pid "$ECHO_PID"
	ECHO_PID=""
}
CLEANUP_HOOKS="$CLEANUP_HOOKS echo_stop"

CHECK_LINE="v1 CHECK user=nurse1 scope=phi.read.clinical"

# ------------------------------------------------------------ set-up
start_slapd a
# A role granting the scope the warm benchmark asks for; the decision log
# at its default level (info), as in production.
write_ldap_config "$SLAPD_URI_a" "
[role clinical]
group = nurses
scopes = phi.read.clinical
"
sed -i 's/^log_level = .*/log_level = 1/' "$CONF"
start_daemon

reply=$(pgreq "$CHECK_LINE" "$CHECK_LINE" | tail -n 1)
case "$reply" in
*allowed=yes*source=cache*) ;;
*) die "warm CHECK answered: $reply" ;;
esac
REPLY_BYTES=$(($(printf '%s' "$reply" | wc -c) + 1))
"$PGBENCH" --echo-server "$ECHO_SOCK" "$REPLY_BYTES" >>"$T/echo.log" 2>&1 &
ECHO_PID=$!
wait_socket "$ECHO_SOCK" "$ECHO_PID" "echo server"
say "CHECK reply ($REPLY_BYTES bytes): $reply"

# ------------------------------------------------------------ (1)+(2) warm
# run_round MODE CLIENTS KIND SOCKET ROUND
run_round() {
	if [ "$1" = pinned ]; then
		set -- "$@" taskset -c 0
	else
		set -- "$@" taskset -c "$ALLCPUS"
	fi
	_mode=$1 _c=$2 _kind=$3 _sock=$4 _round=$5
	shift 5
	_out=$("$@" "$PGBENCH" -c "$_c" -t "$BENCH_SECONDS" "$_sock" \
		"$CHECK_LINE" 2>>"$T/pgbench.err") ||
		die "pgbench $_kind $_mode c=$_c failed: $_out $(tail -n 3 "$T/pgbench.err")"
	printf '%s %s %s %s %s %s %s\n' "$_mode" "$_c" "$_kind" "$_round" \
		"$(field rps "$_out")" "$(field p50_us "$_out")" \
		"$(field p99_us "$_out")" >>"$RES"
}

for mode in pinned unpinned; do
	pin "$mode" "$DAEMON_PID"
	pin "$mode" "$ECHO_PID"
	for c in 1 8; do
		# Warm-up (not recorded), then alternate floor and daemon.
		run_round "$mode" "$c" warmup "$SOCK" 0
		r=1
		while [ "$r" -le "$BENCH_ROUNDS" ]; do
			run_round "$mode" "$c" floor "$ECHO_SOCK" "$r"
			run_round "$mode" "$c" daemon "$SOCK" "$r"
			r=$((r + 1))
		done
		say "warm $mode c=$c done"
	done
done
echo_stop
say "rounds (placement clients kind round req/s p50_us p99_us):"
sed 's/^/  /' "$RES" >&2

# med MODE CLIENTS KIND COLUMN(rps|p50|p99)
med() {
	case "$4" in rps) _col=5 ;; p50) _col=6 ;; p99) _col=7 ;; esac
	awk -v m="$1" -v c="$2" -v k="$3" -v col="$_col" \
		'$1 == m && $2 == c && $3 == k { print $col }' "$RES" | median
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
meets() { awk -v v="$1" -v op="$2" -v t="$3" 'BEGIN {
	ok = (op == "<=") ? (v <= t) : (v >= t); print ok ? "yes" : "**no**" }'; }

# ------------------------------------------------------------ (3) cold
pin unpinned "$DAEMON_PID"
srch_count() { grep -c ' SRCH base=' "$SLAPD_DIR_a/log"; }
pgreq "v1 FLUSH user=nurse1" "v1 AUTHZ user=nurse1" >"$OUT"
grep -q 'allowed=yes.*source=fresh' "$OUT" ||
	die "cold AUTHZ did not come fresh from the directory: $(cat "$OUT")"
sleep 0.2
before=$(srch_count)
cold=$("$PGBENCH" -c 1 -n "$BENCH_COLD" "$SOCK" "v1 FLUSH user=nurse1" \
	"v1 AUTHZ user=nurse1" 2>>"$T/pgbench.err") ||
	die "cold run failed: $cold $(tail -n 3 "$T/pgbench.err")"
sleep 0.5
after=$(srch_count)
SEARCHES=$(awk -v a="$after" -v b="$before" -v n="$BENCH_COLD" \
	'BEGIN { printf "%.1f", (a - b) / n }')
say "cold AUTHZ: $cold; $SEARCHES LDAP searches per decision"

# The searches of the last cold decision, as ldapsearch command lines:
# base, scope, filter and attributes taken from slapd's stats log.
PER=$(awk -v s="$SEARCHES" 'BEGIN { printf "%d", s + 0.5 }')
awk -v per="$PER" '
	function op(l) { match(l, /conn=[0-9]+ op=[0-9]+/); return substr(l, RSTART, RLENGTH) }
	/ SRCH base=/ {
		n++
		match($0, /base="[^"]*"/); base[n] = substr($0, RSTART + 6, RLENGTH - 7)
		match($0, /scope=[0-9]/); scope[n] = substr($0, RSTART + 6, 1)
		match($0, /filter=".*"$/); filt[n] = substr($0, RSTART + 8, RLENGTH - 9)
		key[n] = op($0)
		next
	}
	/ SRCH attr=/ {
		a = $0; sub(/.* SRCH attr=/, "", a); attrs[op($0)] = a
	}
	END {
		for (i = n - per + 1; i <= n; i++)
			printf "%s\t%s\t%s\t%s\n", base[i],
			    (scope[i] == 0 ? "base" : scope[i] == 1 ? "one" : "sub"),
			    filt[i], attrs[key[i]]
	}' "$SLAPD_DIR_a/log" >"$T/searches.tsv"
say "searches of one cold decision:"
sed 's/^/  /' "$T/searches.tsv" >&2

# One decision by hand: each search its own ldapsearch (connect, simple
# bind as the service account, search), as a script would do it.
ldapsearch_once() {
	while IFS="$(printf '\t')" read -r b s f a; do
		# shellcheck disable=SC2086 # attrs are separate words
		ldapsearch -x -LLL -H "$SLAPD_URI_a" -D "$SLAPD_SERVICE_DN" \
			-y "$SLAPD_BINDPW" -b "$b" -s "$s" "$f" $a >/dev/null ||
			return 1
	done <"$T/searches.tsv"
}
: >"$T/ldapsearch.us"
i=0
while [ "$i" -lt "$BENCH_LDAPSEARCH" ]; do
	t0=$(date +%s%N)
	ldapsearch_once || die "ldapsearch replay failed"
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 1000)) >>"$T/ldapsearch.us"
	i=$((i + 1))
done
LS_P50=$(median <"$T/ldapsearch.us")

# ------------------------------------------------------------ (4) memory
# A second directory with BENCH_USERS agents in groups of 1000, nested in
# one mapped group; slapd without the stats log (it would dominate).
stop_daemon
# shellcheck disable=SC2034 # read by slapd.sh when it launches slapd
SLAPD_DEBUG=0
start_slapd big
stop_slapd big
sed -i 's/^maxsize .*/maxsize 4294967296/' "$SLAPD_DIR_big/slapd.conf"
BIG_LDIF="$T/bench-users.ldif"
NGROUPS=$(((BENCH_USERS + 999) / 1000))
awk -v n="$BENCH_USERS" -v g="$NGROUPS" -v base="$SLAPD_BASE" 'BEGIN {
	for (i = 0; i < n; i++)
		printf "dn: uid=bench%d,ou=people,%s\nobjectClass: inetOrgPerson\nuid: bench%d\ncn: Bench Agent %d\nsn: Agent\n\n", i, base, i, i
	for (j = 0; j < g; j++) {
		printf "dn: cn=bench-%d,ou=groups,%s\nobjectClass: groupOfNames\ncn: bench-%d\n", j, base, j
		for (i = j * 1000; i < n && i < (j + 1) * 1000; i++)
			printf "member: uid=bench%d,ou=people,%s\n", i, base
		printf "\n"
	}
	printf "dn: cn=bench-agents,ou=groups,%s\nobjectClass: groupOfNames\ncn: bench-agents\n", base
	for (j = 0; j < g; j++)
		printf "member: cn=bench-%d,ou=groups,%s\n", j, base
	printf "\n"
}' >"$BIG_LDIF"
t0=$(date +%s)
"$SLAPADD_BIN" -q -f "$SLAPD_DIR_big/slapd.conf" -l "$BIG_LDIF" \
	>>"$SLAPD_DIR_big/log" 2>&1 || die "slapadd of $BENCH_USERS users failed"
say "slapadd of $BENCH_USERS users: $(($(date +%s) - t0)) s"
restart_slapd big

write_ldap_config "$SLAPD_URI_big" "
[role bench]
group = bench-agents
scopes = phi.read.clinical
"
sed -i 's/^log_level = .*/log_level = 1/' "$CONF"
start_daemon
pgreq "v1 AUTHZ user=bench0" >"$OUT"
grep -q 'allowed=yes' "$OUT" || die "bench0 not allowed: $(cat "$OUT")"
sleep 0.5
RSS0=$(rss_kib "$DAEMON_PID")
t0=$(date +%s)
warm=$("$PGBENCH" -c 32 -P 4 -r "1:$((BENCH_USERS - 1))" -e allowed=yes \
	"$SOCK" "v1 AUTHZ user=bench%d" 2>>"$T/pgbench.err") ||
	say "warm-up of $BENCH_USERS users reported errors: $warm $(tail -n 3 "$T/pgbench.err")"
WARM_S=$(($(date +%s) - t0))
sleep 0.5
RSS1=$(rss_kib "$DAEMON_PID")
status=$(pgreq "v1 STATUS")
ENTRIES=$(field cache_entries "$status")
# The entries are what was added; a second pass must be all cache hits.
hits=$("$PGBENCH" -c 8 -P 16 -r "0:$((BENCH_USERS - 1))" -e source=cache \
	"$SOCK" "v1 CHECK user=bench%d scope=phi.read.clinical" 2>>"$T/pgbench.err") ||
	say "second pass not all cached: $hits"
RSS2=$(rss_kib "$DAEMON_PID")
PER_USER=$(awk -v a="$RSS1" -v b="$RSS0" -v n="$ENTRIES" \
	'BEGIN { printf "%.0f", (a - b) * 1024 / (n - 1) }')
say "warm-up: $warm in ${WARM_S}s; VmRSS ${RSS0} -> ${RSS1} kB (${RSS2} after a CHECK pass: $hits)"

# ------------------------------------------------------------ the table
{
	echo "### phiguardd benchmark ($(date -u '+%Y-%m-%d %H:%M UTC'), Linux $(uname -r), $NCPU CPUs, load average $LOAD_START at the start, $(cut -d" " -f1-3 /proc/loadavg) at the end)"
	echo
	echo "Command: \`$CMDLINE\` (BENCH_SECONDS=$BENCH_SECONDS BENCH_ROUNDS=$BENCH_ROUNDS BENCH_COLD=$BENCH_COLD BENCH_USERS=$BENCH_USERS)"
	echo
	echo "Warm \`$CHECK_LINE\` ($REPLY_BYTES-byte reply) vs. a bare epoll AF_UNIX echo of the same sizes; medians of $BENCH_ROUNDS alternating ${BENCH_SECONDS}s rounds. Pinned: server and client on CPU 0 (taskset -c 0)."
	echo
	echo "| placement | clients | floor p50/p99 µs | floor req/s | phiguardd p50/p99 µs | decisions/s | p50 ratio (≤ 1.5) | met | throughput ratio (≥ 0.7) | met |"
	echo "|---|---|---|---|---|---|---|---|---|---|"
	for mode in pinned unpinned; do
		for c in 1 8; do
			fp50=$(med "$mode" "$c" floor p50)
			fp99=$(med "$mode" "$c" floor p99)
			frps=$(med "$mode" "$c" floor rps)
			dp50=$(med "$mode" "$c" daemon p50)
			dp99=$(med "$mode" "$c" daemon p99)
			drps=$(med "$mode" "$c" daemon rps)
			lr=$(ratio "$dp50" "$fp50")
			tr=$(ratio "$drps" "$frps")
			echo "| $mode | $c | $fp50 / $fp99 | $frps | $dp50 / $dp99 | $drps | ${lr}x | $(meets "$lr" '<=' 1.5) | ${tr}x | $(meets "$tr" '>=' 0.7) |"
		done
	done
	echo
	echo "| cold decision (nurse1, 1 client, unpinned) | figure |"
	echo "|---|---|"
	echo "| \`FLUSH\` + \`AUTHZ\` through phiguardd, AUTHZ p50 / p99 | $(field p50_us "$cold") / $(field p99_us "$cold") µs ($BENCH_COLD decisions) |"
	echo "| the same $PER searches as $PER \`ldapsearch\` processes in a row (connect + bind each), p50 per decision | $LS_P50 µs ($BENCH_LDAPSEARCH replays) |"
	echo "| ldapsearch / phiguardd cold AUTHZ | $(ratio "$LS_P50" "$(field p50_us "$cold")")x |"
	echo "| LDAP searches per cold decision (slapd stats log) | $SEARCHES |"
	echo
	echo "| memory | figure | target | met |"
	echo "|---|---|---|---|"
	echo "| phiguardd VmRSS, 1 user cached -> $ENTRIES cached | $RSS0 kB -> $RSS1 kB | | |"
	echo "| bytes per cached user | $PER_USER | ≤ 1024 | $(meets "$PER_USER" '<=' 1024) |"
	echo "| cold warm-up of $((BENCH_USERS - 1)) users (32 conns, pipelined) | ${WARM_S} s, $(field rps "$warm") decisions/s, errors=$(field errors "$warm") | | |"
} | tee "$T/table.md"
[ -n "${BENCH_OUT:-}" ] && cp "$T/table.md" "$BENCH_OUT"
stop_daemon
exit 0
