#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# The verification window: codes from up to N steps before or after now
# are accepted, none further out; N comes from window= (module argument)
# over [totp] window (config) over the default 1. Whatever N, no code is
# accepted whose step starts more than 300 s from the clock (the rule of
# pam_phiguard(8)): the boundary is checked to the second, for 30 s and
# 60 s tokens. One user per check, so no claimed step gets in the way of
# another check.
. "${top_srcdir:?}/tests/integration/lib.sh"

SECRET=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ
NOW=1699999995 # the middle of step 56666666

# check_at SERVICE USER EPOCH PERIOD OFFSET_STEPS WANT(accept|refuse): at
# EPOCH, a token of PERIOD seconds, the code of the step OFFSET_STEPS away.
check_at() {
	at_time "$3"
	add_token "$2" SHA1 6 "$4" "$SECRET"
	code=$(oathtool --totp -d 6 -s "$4" -b -N "@$(($3 + $5 * $4))" "$SECRET")
	what="$1: code from step $5 at $3"
	if [ "$6" = accept ]; then
		expect_rc 0 "$what" -- run_pam "$1" "$2" auth -a "$code"
		expect_out '^auth: PAM_SUCCESS$' "$what"
	else
		expect_rc 1 "$what" -- run_pam "$1" "$2" auth -a "$code"
		expect_out '^auth: PAM_AUTH_ERR$' "$what"
		expect_log "user=$2; .*reason=bad-code\$" "$what"
	fi
}

# check SERVICE USER OFFSET_STEPS WANT: at NOW with 30 s tokens.
check() {
	check_at "$1" "$2" $NOW 30 "$3" "$4"
}

PG_WINDOW=2
write_config
start_daemon
pam_service dflt                    # window from the config: 2
pam_service w0 window=0
pam_service w1 window=1
pam_service w2 window=2
pam_service w10 window=10
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

# window=10 with 30 s steps: step +10 starts 285 s ahead, fine; step -10
# started 315 s ago, beyond the 300 s rule.
check w10 w10-prev9 -9 accept
check w10 w10-next10 10 accept
check w10 w10-prev10 -10 refuse
check w10 w10-prev11 -11 refuse

# The 300 s rule to the second. EDGE starts a step (of 30 s and of 60 s).
EDGE=1699999800
# At EDGE, step -10 starts exactly 300 s before: in; step -11 is not.
check_at w10 edge-prev10 $EDGE 30 -10 accept
check_at w10 edge-prev11 $EDGE 30 -11 refuse
# 20 s later the same step started 320 s before: out.
check_at w10 edge20-prev10 $((EDGE + 20)) 30 -10 refuse
check_at w10 edge20-prev9 $((EDGE + 20)) 30 -9 accept
# Ahead: step +10 starts exactly 300 s after EDGE.
check_at w10 edge-next10 $EDGE 30 10 accept
# 60 s tokens: the window is narrowed to 5 steps; at EDGE step -5 starts
# 300 s before (in), 30 s later 330 s before (out); step +5 is 270 s
# ahead then, in.
check_at w10 min-prev5 $EDGE 60 -5 accept
check_at w10 min30-prev5 $((EDGE + 30)) 60 -5 refuse
check_at w10 min30-next5 $((EDGE + 30)) 60 5 accept
check_at w10 min-prev6 $EDGE 60 -6 refuse

# The step claimed is the one the code belongs to, not "now": after a
# code from step -1, the code from step 0 is still fresh.
at_time $NOW
add_token w1-seq SHA1 6 30 "$SECRET"
expect_rc 0 "older step first" -- run_pam w1 w1-seq auth -a "$(totp_code "$SECRET" SHA1 6 $((NOW - 30)))"
expect_rc 0 "then the current step" -- run_pam w1 w1-seq auth -a "$(totp_code "$SECRET" SHA1 6 $NOW)"

finish
