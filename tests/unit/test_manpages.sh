#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# The man pages render without a single groff/man warning.
set -u
: "${top_srcdir:?}"
command -v man >/dev/null 2>&1 || { echo "man not installed: run contrib/install-deps.sh" >&2; exit 1; }
failed=0
n=0
for page in "$top_srcdir"/man/*.[0-9]; do
	n=$((n + 1))
	warnings=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null)
	if [ -n "$warnings" ]; then
		echo "FAIL: $page:" >&2
		echo "$warnings" >&2
		failed=$((failed + 1))
	fi
done
[ "$n" -ge 4 ] || { echo "FAIL: expected 4 man pages, found $n" >&2; exit 1; }
echo "$n man pages checked, $failed with warnings"
[ "$failed" -eq 0 ]
