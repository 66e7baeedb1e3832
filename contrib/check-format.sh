#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Every C file in the repository must be as clang-format leaves it, with
# the project's .clang-format. Lists the files that differ and exits 1;
# `make indent` (or clang-format -i FILE) fixes them.
set -eu
cd "$(dirname "$0")/.."
command -v clang-format >/dev/null 2>&1 ||
	{ echo "check-format: clang-format is not installed" >&2; exit 1; }
bad=0
n=0
for f in $(git ls-files '*.c' '*.h' 2>/dev/null || find . -name '*.[ch]' -not -path './build*'); do
	n=$((n + 1))
	if ! clang-format --style=file "$f" | cmp -s - "$f"; then
		echo "not formatted: $f" >&2
		bad=$((bad + 1))
	fi
done
[ "$n" -gt 0 ] || { echo "check-format: no C files found" >&2; exit 1; }
echo "check-format: $n files, $bad not formatted ($(clang-format --version))"
[ "$bad" -eq 0 ]
