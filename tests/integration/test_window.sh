#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# The verification window: codes from up to N steps before or after now
# are accepted, none further out; N comes from window= (module argument)
# over [totp] window (config) over the default 1. One user per check, so
# no claimed step gets in the way of another check.
. "${top_srcdir:?}/tests/integration/lib.sh"

SECRET=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ
NOW=1699999995 # the middle of step 56666666

# check SERVICE USER OFFSET_STEPS WANT(accept|refuse)
check() {
	add_token "$2" SHA1 6 30 "$SECRET"
	code=$(totp_code "$SECRET" SHA1 6 $((NOW + $3 * 30)))
	if [ "$4" = accept ]; then
		expect_rc 0 "$1: code from step $3" -- run_pam "$1" "$2" auth -a "$code"
		expect_out '^auth: PAM_SUCCESS$' "$1: code from step $3"
	else
		expect_rc 1 "$1: code from step $3" -- run_pam "$1" "$2" auth -a "$code"
		expect_out '^auth: PAM_AUTH_ERR$' "$1: code from step $3"
		expect_log "user=$2; .*reason=bad-code\$" "$1: code from step $3"
	fi
}

PG_WINDOW=2
write_config
start_daemon
pam_service dflt                    # window from the config: 2
pam_service w0 window=0
pam_service w1 window=1
pam_service w2 window=2
pam_service w10 window=10
at_time $NOW

check w1 w1-now 0 accept
check w1 w1-prev -1 accept
check w1 w1-next 1 accept
check w1 w1-prev2 -2 refuse
check w1 w1-next2 2 refuse

check w0 w0-now 0 accept
check w0 w0-prev -1 refuse
check w0 w0-next 1 refuse

check w2 w2-prev2 -2 accept
check w2 w2-next2 2 accept
check w2 w2-prev3 -3 refuse
check w2 w2-next3 3 refuse

# No window= argument: the config's window = 2 applies.
check dflt cf-prev2 -2 accept
check dflt cf-prev3 -3 refuse

check w10 w10-prev10 -10 accept
check w10 w10-next10 10 accept
check w10 w10-prev11 -11 refuse

# The step claimed is the one the code belongs to, not "now": after a
# code from step -1, the code from step 0 is still fresh.
add_token w1-seq SHA1 6 30 "$SECRET"
expect_rc 0 "older step first" -- run_pam w1 w1-seq auth -a "$(totp_code "$SECRET" SHA1 6 $((NOW - 30)))"
expect_rc 0 "then the current step" -- run_pam w1 w1-seq auth -a "$(totp_code "$SECRET" SHA1 6 $NOW)"

finish
