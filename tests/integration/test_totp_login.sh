#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# A TOTP login through the real module and daemon: the right code passes,
# a wrong one fails, the prompt is the default or the configured one, the
# code may come from an earlier module, and one log line tells the outcome
# without the code.
. "${top_srcdir:?}/tests/integration/lib.sh"

SECRET=JBSWY3DPEHPK3PXP
SECRET2=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ

# A 6-digit code that is valid for neither secret from epoch $1 - 30 to
# $1 + 120 (the times this test uses, with a window of 1).
wrong_code() {
	valid=" "
	for off in -60 -30 0 30 60 90 120 150; do
		for s in "$SECRET" "$SECRET2"; do
			valid="$valid$(totp_code "$s" SHA1 6 $(($1 + off))) "
		done
	done
	for c in 000000 111111 222222 333333 444444 555555; do
		case "$valid" in *" $c "*) ;; *) echo "$c"; return ;; esac
	done
}

write_config
start_daemon
for u in nurse1 nurse2 nurse3 nurse4 nurse5; do
	add_token "$u" SHA1 6 30 "$SECRET" phone
done
add_token nurse2 SHA1 6 30 "$SECRET2" spare
pam_service login
pam_service custom "[prompt=One-time code (6 digits): ]"
{
	echo "auth required $PAM_WRAPPER_MODULES/pam_set_items.so"
	echo "auth required $PAM_MODULE config=$CONF use_first_pass"
} >"$PAMD/first"
{
	echo "auth required $PAM_WRAPPER_MODULES/pam_set_items.so"
	echo "auth required $PAM_MODULE config=$CONF try_first_pass"
} >"$PAMD/tryfirst"

# The real clock, once: a code oathtool makes now is accepted now.
wait_fresh_step
code=$(totp_code "$SECRET")
expect_rc 0 "right code" -- run_pam login nurse1 auth -a "$code"
expect_out '^prompt: Verification code: $' "default prompt"
expect_out '^auth: PAM_SUCCESS$' "right code"
expect_log '^auth; user=nurse1; service=login; rhost=-; tty=-; result=success; reason=ok$' "success log line"
[ "$(log_lines | grep -c '^auth; ')" -eq 1 ] || fail "exactly one outcome line per login"
log_lines | grep -q -- "$code" && fail "the code appears in the log"

# Fixed times from here on, so nothing depends on the step boundary.
NOW=1700000015
at_time $NOW
bad=$(wrong_code $NOW)
expect_rc 1 "wrong code" -- run_pam login nurse2 auth -a "$bad"
expect_out '^prompt: Verification code: $' "prompt before a wrong code"
expect_out '^auth: PAM_AUTH_ERR$' "wrong code"
expect_log 'user=nurse2; .*result=failure; reason=bad-code$' "bad-code log line"
log_lines | grep -q -- "$bad" && fail "the wrong code appears in the log"

# Either of a user's tokens will do.
expect_rc 0 "second token" -- run_pam login nurse2 auth -a "$(totp_code "$SECRET2" SHA1 6 $NOW)"
expect_out '^auth: PAM_SUCCESS$' "second token"

# prompt= replaces the text, and nothing else.
expect_rc 0 "custom prompt" -- run_pam custom nurse3 auth -a "$(totp_code "$SECRET" SHA1 6 $NOW)"
expect_out '^prompt: One-time code \(6 digits\): $' "custom prompt text"
expect_no_out '^prompt: Verification code' "default prompt under prompt="
expect_out '^auth: PAM_SUCCESS$' "custom prompt"

# The whole stack: the module's setcred succeeds, the rest is pam_permit.
expect_rc 0 "full stack" -- run_pam login nurse4 auth,setcred,acct,open,close -e -a "$(totp_code "$SECRET" SHA1 6 $NOW)"
for op in auth setcred acct open close; do
	expect_out "^$op: PAM_SUCCESS\$" "full stack $op"
done
[ "$(grep -c '^prompt: ' "$OUT")" -eq 1 ] || fail "exactly one prompt per login"

# use_first_pass takes the code from PAM_AUTHTOK and never prompts.
export PAM_AUTHTOK
PAM_AUTHTOK=$(totp_code "$SECRET" SHA1 6 $NOW)
expect_rc 0 "use_first_pass with a code" -- run_pam first nurse5 auth
expect_no_out '^prompt:' "use_first_pass prompted"
expect_out '^auth: PAM_SUCCESS$' "use_first_pass with a code"
PAM_AUTHTOK=$bad
expect_rc 1 "use_first_pass with a wrong code" -- run_pam first nurse5 auth -a "$(totp_code "$SECRET" SHA1 6 $((NOW + 30)))"
expect_no_out '^prompt:' "use_first_pass prompted after a wrong code"
expect_log 'user=nurse5; .*reason=bad-code$' "use_first_pass wrong code"
# try_first_pass: a present PAM_AUTHTOK is used without a prompt ...
PAM_AUTHTOK=$(totp_code "$SECRET" SHA1 6 $((NOW + 30)))
expect_rc 0 "try_first_pass with a code" -- run_pam tryfirst nurse5 auth
expect_no_out '^prompt:' "try_first_pass prompted"
unset PAM_AUTHTOK
# ... an absent one means a prompt; use_first_pass then denies.
at_time $((NOW + 60))
expect_rc 0 "try_first_pass without a code" -- run_pam tryfirst nurse5 auth -a "$(totp_code "$SECRET" SHA1 6 $((NOW + 60)))"
expect_out '^prompt: Verification code: $' "try_first_pass falls back to a prompt"
expect_rc 1 "use_first_pass without a code" -- run_pam first nurse5 auth -a "$(totp_code "$SECRET" SHA1 6 $((NOW + 60)))"
expect_no_out '^prompt:' "use_first_pass prompted without PAM_AUTHTOK"
expect_out '^auth: PAM_AUTH_ERR$' "use_first_pass without a code"
expect_log 'reason=no-authtok$' "no-authtok log line"

# rhost and tty reach the log line (set by pam_set_items from the env).
export PAM_RHOST=10.1.2.3 PAM_TTY=pts/7
expect_rc 1 "items in the log" -- run_pam tryfirst nurse1 auth -a "$bad"
expect_log '^auth; user=nurse1; service=tryfirst; rhost=10\.1\.2\.3; tty=pts/7; result=failure; reason=bad-code$' "rhost and tty logged"
unset PAM_RHOST PAM_TTY

finish
