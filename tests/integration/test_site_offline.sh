#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Site mode when the directory is down (offline mode): an agent this
# terminal has read within offline_grace keeps logging in on the kept
# record (offline=yes, audited source=offline), claimed against the
# daemon's own floor, failures counted here; one never seen is refused;
# a restart during the outage still works (state_dir); when the directory
# answers again the higher step and the failures are written back; past
# offline_grace the kept record is refused. The kept-record file is 0600
# and holds a sealed secret sealed. And with the directory up, an unlock
# at terminal B lifts a lock whose failures all happened at A.
# shellcheck disable=SC2154 # SLAPD_*_NAME are set by start_slapd (eval)
. "${top_srcdir:?}/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/slapd.sh"
. "$top_srcdir/tests/integration/site_lib.sh"

SECRET=JBSWY3DPEHPK3PXP
SECRET2=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ
SECRET3=KRUGS4ZANFZSAYJAONSWG4TFOQQGC3TE
KEPT="$STATE_DIR/tokens.kept"

start_slapd a --oath
site_params a
enroll a nurse1 "$SECRET"
enroll a nurse2 "$SECRET2"
site_config "$SLAPD_URI_a"
printf '[cache]\noffline_grace = 600\n' >>"$CONF"
enroll a billing1 "$(site_sealed billing1 "$SECRET3")"

start_daemon
pam_service login

# --- seen while the directory answers ------------------------------------
wait_fresh_step
now=$(date +%s)
expect_rc 0 "nurse1 at A, directory up" -- \
	run_pam login nurse1 auth -a "$(totp_code "$SECRET" SHA1 6 "$now")"
expect_out '^auth: PAM_SUCCESS$' "nurse1 at A, directory up"
expect_rc 0 "billing1 (sealed) at A, directory up" -- \
	run_pam login billing1 auth -a "$(totp_code "$SECRET3" SHA1 6 "$now")"
kept_has() { grep -q "^$1 " "$KEPT" 2>/dev/null; }
wait_for 5 kept_has billing1 || fail "no kept record of billing1 in $KEPT"
[ "$(stat -c %a "$KEPT")" = 600 ] || fail "$KEPT mode $(stat -c %a "$KEPT")"
grep -q "$SECRET3" "$KEPT" && fail "the sealed secret in the clear in $KEPT"
grep -q '^billing1 .*pgseal1:' "$KEPT" || fail "billing1's record not sealed in $KEPT"

# Another terminal uses the next code (its claim, written as the rootdn),
# and A reads the token again: the directory's watermark is kept too.
s0=$((now + 30))
ldap_modify a >/dev/null <<LDIF || die "nurse1's step"
dn: cn=nurse1,$SLAPD_TOKEN_BASE
changetype: modify
replace: oathTOTPLastTimeStep
oathTOTPLastTimeStep: $((s0 / 30))
LDIF
pgreq "v1 PREAUTH user=nurse1" >"$OUT"
expect_out '^v1 OK locked=no push=yes tokens=1 ' "A reads nurse1 again"

# --- the directory goes down ---------------------------------------------
stop_slapd a
pgreq "v1 PREAUTH user=nurse1" >"$OUT"
expect_lines "PREAUTH offline, a seen user" \
	"v1 OK locked=no push=yes offline=yes tokens=1 token0=nurse1%20SHA1%206%2030%20$SECRET%20phone"
at_time "$s0"
expect_rc 1 "the code another terminal used, at A offline" -- \
	run_pam login nurse1 auth -a "$(totp_code "$SECRET" SHA1 6 "$s0")"
expect_log 'user=nurse1; .*reason=replay$' "the directory's watermark offline"
s1=$((now + 60))
code1=$(totp_code "$SECRET" SHA1 6 "$s1")
at_time "$s1"
expect_rc 0 "nurse1 at A offline, a fresh code" -- run_pam login nurse1 auth -a "$code1"
expect_out '^auth: PAM_SUCCESS$' "nurse1 at A offline"
expect_rc 1 "the same code again at A offline" -- run_pam login nurse1 auth -a "$code1"
expect_out '^auth: PAM_AUTH_ERR$' "the same code again at A offline"
expect_log 'user=nurse1; .*reason=replay$' "replay offline"
at_time ""
grep -q 'tokens: CLAIM user=nurse1: directory unreachable .*decided offline' "$DAEMON_LOG" ||
	fail "no log line for the offline claim"
wait_show() { ctl audit show --user nurse1 2>/dev/null | grep -q "$1"; }
wait_for 5 wait_show 'source=offline' || fail "no offline record in the trail"
ctl audit show --user nurse1 >"$OUT" 2>&1
expect_out 'totp-claim +nurse1 +allow .*source=offline' "the offline claim audited offline"

# Never seen here: refused as before.
pgreq "v1 PREAUTH user=nurse2" >"$OUT"
expect_lines "PREAUTH offline, never seen" \
	"v1 ERR code=unavailable msg=directory-unreachable"
expect_rc 1 "nurse2 (never seen) offline" -- \
	run_pam login nurse2 auth -a "$(totp_code "$SECRET2" SHA1 6 "$now")"
expect_out "$MSG_UNAVAIL" "nurse2 offline: the unavailable message"

# --- a restart during the outage -------------------------------------------
restart_daemon
pgreq "v1 PREAUTH user=nurse1" >"$OUT"
expect_out '^v1 OK locked=no push=yes offline=yes tokens=1 ' "PREAUTH offline after a restart"
at_time "$s1"
expect_rc 1 "the offline code again after the restart" -- run_pam login nurse1 auth -a "$code1"
s2=$((now + 90))
at_time "$s2"
expect_rc 0 "nurse1 offline after the restart" -- \
	run_pam login nurse1 auth -a "$(totp_code "$SECRET" SHA1 6 "$s2")"
expect_out '^auth: PAM_SUCCESS$' "nurse1 offline after the restart"
# Wrong codes offline: counted here, kept to write back.
for i in 1 2; do
	expect_rc 1 "wrong code $i offline" -- run_pam login nurse1 auth -a 000000
done
at_time ""
pgreq "v1 REPORT user=nurse1 factor=totp result=failure" >"$OUT"
expect_out '^v1 OK locked=no failures=3 push=yes offline=yes$' "a third failure offline"
kept_failures() { grep -q "^nurse1 [0-9]* 30 [0-9]* 1 $1 " "$KEPT" 2>/dev/null; }
wait_for 5 kept_failures 3 || fail "nurse1's offline claim and failures not kept: $(cut -d' ' -f1-6 "$KEPT")"
grep -q 'write-back user=nurse1: oathTOTP' "$DAEMON_LOG" &&
	fail "a write-back while the directory is down"

# --- the directory is back: write-back ------------------------------------
restart_slapd a
# Reached again once the connection's backoff (ldapconn.h) lets it try.
back() {
	pgreq "v1 PREAUTH user=nurse2" >"$OUT"
	grep -q '^v1 OK locked=no push=yes tokens=1 ' "$OUT"
}
wait_for -i 0.5 30 back || fail "PREAUTH with the directory back: $(cat "$OUT")"
written() { grep -q 'write-back user=nurse1: oathTOTP' "$DAEMON_LOG"; }
wait_for 40 written || fail "no write-back of nurse1"
grep 'write-back user=nurse1: oathTOTP' "$DAEMON_LOG" >"$OUT"
expect_out "oathTOTPLastTimeStep $((s2 / 30)) \\(directory had $((s0 / 30)), offered $((s2 / 30))\\), oathFailureCount \\+3" \
	"the write-back's log line"
[ "$(last_step a nurse1)" = $((s2 / 30)) ] ||
	fail "directory step after the write-back: $(last_step a nurse1), want $((s2 / 30))"
[ "$(token_attr a nurse1 oathFailureCount)" = 3 ] ||
	fail "directory failures after the write-back: $(token_attr a nurse1 oathFailureCount), want 3"
kept_written() { grep -q '^nurse1 [0-9]* 30 [0-9]* 0 0 ' "$KEPT"; }
wait_for 5 kept_written || fail "nurse1 still to write back: $(cut -d' ' -f1-6 "$KEPT")"

# --- the lock is site-wide: failures at A, unlock at B ---------------------
start_b
for i in 1 2 3 4 5; do
	run_pam login nurse1 auth -a 000000 >/dev/null
done
pgreq "v1 PREAUTH user=nurse1" >"$OUT"
expect_out '^v1 OK locked=yes until=' "A: locked after 5 failures at A"
CONF=$CONF_B ctl unlock nurse1 >"$OUT" 2>&1 || fail "unlock at B: $(cat "$OUT")"
pgreq "v1 PREAUTH user=nurse1" >"$OUT"
expect_out '^v1 OK locked=no ' "A: unlocked by B's unlock"
s3=$((s2 + 30))
at_time "$s3"
expect_rc 0 "login at A after B's unlock" -- \
	run_pam login nurse1 auth -a "$(totp_code "$SECRET" SHA1 6 "$s3")"
expect_out '^auth: PAM_SUCCESS$' "login at A after B's unlock"
at_time ""
stop_b

# --- past offline_grace -----------------------------------------------------
sed -i 's/^offline_grace = 600$/offline_grace = 3/' "$CONF"
pgreq "v1 RELOAD" >"$OUT"
expect_out '^v1 OK' "reload with offline_grace = 3"
pgreq "v1 PREAUTH user=nurse1" >"$OUT"
stop_slapd a
refused() {
	pgreq "v1 PREAUTH user=nurse1" >"$OUT"
	grep -q '^v1 ERR code=unavailable msg=directory-unreachable$' "$OUT"
}
pgreq "v1 PREAUTH user=nurse1" >"$OUT"
expect_out '^v1 OK locked=no push=yes offline=yes ' "within offline_grace"
wait_for 10 refused || fail "still served offline past offline_grace: $(cat "$OUT")"
grep -q 'user=nurse1: no token record read within offline_grace' "$DAEMON_LOG" ||
	fail "no log line for the expired record"

grep -q "$SECRET3" "$KEPT" "$DAEMON_LOG" && fail "the sealed secret in the clear"
finish
