#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Duo push through the real module against the Duo emulator (signatures
# checked there): one prompt for both factors, Enter -> push, a typed code
# -> TOTP; approve, deny, fraud, no answer within push_timeout; push
# without a prompt (factors=push); provider text with escape sequences
# never reaches the conversation; a wrong skey is refused by the provider
# and denied here; push fatigue suspends push (PREAUTH push=no).
. "${top_srcdir:?}/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/push_lib.sh"

SECRET=JBSWY3DPEHPK3PXP
BOTH='^prompt: Verification code \(or press Enter for a push to your phone\): $'
PUSH_TIMEOUT=$(push_limit 3)

push_script '{"users": {
  "nurse1": {"push": "approve", "delay": 0.3, "device": "iPhone 15"},
  "nurse2": {"push": "deny", "delay": 0.3},
  "nurse3": {"push": "fraud", "delay": 0.3},
  "nurse4": {"push": "never"},
  "nurse5": {"push": "deny", "delay": 0.2,
             "message": "\u001b[2J\u001b]0;owned\u0007Denied \u001b[31mred\u009b1m!"},
  "nurse6": {"preauth": "allow"},
  "nurse7": {"enrolled": false}
}}'
start_emulator duo
PG_MAX_FAILURES=100
write_push_config duo "push_timeout = $PUSH_TIMEOUT" "push_max_unanswered = 2"
start_daemon
for u in nurse1 nurse2 nurse3 nurse4 nurse5 nurse6 nurse7 nurse8; do
	add_token "$u" SHA1 6 30 "$SECRET"
done
pam_service login
pam_service pushonly factors=push

# Approve: Enter -> a signed push, the user told where it went.
expect_rc 0 "approve" -- run_pam login nurse1 auth -a ""
expect_out "$BOTH" "one prompt for both factors"
expect_out '^info: Push sent to iPhone 15\. Approve it on your phone' "push sent message"
expect_out '^info: Push approved\.$' "approved message"
expect_out '^auth: PAM_SUCCESS$' "approve"
expect_log "^push; user=nurse1; .*result=approved; reason=ok; detail=provider=duo latency_ms=[0-9]+" "push log line"
expect_log '^auth; user=nurse1; .*result=success; reason=ok' "outcome line"
grep '"path": "/auth/v2/auth"' "$EMU_LOG" | grep -q '"auth": "ok"' ||
	fail "the emulator did not see a correctly signed /auth/v2/auth"
grep -q '"path": "/auth/v2/ping"' "$EMU_LOG" || fail "no ping for the clock offset"
grep '"path": "/auth/v2/auth"' "$EMU_LOG" | grep -q '"pushinfo": "service=login"' ||
	fail "no pushinfo naming the service"
grep -Eq 'skey|yWHSMhWucAcp7qvuH3HWTaSa|Basic ' "$OUT" && fail "a secret in the log"

# A typed code still goes the TOTP way, and no push is sent.
wait_fresh_step
pushes=$(emu_count /auth/v2/auth)
expect_rc 0 "typed code" -- run_pam login nurse1 auth -a "$(totp_code "$SECRET")"
expect_out "$BOTH" "typed code: prompt"
[ "$(emu_count /auth/v2/auth)" -eq "$pushes" ] || fail "a typed code sent a push"
expect_log '^auth; user=nurse1; .*result=success; reason=ok' "typed code accepted"
expect_rc 1 "wrong typed code" -- run_pam login nurse1 auth -a 000000
[ "$(emu_count /auth/v2/auth)" -eq "$pushes" ] || fail "a wrong code sent a push"

# A conversation failing at the prompt: denied, reported, no push sent.
expect_rc 1 "conversation error at the prompt" -- run_pam login nurse1 auth -C fail
expect_log '^auth; user=nurse1; .*result=failure; reason=conv-error' "conv error at the prompt"
[ "$(emu_count /auth/v2/auth)" -eq "$pushes" ] || fail "a failed conversation sent a push"

# Deny and fraud: denied, said so, reported as failures.
expect_rc 1 "deny" -- run_pam login nurse2 auth -a ""
expect_out '^error: Push denied on the phone: access denied' "deny message"
expect_out '^auth: PAM_AUTH_ERR$' "deny"
expect_log '^push; user=nurse2; .*result=denied; reason=push-denied' "deny log"
expect_rc 1 "fraud" -- run_pam login nurse3 auth -a ""
expect_out '^error: Push reported as fraud' "fraud message"
expect_log '^push; user=nurse3; .*result=fraud; reason=push-fraud' "fraud log"

# Never answered: denied once push_timeout has passed, not much later.
start=$(now_ms)
expect_rc 1 "never answered" -- run_pam login nurse4 auth -a ""
took=$(($(now_ms) - start))
[ "$took" -ge $((PUSH_TIMEOUT * 1000 - 200)) ] ||
	fail "unanswered push denied after ${took} ms, before push_timeout"
push_elapsed_ok "$start" $((PUSH_TIMEOUT + 3)) "unanswered push"
expect_out '^error: Push not answered in time' "timeout message"
expect_log '^push; user=nurse4; .*result=timeout; reason=push-timeout' "timeout log"

# Escape sequences in the provider's text never reach the terminal.
expect_rc 1 "escape sequences" -- run_pam login nurse5 auth -a ""
expect_out 'Denied red!' "the provider text, cleaned"
if LC_ALL=C grep -q "$(printf '\033')" "$OUT" ||
	LC_ALL=C grep -q "$(printf '\302\233')" "$OUT" ||
	LC_ALL=C grep -q "$(printf '\007')" "$OUT"; then
	fail "an escape sequence reached the conversation"
fi

# Provider says allow (bypass) or enroll: never a pass without a factor.
expect_rc 1 "preauth allow" -- run_pam login nurse6 auth -a ""
expect_log '^push; user=nurse6; .*result=refused; reason=provider-bypass' "bypass refused"
expect_out '^auth: PAM_AUTH_ERR$' "bypass denied"
expect_rc 1 "not enrolled" -- run_pam login nurse7 auth -a ""
expect_log '^push; user=nurse7; .*reason=not-enrolled' "enroll refused"
expect_rc 1 "unknown at Duo" -- run_pam login nurse8 auth -a ""
expect_log '^push; user=nurse8; .*reason=provider-deny' "unknown user refused"

# factors=push: the push starts without a prompt.
expect_rc 0 "push only" -- run_pam pushonly nurse1 auth
expect_no_out '^prompt:' "push only: no prompt"
expect_out '^auth: PAM_SUCCESS$' "push only"

# A wrong skey: the provider refuses the signature, the module denies.
printf '%s\n' "not-the-right-secret-key-at-all-000000000" >"$T/wrong.skey"
chmod 0600 "$T/wrong.skey"
sed -i "s|^skey_file = .*|skey_file = $T/wrong.skey|" "$CONF"
expect_rc 1 "wrong skey" -- run_pam login nurse1 auth -a ""
expect_log '^push; user=nurse1; .*result=error; reason=auth-rejected' "wrong skey log"
expect_out '^error: The push service is not available: access denied' "wrong skey message"
grep -q '"auth": "bad-signature"' "$EMU_LOG" || fail "the emulator saw no bad signature"
sed -i "s|^skey_file = .*|skey_file = $DUO_SKEY_FILE|" "$CONF"

# Push fatigue: after push_max_unanswered (2) denied pushes in the
# window the daemon suspends push; the user gets the TOTP prompt and no
# push is sent. (nurse2 was denied once above.)
expect_rc 1 "deny 2" -- run_pam login nurse2 auth -a ""
pushes=$(emu_count /auth/v2/auth)
wait_fresh_step
expect_rc 0 "suspended: code" -- run_pam login nurse2 auth -a "$(totp_code "$SECRET")"
expect_out '^prompt: Verification code: $' "suspended: the TOTP prompt"
expect_log 'push suspended for this user until' "suspension logged"
[ "$(emu_count /auth/v2/auth)" -eq "$pushes" ] || fail "push sent while suspended"
# factors=push alone also falls back to the code prompt while suspended.
expect_rc 1 "suspended, push only" -- run_pam pushonly nurse2 auth -a 000000
expect_out '^prompt: Verification code: $' "suspended, push only: TOTP prompt"
[ "$(emu_count /auth/v2/auth)" -eq "$pushes" ] || fail "push sent while suspended (push only)"

# The admin sees the suspension and what unlock lifts.
ctl status >"$OUT" 2>&1 || fail "phiguardctl status: $(cat "$OUT")"
expect_out '^  push_suspended +1$' "status counts the suspension"
expect_out '^    nurse2 +until [0-9]{4}-[0-9]{2}-[0-9]{2} ' "status names the suspended user"
ctl unlock nurse2 >"$OUT" 2>&1 || fail "phiguardctl unlock: $(cat "$OUT")"
expect_out '^nurse2: cleared the push suspension, ' "unlock says it lifted the suspension"
expect_no_out 'lockout|not locked out' "unlock of a suspension, not a lockout"
ctl status >"$OUT" 2>&1
expect_out '^  push_suspended +0$' "no suspension after unlock"
expect_no_out 'nurse2' "no suspended user after unlock"
ctl unlock nurse2 >"$OUT" 2>&1
expect_out '^nurse2: nothing to clear ' "a second unlock clears nothing"

finish
