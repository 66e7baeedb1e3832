#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Install what is missing, then configure (only when the flags changed) and
# build phiguard out of tree. Used by run-tests.sh and demo.sh.
#   contrib/build.sh BUILD-DIR [CONFIGURE-FLAGS...]
set -eu

src="$(cd "$(dirname "$0")/.." && pwd)"
build="$1"
shift

"$src/contrib/install-deps.sh"
[ -x "$src/configure" ] || "$src/autogen.sh"
mkdir -p "$build"
cd "$build"
if [ ! -f config.status ] || [ "$(cat .configure-flags 2>/dev/null)" != "$*" ]; then
	"$src/configure" -q "$@"
	echo "$*" >.configure-flags
fi
make -s -j"$(nproc 2>/dev/null || echo 2)"
