# SPDX-License-Identifier: BSD-3-Clause
# What the benchmarks share (tests/bench/run.sh, audit.sh, abuse.sh).
# Sourced after tests/integration/lib.sh and slapd.sh, with TESTNAME set:
# builds pgbench into $T and provides the helpers below. Not run on its
# own. (start.sh is what they source first.)

need cc taskset awk python3
PGBENCH="$T/pgbench"
cc -O2 -Wall -Wextra -Werror -pthread -o "$PGBENCH" "$top_srcdir/tests/bench/pgbench.c" ||
	die "cannot build pgbench"
NCPU=$(nproc)
ALLCPUS="0-$((NCPU - 1))"
RES="$T/results"
: >"$RES"

say() { printf '%s: %s\n' "$TESTNAME" "$*" >&2; }

# field NAME LINE: the value of NAME=... in a pgbench or protocol line.
field() {
	printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p" | head -n 1
}

# median: of the numbers on standard input, one per line ("n/a" if none;
# lines that are not a number are skipped).
median() {
	grep -E '^[0-9]+([.][0-9]+)?$' | sort -n | awk '{ a[NR] = $1 } END {
		if (NR == 0) print "n/a";
		else if (NR % 2) print a[(NR + 1) / 2];
		else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

# pin pinned|unpinned PID: every thread of PID on CPU 0, or anywhere.
pin() {
	if [ "$1" = pinned ]; then
		taskset -apc 0 "$2" >/dev/null
	else
		taskset -apc "$ALLCPUS" "$2" >/dev/null
	fi
}

# rss_kib PID: its VmRSS in KiB.
rss_kib() {
	sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$1/status"
}
