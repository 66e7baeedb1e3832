#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# ssh's SSH_ASKPASS in the system test (with SSH_ASKPASS_REQUIRE=force):
# answers each keyboard-interactive prompt by its kind, from the
# environment, as an agent at the keyboard would.
case "$1" in
*[Pp]assword*) printf '%s\n' "$SYSTEST_PASSWORD" ;;
*[Cc]ode*) printf '%s\n' "$SYSTEST_CODE" ;;
*)
	echo "systest-askpass: unexpected prompt: $1" >&2
	exit 1
	;;
esac
