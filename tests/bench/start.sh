# SPDX-License-Identifier: BSD-3-Clause
# How every benchmark starts (tests/bench/run.sh, audit.sh, abuse.sh):
# sourced first, with the script's arguments and BENCH_ROOT_WHY (why it
# needs root). Checks them, sets and exports top_builddir and top_srcdir,
# and keeps CMDLINE and LOAD_START for the report. Not run on its own.

if [ $# -ne 1 ] || [ ! -x "$1/phiguardd" ]; then
	echo "usage: $0 BUILD_DIR   (a configured and built tree)" >&2
	exit 2
fi
[ "$(id -u)" = 0 ] || {
	echo "$0: run as root ($BENCH_ROOT_WHY)" >&2
	exit 2
}
top_builddir="$(cd "$1" && pwd)"
top_srcdir="$(cd "$(dirname "$0")/../.." && pwd)"
export top_builddir top_srcdir
CMDLINE="$0 $*"
LOAD_START=$(cut -d" " -f1-3 /proc/loadavg)
