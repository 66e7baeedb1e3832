#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Build phiguard's Debian packages from this tree and check them with
# lintian, as CI does. Run as root on Debian 12: installs the build
# dependencies (debian/control) and lintian first.
#
#   contrib/build-debs.sh [OUT-DIR]     (default: build-deb/)
#
# The tree is copied (tracked and new files, not build output) to
# OUT-DIR/src, built there with `dpkg-buildpackage -us -uc -b`, so the
# .debs land in OUT-DIR and nothing is written next to the tree.
# Lintian fails the build on any error or warning that is not
# overridden in debian/*.lintian-overrides.
set -eu

src="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$src/build-deb}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"

export DEBIAN_FRONTEND=noninteractive
need=""
for pkg in dpkg-dev debhelper lintian fakeroot; do
	dpkg-query -W -f='${Status}\n' "$pkg" 2>/dev/null |
		grep -q 'install ok installed' || need="$need $pkg"
done
if [ -n "$need" ]; then
	apt-get update -q
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $need
fi
# Build-Depends from debian/control (apt reads a source tree directly).
apt-get build-dep -y -q "$src" >/dev/null ||
	{ apt-get update -q && apt-get build-dep -y -q "$src"; }

rm -rf "$out/src"
rm -f "$out"/*.deb "$out"/*.buildinfo "$out"/*.changes
mkdir -p "$out/src"
cd "$src"
if [ -d .git ] || [ -f .git ]; then
	git ls-files -z --cached --others --exclude-standard |
		tar --null -T - -cf - | tar -xf - -C "$out/src"
else
	tar --exclude='./build*' -cf - . | tar -xf - -C "$out/src"
fi

cd "$out/src"
dpkg-buildpackage -us -uc -b -j"$(nproc 2>/dev/null || echo 2)"
cd "$out"
ls -l ./*.deb

# --fail-on error,warning: a warning fails too, unless an override in
# debian/ gives the reason. Info tags are shown, not failed on.
lintian --fail-on error,warning --display-info --info ./*.changes
