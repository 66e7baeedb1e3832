#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# The README's test command: install what is missing, build phiguard out of
# tree with warnings as errors, and run the whole test suite (unit tests and
# the integration tests through the real PAM stack and a real phiguardd).
#
#   contrib/run-tests.sh               plain build in build/
#   contrib/run-tests.sh --sanitizers  ASan+UBSan build in build-san/
#   contrib/run-tests.sh --valgrind    plain build, daemon under valgrind
#
# Exit status is make check's.
set -eu

src="$(cd "$(dirname "$0")/.." && pwd)"
mode="${1:-plain}"

"$src/contrib/install-deps.sh"
[ -x "$src/configure" ] || "$src/autogen.sh"

case "$mode" in
plain | --plain)
	build="$src/build"
	flags="--enable-werror"
	;;
--sanitizers)
	build="$src/build-san"
	flags="--enable-werror --enable-sanitizers"
	;;
--valgrind)
	build="$src/build"
	flags="--enable-werror"
	export VALGRIND=1
	;;
*)
	echo "usage: $0 [--sanitizers|--valgrind]" >&2
	exit 2
	;;
esac

mkdir -p "$build"
cd "$build"
# Reconfigure only when the flags changed, so re-runs are incremental.
if [ ! -f config.status ] || [ "$(cat .configure-flags 2>/dev/null)" != "$flags" ]; then
	# shellcheck disable=SC2086
	"$src/configure" -q $flags
	echo "$flags" >.configure-flags
fi
jobs="$(nproc 2>/dev/null || echo 2)"
make -s -j"$jobs"
if ! make -s -j"$jobs" check; then
	for log in $(find . -name '*.log' ! -name config.log ! -name test-suite.log); do
		if grep -q '^:test-result: FAIL' "${log%.log}.trs" 2>/dev/null; then
			echo "==== $log" >&2
			tail -n 60 "$log" >&2
		fi
	done
	exit 1
fi
