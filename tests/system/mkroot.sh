#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Build a minimal Debian 12 root for the system test, from the package
# mirror the host's apt uses: debootstrap, then (in a chroot, before the
# container boots with no network) everything the test needs inside:
# slapd (preseeded: dc=example,dc=org, no questions), ldap-utils,
# openssh-server and client, sudo, oathtool, python3 (the pty driver),
# and the run-time dependencies of the given .debs, so that apt can
# install those offline inside the booted container.
#   tests/system/mkroot.sh ROOT DEB...
set -eu

here="$(cd "$(dirname "$0")" && pwd)"
root="$1"
shift
rel=bookworm

mirrors="$("$here/mirror.sh" "$rel")"
main="$(printf '%s\n' "$mirrors" | awk -v rel="$rel" '$2 == rel { print $1; exit }')"
if [ -z "$main" ]; then
	echo "mkroot.sh: no '$rel' entry in the host's apt sources" >&2
	exit 1
fi

# The packages' own dependencies, first alternative of each, versions
# dropped; the phiguard packages themselves are what the test installs.
deps=""
for deb in "$@"; do
	deps="$deps $(dpkg-deb -f "$deb" Depends | tr ',' '\n' |
		sed -e 's/|.*//' -e 's/(.*)//' -e 's/[[:space:]]//g' |
		grep -v -e '^$' -e '^phiguard$' -e '^libpam-phiguard$' | tr '\n' ' ')"
done

rm -rf "$root"
mkdir -p "$root"
debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus,ca-certificates \
	"$rel" "$root" "$main" >"$root.debootstrap.log" 2>&1 ||
	{ tail -n 30 "$root.debootstrap.log" >&2; exit 1; }

printf '%s\n' "$mirrors" | awk '{ print "deb", $1, $2, "main" }' >"$root/etc/apt/sources.list"
# No service starts in the chroot; the booted container starts them.
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"
cat >"$root/tmp/preseed" <<'PRESEED'
slapd slapd/no_configuration boolean false
slapd slapd/domain string example.org
slapd shared/organization string Example Call Center
slapd slapd/password1 password admin-secret
slapd slapd/password2 password admin-secret
slapd slapd/purge_database boolean true
slapd slapd/move_old_database boolean true
PRESEED
in_root() { chroot "$root" env DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 "$@"; }
in_root debconf-set-selections /tmp/preseed
rm -f "$root/tmp/preseed"
in_root apt-get update -q >"$root.apt.log" 2>&1 ||
	{ tail -n 30 "$root.apt.log" >&2; exit 1; }
# shellcheck disable=SC2086
in_root apt-get install -y -q --no-install-recommends \
	slapd ldap-utils openssh-server openssh-client sudo oathtool python3 \
	procps $deps >>"$root.apt.log" 2>&1 ||
	{ tail -n 30 "$root.apt.log" >&2; exit 1; }
in_root apt-get clean
rm -f "$root/usr/sbin/policy-rc.d"
# A name of its own that resolves without DNS (sudo looks it up).
echo systest >"$root/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tsystest\n' >"$root/etc/hosts"
