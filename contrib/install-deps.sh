#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Install every build and test dependency of phiguard from Debian packages,
# for a development or CI machine (a site that only builds needs BUILD,
# see README.md "Install"). Run as root on Debian 12 (bookworm). Safe to
# run again: it only calls apt-get when something is missing.
#
# slapd (tests start their own servers) is installed without a configured
# system database: its debconf answer slapd/no_configuration=true is set
# only for that install, and only if nobody answered it before, then taken
# back (RESET), so a later dpkg-reconfigure slapd asks as usual.
set -eu

export DEBIAN_FRONTEND=noninteractive

# Build: toolchain, autotools and the libraries the code links against.
BUILD="build-essential autoconf autoconf-archive automake libtool pkg-config
	libpam0g-dev liboath-dev libldap-dev libcurl4-openssl-dev libssl-dev
	libjansson-dev libqrencode-dev"

# Tests: cmocka, the real PAM stack through pam_wrapper, an independent TOTP
# generator, a directory server, the sanitizer/fuzzer runtimes, sudo (its
# own PAM service file and binary, run as a local user's through
# uid_wrapper), and the small tools the test scripts use.
TEST="libcmocka-dev libpam-wrapper libpamtest0-dev pamtester oathtool
	faketime slapd ldap-utils openssl curl valgrind clang libclang-rt-14-dev
	python3 procps util-linux man-db systemd sudo libuid-wrapper clang-format"

missing=""
for pkg in $BUILD $TEST; do
	dpkg-query -W -f='${Status}\n' "$pkg" 2>/dev/null |
		grep -q 'install ok installed' || missing="$missing $pkg"
done
if [ -z "$missing" ]; then
	echo "install-deps.sh: all build and test dependencies are installed"
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps.sh: missing:$missing" >&2
	echo "install-deps.sh: run as root to install them with apt-get" >&2
	exit 1
fi

# The answer slapd's postinst would ask for, if this install brings slapd
# and the site has not given one: "0 VALUE" when it has.
preseed=no
case "$missing " in
*" slapd "*)
	answer=$(echo "GET slapd/no_configuration" |
		debconf-communicate slapd 2>/dev/null || true)
	case "$answer" in
	"0 "*) echo "install-deps.sh: slapd/no_configuration already answered ($answer); left as it is" ;;
	*) preseed=yes ;;
	esac
	;;
esac
if [ "$preseed" = yes ]; then
	echo "slapd slapd/no_configuration boolean true" | debconf-set-selections
fi

apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing

if [ "$preseed" = yes ]; then
	echo "RESET slapd/no_configuration" | debconf-communicate slapd >/dev/null || true
	echo "install-deps.sh: slapd installed without a directory database" \
		"(dpkg-reconfigure slapd makes one); debconf answer reset"
fi
