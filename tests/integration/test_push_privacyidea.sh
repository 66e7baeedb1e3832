#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# privacyIDEA push through the real module against the privacyIDEA
# emulator: trigger with an empty pass, poll, finalize with the transaction
# id; approve, decline, cancel, an approval after the challenge expired,
# an approval the finalizing check rejects (a provider error, not counted);
# number matching shown inside a prompt; a conversation failure during the
# push denies and stops the polling; a service account (POST /auth, JWT in
# PI-Authorization), and a wrong service password.
. "${top_srcdir:?}/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/push_lib.sh"

PUSH_TIMEOUT=$(push_limit 4)

push_script '{"users": {
  "nurse1": {"push": "approve", "delay": 0.5, "device": "Pixel 8"},
  "nurse2": {"push": "deny", "delay": 0.3},
  "nurse3": {"push": "cancel", "delay": 0.3},
  "nurse4": {"push": "approve", "delay": 2.5, "expiry": 1},
  "nurse5": {"push": "approve", "delay": 0.5, "number": "42"},
  "nurse6": {"enrolled": false},
  "nurse7": {"push": "approve", "delay": 0.3, "pin": "unix-Pw0rd"},
  "nurse8": {"push": "approve", "delay": 0.3, "finalize": "reject",
             "finalize_message": "Login refused by policy: outside shift hours."}
}}'
printf 'svc-secret\n' >"$PI_SVC_PW"
chmod 0600 "$PI_SVC_PW"
start_emulator privacyidea
write_push_config privacyidea "push_timeout = $PUSH_TIMEOUT"
start_daemon
pam_service login
pam_service pushonly factors=push

# Approve: trigger (pass ""), poll, finalize with the transaction id.
expect_rc 0 "approve" -- run_pam login nurse1 auth -a ""
expect_out '^info: Push sent\. Approve it on your phone .*\(Pixel 8\)' "push sent message"
expect_out '^auth: PAM_SUCCESS$' "approve"
expect_log '^push; user=nurse1; .*result=approved; reason=ok; detail=provider=privacyidea' "approve log"
[ "$(emu_count /validate/polltransaction)" -ge 1 ] || fail "no polling"
grep '"path": "/validate/check"' "$EMU_LOG" | grep -q '"transaction_id"' ||
	fail "no finalizing /validate/check with the transaction id"
grep '"path": "/validate/check"' "$EMU_LOG" | grep '"transaction_id"' |
	grep -q '"outcome": "accept"' || fail "the finalizing check was not accepted"

# Declined and cancelled: denied, reported as push-denied.
expect_rc 1 "decline" -- run_pam login nurse2 auth -a ""
expect_out '^error: Push denied on the phone' "decline message"
expect_log '^push; user=nurse2; .*result=denied; reason=push-denied' "decline log"
expect_rc 1 "cancel" -- run_pam login nurse3 auth -a ""
expect_log '^push; user=nurse3; .*result=denied; reason=push-denied' "cancel log"

# Approved only after the challenge expired: never a pass; denied at
# push_timeout.
start=$(now_ms)
expect_rc 1 "expired" -- run_pam login nurse4 auth -a ""
took=$(($(now_ms) - start))
[ "$took" -ge $((PUSH_TIMEOUT * 1000 - 200)) ] || fail "expired push decided after ${took} ms"
push_elapsed_ok "$start" $((PUSH_TIMEOUT + 3)) "expired push"
expect_log '^push; user=nurse4; .*result=timeout; reason=push-timeout' "expired log"

# Approved on the phone, then the finalizing check said no (a policy, an
# expired grace): the server's decision, not the user's. A provider error
# for the daemon (never counted: no lockout, no push fatigue), and the
# user is shown the server's reason, not the trigger's challenge text.
for i in 1 2 3 4 5; do
	expect_rc 1 "rejected after approval ($i)" -- run_pam login nurse8 auth -a ""
done
expect_log '^push; user=nurse8; .*result=rejected; reason=provider-rejected' "rejected after approval: log"
expect_out '^error: .*Login refused by policy: outside shift hours\.' "rejected after approval: the server's reason"
expect_no_out '^error: .*Please confirm the authentication' "rejected after approval: no stale challenge text"
expect_no_out '^error: Push denied on the phone' "rejected after approval: not the user's denial"
grep -q 'REPORT user=nurse8 .*result=error reason=provider-rejected' "$DAEMON_LOG" ||
	fail "rejected after approval: not reported as a provider error"
grep 'REPORT user=nurse8 ' "$DAEMON_LOG" | grep -q 'result=failure' &&
	fail "rejected after approval: reported as the user's failure"
pgreq "v1 PREAUTH user=nurse8" >"$OUT"
expect_out '^v1 OK locked=no push=yes$' "rejected after approval: no lockout, no push suspension"

# Number matching: the number is in a prompt (OpenSSH shows info
# messages only with the next prompt).
expect_rc 0 "number matching" -- run_pam login nurse5 auth -a "" -a ""
expect_out '^prompt: Push sent\. Choose 42 on your phone, then press Enter: $' "number in the prompt"
expect_out '^auth: PAM_SUCCESS$' "number matching"

# A conversation failing during the push: denied, polling stops.
polls=$(emu_count /validate/polltransaction)
expect_rc 1 "conversation error" -- run_pam pushonly nurse5 auth -C fail
expect_log '^push; user=nurse5; .*reason=conv-error' "conv error log"
sleep 1
[ "$(emu_count /validate/polltransaction)" -eq "$polls" ] ||
	fail "the module polled after the conversation failed"

# No push token / unknown user: refused, never a pass.
expect_rc 1 "no push token" -- run_pam login nurse6 auth -a ""
expect_log '^push; user=nurse6; .*result=refused; reason=not-enrolled' "no token log"
expect_rc 1 "unknown user" -- run_pam login nobody1 auth -a ""
expect_log '^push; user=nobody1; .*result=refused; reason=not-enrolled' "unknown user log"

# trigger=password: the password an earlier module set (PAM_AUTHTOK)
# triggers the challenge (otppin=userstore), never an empty pass.
write_push_config privacyidea "push_timeout = $PUSH_TIMEOUT" "trigger = password"
{
	echo "auth required $PAM_WRAPPER_MODULES/pam_set_items.so"
	echo "auth required $PAM_MODULE config=$CONF factors=push"
} >"$PAMD/withpw"
export PAM_AUTHTOK=unix-Pw0rd
expect_rc 0 "trigger=password" -- run_pam withpw nurse7 auth
expect_out '^auth: PAM_SUCCESS$' "trigger=password"
grep -q 'unix-Pw0rd' "$OUT" "$EMU_LOG" && fail "the password leaked into a log"
export PAM_AUTHTOK=wrong-password
expect_rc 1 "trigger=password, wrong password" -- run_pam withpw nurse7 auth
expect_log '^push; user=nurse7; .*result=refused; reason=not-enrolled' "wrong password refused"
unset PAM_AUTHTOK
expect_rc 1 "trigger=password, no password" -- run_pam pushonly nurse7 auth
expect_log '^push; user=nurse7; .*result=refused; reason=no-authtok' "no password refused"
# The empty pass no longer triggers nurse1's push.
triggers=$(grep '"path": "/validate/check"' "$EMU_LOG" | grep -c '"outcome": "challenge"')
expect_rc 1 "trigger=password, no password, pinless token" -- run_pam pushonly nurse1 auth
[ "$(grep '"path": "/validate/check"' "$EMU_LOG" | grep -c '"outcome": "challenge"')" -eq "$triggers" ] ||
	fail "trigger=password sent an empty pass"

# A service account: /validate/* need its JWT.
stop_emulator
start_emulator privacyidea --service-user svc --service-password-file "$PI_SVC_PW"
write_push_config privacyidea "push_timeout = $PUSH_TIMEOUT" \
	"service_user = svc" "service_password_file = $PI_SVC_PW"
expect_rc 0 "service account" -- run_pam login nurse1 auth -a ""
expect_out '^auth: PAM_SUCCESS$' "service account"
grep '"path": "/auth"' "$EMU_LOG" | grep -q '"auth": "ok"' || fail "no service login"
grep -q 'svc-secret' "$EMU_LOG" "$OUT" && fail "the service password leaked"
printf 'wrong\n' >"$T/wrong.pw"
chmod 0600 "$T/wrong.pw"
sed -i "s|^service_password_file = .*|service_password_file = $T/wrong.pw|" "$CONF"
expect_rc 1 "wrong service password" -- run_pam login nurse1 auth -a ""
expect_log '^push; user=nurse1; .*result=error; reason=auth-rejected' "wrong service password log"

finish
