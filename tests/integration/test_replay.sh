#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# A code works once: the daemon accepts a claimed time step only if it is
# later than the user's last accepted one, so the same code, an older
# code, and the same code again inside the window are all refused, with a
# line that says why (a second sudo within 30 s is the common case; sudo
# passes PAM_SILENT and still shows it).
. "${top_srcdir:?}/tests/integration/lib.sh"

SECRET=JBSWY3DPEHPK3PXP
NOW=1700000015 # the middle of a 30 s step

write_config
start_daemon
for u in alice bob carol; do
	add_token "$u" SHA1 6 30 "$SECRET"
done
pam_service login
at_time $NOW
code=$(totp_code "$SECRET" SHA1 6 $NOW)

expect_rc 0 "first use" -- run_pam login alice auth -a "$code"
expect_out '^auth: PAM_SUCCESS$' "first use"
expect_rc 1 "same code again" -- run_pam login alice auth -a "$code"
expect_out '^prompt: Verification code: $' "prompt before a replay"
expect_out '^auth: PAM_AUTH_ERR$' "same code again"
expect_log 'user=alice; .*result=failure; reason=replay$' "replay log line"
REPLAY_MSG='^error: This code was already used\. Wait for the next code and try again\.$'
expect_out "$REPLAY_MSG" "replay message"
[ "$(grep -c '^error: ' "$OUT")" -eq 1 ] || fail "replay: want one message, got: $(grep '^error: ' "$OUT" | tr '\n' '|')"
# A wrong code is not called a used one.
expect_rc 1 "wrong code" -- run_pam login alice auth -a 000000
expect_no_out 'already used' "a wrong code called used"

# Replay protection is per user: bob may use the same code once.
expect_rc 0 "same code, other user" -- run_pam login bob auth -a "$code"
expect_rc 1 "other user, twice" -- run_pam login bob auth -S -a "$code"
expect_log 'user=bob; .*reason=replay$' "replay for bob"
expect_out "$REPLAY_MSG" "replay message under PAM_SILENT"

# Still refused a step later, while the code is inside the window.
at_time $((NOW + 30))
expect_rc 1 "same code, next step" -- run_pam login alice auth -a "$code"
expect_log 'reason=replay$' "replay inside the window"
# A newer code is fine ...
newer=$(totp_code "$SECRET" SHA1 6 $((NOW + 30)))
expect_rc 0 "newer code" -- run_pam login alice auth -a "$newer"
expect_out '^auth: PAM_SUCCESS$' "newer code"
# ... and after it an older, still-in-window code is not.
at_time $((NOW + 30))
expect_rc 1 "older code after a newer" -- run_pam login alice auth -a "$code"
expect_log 'reason=replay$' "older step after a newer one"

# The future code (next step, within the window) claimed first makes
# the current one stale.
at_time $NOW
expect_rc 0 "next-step code first" -- run_pam login carol auth -a "$newer"
expect_rc 1 "then the current code" -- run_pam login carol auth -a "$code"
expect_log 'user=carol; .*reason=replay$' "current code after the next one"

finish
