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
set --

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
	# Same build as plain; unit tests run under memcheck through
	# LOG_COMPILER, and lib.sh wraps the daemon and the module in it.
	build="$src/build"
	flags="--enable-werror"
	export VALGRIND=1
	set -- LOG_COMPILER='$(LIBTOOL) --mode=execute valgrind -q --error-exitcode=1 --leak-check=full'
	;;
*)
	echo "usage: $0 [--sanitizers|--valgrind]" >&2
	exit 2
	;;
esac

# shellcheck disable=SC2086
"$src/contrib/build.sh" "$build" $flags
cd "$build"
if ! make -s -j"$(nproc 2>/dev/null || echo 2)" check "$@"; then
	for log in $(find . -name '*.log' ! -name config.log ! -name test-suite.log); do
		if grep -q '^:test-result: FAIL' "${log%.log}.trs" 2>/dev/null; then
			echo "==== $log" >&2
			tail -n 60 "$log" >&2
		fi
	done
	exit 1
fi
