#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Smoke test from the shell with pamtester (a PAM application we did not
# write): one right code accepted, one wrong code refused.
. "$top_srcdir/tests/integration/lib.sh"
need pamtester

SECRET=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ
add_token nurse1 SHA1 6 30 "$SECRET"
write_config
pam_service phiguard-smoke
start_daemon

pamtester_run() {
	printf '%s\n' "$2" | pwrap_locked env LD_PRELOAD="$PAM_WRAPPER_LIB" PAM_WRAPPER=1 \
		PAM_WRAPPER_SERVICE_DIR="$PAMD" \
		pamtester phiguard-smoke "$1" authenticate >"$OUT" 2>&1
}
# A sanitizer-built module inside uninstrumented pamtester needs the ASan
# runtime loaded first.
if [ "${SANITIZERS:-no}" = yes ]; then
	asan="$($CC -print-file-name=libasan.so)"
	PAM_WRAPPER_LIB="$asan $PAM_WRAPPER_LIB"
fi

wait_fresh_step
expect_rc 0 "pamtester with the right code" -- pamtester_run nurse1 "$(totp_code "$SECRET")"
expect_out 'successfully authenticated' "pamtester reports success"
expect_out 'Verification code' "pamtester showed our prompt"
expect_rc 1 "pamtester with a wrong code" -- pamtester_run nurse1 123456
expect_out 'Authentication failure' "pamtester reports the failure"
finish
