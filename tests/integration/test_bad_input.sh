#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Hostile or broken input is denied cleanly: malformed answers, user names
# that can never be enrolled (refused without asking the daemon), failing
# conversations, bad module arguments and an unsafe config file (a typo in
# the file is logged and costs no login).
. "${top_srcdir:?}/tests/integration/lib.sh"

SECRET=JBSWY3DPEHPK3PXP
NOW=1700000015

PG_MAX_FAILURES=1000 # this test fails on purpose, many times
write_config
start_daemon
add_token nurse1 SHA1 6 30 "$SECRET"
pam_service login
at_time $NOW
code=$(totp_code "$SECRET" SHA1 6 $NOW)

# --- answers: each one prompted for, refused as bad-input.
bad_answer() {
	expect_rc 1 "answer $2" -- run_pam login nurse1 auth -a "$1"
	expect_out '^prompt: Verification code: $' "answer $2: prompt"
	expect_out '^auth: PAM_AUTH_ERR$' "answer $2"
	expect_log '^auth; user=nurse1; .*result=failure; reason=bad-input$' "answer $2: reason"
}
bad_answer "" "empty"
bad_answer "   " "blanks only"
bad_answer "abcdef" "letters"
bad_answer "12345a" "digits and a letter"
bad_answer "12 345" "a blank inside"
bad_answer "-12345" "a sign"
bad_answer "1234567" "7 digits for a 6-digit token"
bad_answer "12345" "5 digits"
bad_answer "123456789" "9 digits"
bad_answer "$(printf '%064d' 0)" "64 digits"
bad_answer "$(printf ' %s%70s' "$code" '')" "the code padded past 64 bytes"
bad_answer "$(printf '%s\001' "$code")" "a control byte"
bad_answer "$(printf '\357\274\221\357\274\222\357\274\223\357\274\224\357\274\225\357\274\226')" "fullwidth digits"
# Whitespace around a code is stripped (a pasted code), and works.
expect_rc 0 "code with blanks around" -- run_pam login nurse1 auth -a "$(printf ' \t%s \n' "$code")"
expect_out '^auth: PAM_SUCCESS$' "code with blanks around"

# --- user names that can never be enrolled: PAM_USER_UNKNOWN, no prompt,
# and the daemon is not asked: the answers are the same with it stopped.
bad_user() {
	expect_rc 1 "user $2" -- run_pam login "$1" auth -a "$code"
	expect_out '^auth: PAM_USER_UNKNOWN$' "user $2"
	expect_no_out '^prompt:' "user $2 was prompted"
	expect_log '^auth; user=.*; result=failure; reason=bad-user$' "user $2: reason"
}
long=$(printf '%0257d' 0 | tr 0 a)
stop_daemon
bad_user "" "empty"
bad_user "$long" "of 257 bytes"
bad_user "$(printf 'nurse\0011')" "with a control byte"
bad_user "$(printf 'nurse\033[2J')" "with an escape sequence"
bad_user "nurse 1" "with a space"
bad_user "nurse/1" "with a slash"
bad_user "../nurse1" "a relative path"
bad_user "-nurse1" "an option"
bad_user "nurse1=x" "with '='"
bad_user "$(printf 'nurs\351')" "invalid UTF-8"
# The log line escapes what it cannot print; the name stays on one line.
run_pam login "$(printf 'evil\n; result=success')" auth -a "$code"
expect_log '^auth; user=evil\\x0a\\x3b\\x20result=success; ' "escaped user name"
expect_no_log '^; result=success' "a user name split the log line"
run_pam login "$long" auth
expect_log '^auth; user=a{200,}\.\.\.; service=login; ' "long user name cut in the log"
# 256 bytes is a valid length: with the daemon down it gets as far as
# asking the daemon.
run_pam login "$(printf '%0256d' 0 | tr 0 a)" auth -a "$code"
expect_out '^auth: PAM_AUTHINFO_UNAVAIL$' "a 256-byte user name is not refused as such"
start_daemon

# --- conversations that fail.
expect_rc 1 "conversation error" -- run_pam login nurse1 auth -C fail
expect_out '^prompt: Verification code: $' "conversation error: the prompt was sent"
expect_out '^auth: PAM_AUTH_ERR$' "conversation error"
expect_log 'reason=conv-error$' "conversation error: reason"
expect_rc 1 "conversation returns NULL" -- run_pam login nurse1 auth -C null
expect_out '^auth: PAM_AUTH_ERR$' "conversation returns NULL"
expect_log 'reason=conv-error$' "conversation returns NULL: reason"
expect_rc 1 "no answer scripted" -- run_pam login nurse1 auth
expect_log 'reason=conv-error$' "no answer scripted: reason"

# --- bad module arguments: PAM_SERVICE_ERR before any prompt.
bad_arg() {
	opt=$(printf '%s' "$1" | sed 's/^\[//; s/=.*//')
	pam_service badarg "$1"
	expect_rc 1 "argument $1" -- run_pam badarg nurse1 auth -a "$code"
	expect_out '^auth: PAM_SERVICE_ERR$' "argument $1"
	expect_no_out '^prompt:' "argument $1: prompted"
	expect_out "$MSG_UNAVAIL" "argument $1: message"
	expect_log "reason=bad-option; detail=$opt: " "argument $1: reason"
}
bad_arg window=abc
bad_arg window=11
bad_arg window=-1
bad_arg daemon_timeout=0
bad_arg daemon_timeout=31
bad_arg daemon_timeout=soon
bad_arg no_token=maybe
bad_arg tokens=relative/path
bad_arg socket=
bad_arg "[prompt=]"
# An unknown argument is logged and otherwise ignored.
pam_service unknownarg frobnicate=1
at_time $((NOW + 30))
expect_rc 0 "unknown argument" -- run_pam unknownarg nurse1 auth -a "$(totp_code "$SECRET" SHA1 6 $((NOW + 30)))"
expect_log "^unknown option 'frobnicate=1' ignored\$" "unknown argument logged"

# --- an unusable config file (missing, unsafe, too large):
# PAM_AUTHINFO_UNAVAIL before any prompt.
bad_config() {
	expect_rc 1 "config: $1" -- run_pam badconf nurse1 auth -a "$code"
	expect_out '^auth: PAM_AUTHINFO_UNAVAIL$' "config: $1"
	expect_no_out '^prompt:' "config: $1: prompted"
	expect_out "$MSG_UNAVAIL" "config: $1: message"
	expect_log 'reason=config; detail=' "config: $1: reason"
}
# A file named by config= must exist (only the default path may not).
rm -f "$PAMD/badconf"
echo "auth required $PAM_MODULE config=$T/absent.conf" >"$PAMD/badconf"
bad_config "missing"
cp "$CONF" "$T/bad.conf"
echo "auth required $PAM_MODULE config=$T/bad.conf" >"$PAMD/badconf"
chmod 0666 "$T/bad.conf"
bad_config "world-writable"
chmod 0644 "$T/bad.conf"
chown 65534 "$T/bad.conf"
bad_config "owned by another user"
chown 0 "$T/bad.conf"
head -c 1048577 /dev/zero | tr '\0' '#' >"$T/bad.conf"
bad_config "larger than 1 MiB"
# A typo inside the file costs no login: a key the module reads is logged
# and keeps its default, the rest is phiguardd's to refuse.
sed 's/^window = .*/window = 42/' "$CONF" >"$T/bad.conf"
printf '[nonsense]\nfrob = 1\n' >>"$T/bad.conf"
at_time $((NOW + 60))
expect_rc 0 "config typo" -- run_pam badconf nurse1 auth -a "$(totp_code "$SECRET" SHA1 6 $((NOW + 60)))"
expect_log "^config error ignored, built-in default used: $T/bad\.conf:[0-9]+: window: out of range \(0\.\.10\)\$" "config typo: logged"
expect_no_log 'nonsense' "config typo: a section the module does not read"
ln -s "$CONF" "$T/link.conf"
echo "auth required $PAM_MODULE config=$T/link.conf" >"$PAMD/badconf"
bad_config "a symlink"

finish
