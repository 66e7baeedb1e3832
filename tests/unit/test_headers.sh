#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Every header must compile on its own: include each one, alone, after
# config.h, into an empty translation unit, with the project's warnings.
set -u
: "${top_srcdir:?}" "${CC:?}" "${HEADER_CFLAGS:?}"
failed=0
n=0
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
for h in "$top_srcdir"/common/*.h "$top_srcdir"/pam/*.h \
	"$top_srcdir"/daemon/*/*.h; do
	[ -f "$h" ] || continue
	n=$((n + 1))
	printf '#include "config.h"\n#include "%s"\n' "$h" >"$tmp/t.c"
	# shellcheck disable=SC2086
	if ! $CC $HEADER_CFLAGS -Werror -fsyntax-only "$tmp/t.c" 2>"$tmp/err"; then
		echo "FAIL: $h does not compile on its own:" >&2
		cat "$tmp/err" >&2
		failed=$((failed + 1))
	fi
done
[ "$n" -gt 0 ] || { echo "FAIL: no headers found under $top_srcdir" >&2; exit 1; }
echo "$n headers checked, $failed failed"
[ "$failed" -eq 0 ]
