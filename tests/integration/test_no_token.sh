#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# A user with no token: under no_token=deny (the default) the prompt is
# shown anyway, so enrollment is not revealed, and then the login is
# denied; under no_token=ignore the module returns PAM_IGNORE without a
# prompt, never PAM_SUCCESS, and enrolled users still need their code.
. "${top_srcdir:?}/tests/integration/lib.sh"

SECRET=JBSWY3DPEHPK3PXP
NOW=1700000015

write_config
start_daemon
add_token enrolled SHA1 6 30 "$SECRET"
pam_service login
pam_service denyexplicit no_token=deny
pam_service ignore no_token=ignore
# PAM_IGNORE is the only module result that reaches pam_permit here:
# success and every failure end the stack at once ("die"), and a success
# that dies comes out as a denial.
{
	echo "auth [ignore=ignore success=die default=die] $PAM_MODULE config=$CONF no_token=ignore"
	echo "auth required pam_permit.so"
} >"$PAMD/ignorestack"
at_time $NOW
code=$(totp_code "$SECRET" SHA1 6 $NOW)

# deny: same prompt as an enrolled user, then PAM_AUTH_ERR, even with a
# code that is right for someone else's token.
for svc in login denyexplicit; do
	expect_rc 1 "$svc: unenrolled" -- run_pam "$svc" ghost auth -a "$code"
	expect_out '^prompt: Verification code: $' "$svc: unenrolled user is prompted"
	expect_out '^auth: PAM_AUTH_ERR$' "$svc: unenrolled"
	expect_log "^auth; user=ghost; service=$svc; .*result=failure; reason=no-token\$" "$svc: no-token log line"
done
# The conversation is identical for an enrolled user with a wrong code.
run_pam login ghost auth -a 000000
grep -v '^PWRAP' "$OUT" >"$T/ghost.conv"
log_lines >"$T/ghost.log"
run_pam login enrolled auth -a 000000
grep -v '^PWRAP' "$OUT" >"$T/enrolled.conv"
log_lines >>"$T/ghost.log"
cmp -s "$T/ghost.conv" "$T/enrolled.conv" ||
	fail "an unenrolled user sees a different conversation: $(diff "$T/ghost.conv" "$T/enrolled.conv" | tr '\n' ' ') (module log: $(tr '\n' ' ' <"$T/ghost.log"))"

# ignore: PAM_IGNORE, no prompt, logged as such.
expect_rc 0 "ignore: unenrolled through the stack" -- run_pam ignorestack ghost auth
expect_out '^auth: PAM_SUCCESS$' "ignore: stack passes on PAM_IGNORE"
expect_no_out '^prompt:' "ignore: unenrolled user was prompted"
expect_log '^auth; user=ghost; service=ignorestack; .*result=ignore; reason=no-token$' "ignore log line"
# The same module alone: PAM_IGNORE as its only result is not a success.
expect_rc 1 "ignore: module alone" -- run_pam ignore ghost auth
expect_no_out '^auth: PAM_SUCCESS$' "ignore: PAM_IGNORE alone let the user in"
# Enrolled users are not let through by no_token=ignore.
expect_rc 1 "ignore: enrolled, wrong code" -- run_pam ignore enrolled auth -a 000000
expect_out '^prompt: Verification code: $' "ignore: enrolled user is prompted"
expect_out '^auth: PAM_AUTH_ERR$' "ignore: enrolled, wrong code"
expect_rc 0 "ignore: enrolled, right code" -- run_pam ignore enrolled auth -a "$code"
# In the die-on-success stack a real success is visibly not PAM_IGNORE.
at_time $((NOW + 30))
expect_rc 1 "ignorestack: enrolled success dies" -- run_pam ignorestack enrolled auth -a "$(totp_code "$SECRET" SHA1 6 $((NOW + 30)))"
expect_log 'user=enrolled; service=ignorestack; .*result=success; reason=ok$' "ignorestack: enrolled success"
expect_no_out '^auth: PAM_SUCCESS$' "ignorestack: success taken for ignore"

finish
