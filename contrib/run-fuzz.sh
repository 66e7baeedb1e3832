#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Build the libFuzzer targets with clang + ASan/UBSan and run each one for a
# bounded time over a copy of its seed corpus (tests/fuzz/corpus/<name>).
#   contrib/run-fuzz.sh [SECONDS-PER-TARGET]   (default 30)
set -eu

src="$(cd "$(dirname "$0")/.." && pwd)"
secs="${1:-30}"
build="$src/build-fuzz"

[ -x "$src/configure" ] || "$src/autogen.sh"
mkdir -p "$build"
cd "$build"
[ -f config.status ] ||
	CC=clang "$src/configure" -q --enable-werror --enable-fuzzing --enable-sanitizers

for target in proto tokens conf audit; do
	make -s "tests/fuzz/fuzz_$target"
	work="$(mktemp -d)"
	cp -r "$src/tests/fuzz/corpus/$target/." "$work/"
	echo "fuzz_$target: ${secs}s"
	"./tests/fuzz/fuzz_$target" -max_total_time="$secs" -print_final_stats=1 \
		-max_len=8192 "$work" 2>"$build/fuzz_$target.log" || {
		tail -n 40 "$build/fuzz_$target.log" >&2
		exit 1
	}
	grep -E 'stat::number_of_executed_units|stat::peak_rss' "$build/fuzz_$target.log"
	rm -rf "$work"
done
