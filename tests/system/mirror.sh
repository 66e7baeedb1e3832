#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Print the host's Debian package sources for one release, one
# "URI SUITE" pair a line, the release's own suite first: from
# /etc/apt/sources.list and sources.list.d/*.list (one-line format) and
# sources.list.d/*.sources (deb822), as apt reads them (other file names
# are ignored, as apt ignores them). Only "deb" entries, main component.
#   tests/system/mirror.sh [RELEASE]     (default: bookworm)
set -eu
rel="${1:-bookworm}"
etc="${APT_ETC:-/etc/apt}"

{
	for f in "$etc/sources.list" "$etc"/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		# deb [opts] URI SUITE COMPONENTS...
		sed -e 's/#.*//' -e 's/\[[^]]*\]//' "$f" |
			awk '$1 == "deb" && NF >= 4 { for (i = 4; i <= NF; i++) if ($i == "main") { print $2, $3; break } }'
	done
	for f in "$etc"/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		# Stanzas separated by blank lines; fields may repeat values.
		awk '
		function flush() {
			if (types ~ /(^| )deb( |$)/ && comps ~ /(^| )main( |$)/ && enabled != "no") {
				n = split(uris, u, " "); m = split(suites, s, " ")
				for (i = 1; i <= n; i++) for (j = 1; j <= m; j++) print u[i], s[j]
			}
			types = uris = suites = comps = enabled = ""
		}
		/^#/ { next }
		/^[ \t]*$/ { flush(); next }
		{
			k = tolower($1); sub(/:$/, "", k); $1 = ""; sub(/^ +/, "")
			if (k == "types") types = $0
			else if (k == "uris") uris = $0
			else if (k == "suites") suites = $0
			else if (k == "components") comps = $0
			else if (k == "enabled") enabled = tolower($0)
		}
		END { flush() }' "$f"
	done
} | awk -v rel="$rel" '$2 == rel || index($2, rel "-") == 1 || index($2, rel "/") == 1' |
	awk '!seen[$0]++' | sort -s -k2,2 | awk -v rel="$rel" '
	$2 == rel { print; next } { rest[++n] = $0 } END { for (i = 1; i <= n; i++) print rest[i] }'
