#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Site mode against a directory that is wrong or stuck: token entries a
# site got wrong -- an unknown HMAC OID, a period of 0, 12 digits, a
# params DN that names nothing, a 1-byte and a 200-byte secret, a secret
# sealed for another user -- each refuse that user's login with a reason in the log and
# touch nobody else's; and a slapd that hangs (SIGSTOP) answers a PREAUTH
# and a CLAIM with a refusal within the [ldap] timeouts, the daemon serving
# other requests meanwhile.
# shellcheck disable=SC2154 # SLAPD_*_NAME are set by start_slapd (eval)
. "${top_srcdir:?}/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/slapd.sh"
. "$top_srcdir/tests/integration/site_lib.sh"

SECRET=JBSWY3DPEHPK3PXP

start_slapd a --oath
site_params a
enroll a nurse1 "$SECRET"
site_config "$SLAPD_URI_a"
# No offline logins here: a stuck directory must refuse.
printf '[cache]\noffline_grace = 0\n' >>"$CONF"

# bad_params USER NAME ATTRS: USER's token names parameters NAME holding
# ATTRS (LDIF lines) instead of the good ones.
bad_params() {
	ldap_modify a >/dev/null <<LDIF || die "params $2"
dn: cn=$2,$SLAPD_TOKEN_BASE
changetype: add
objectClass: device
objectClass: oathTOTPParams
cn: $2
$3
LDIF
	enroll a "$1" "$SECRET"
	ldap_modify a >/dev/null <<LDIF || die "relink $1"
dn: cn=$1,$SLAPD_TOKEN_BASE
changetype: modify
replace: oathTOTPParams
oathTOTPParams: cn=$2,$SLAPD_TOKEN_BASE
LDIF
}

# bad_secret USER LDIF-LINE: USER's token with that oathSecret line.
bad_secret() {
	enroll a "$1" "$SECRET"
	ldap_modify a >/dev/null <<LDIF || die "secret of $1"
dn: cn=$1,$SLAPD_TOKEN_BASE
changetype: modify
replace: oathSecret
$2
LDIF
}

bad_params nurse2 oid-unknown "oathOTPLength: 6
oathHMACAlgorithm: 1.2.840.113549.2.5
oathTOTPTimeStepPeriod: 30"
bad_params frontdesk1 period-zero "oathOTPLength: 6
oathHMACAlgorithm: 1.2.840.113549.2.7
oathTOTPTimeStepPeriod: 0"
bad_params billing1 digits-12 "oathOTPLength: 12
oathHMACAlgorithm: 1.2.840.113549.2.7
oathTOTPTimeStepPeriod: 30"
enroll a super1 "$SECRET"
ldap_modify a >/dev/null <<LDIF || die "dangling params"
dn: cn=super1,$SLAPD_TOKEN_BASE
changetype: modify
replace: oathTOTPParams
oathTOTPParams: cn=nothing-here,$SLAPD_TOKEN_BASE
LDIF
bad_secret norole1 "oathSecret:: $(printf 'x' | base64)"
bad_secret frontdesk2 "oathSecret:: $(head -c 200 /dev/zero | tr '\0' 'k' | base64 -w0)"

start_daemon
pam_service login

# Each refused like a user without a token, the reason in the log.
wait_fresh_step
code=$(totp_code "$SECRET")
for u in nurse2 frontdesk1 billing1 super1 norole1 frontdesk2; do
	pgreq "v1 PREAUTH user=$u" >"$OUT"
	expect_out '^v1 OK locked=no push=yes tokens=0$' "$u: no usable token"
	expect_rc 1 "$u: login refused" -- run_pam login "$u" auth -a "$code"
	expect_out '^auth: PAM_AUTH_ERR$' "$u: login refused"
done
grep -q 'tokens: nurse2: parameters .*oid-unknown.* missing or not usable' "$DAEMON_LOG" ||
	fail "no reason logged for an unknown HMAC OID"
grep -q 'tokens: super1: parameters cn=nothing-here,.* missing or not usable' "$DAEMON_LOG" ||
	fail "no reason logged for a dangling params DN"
grep -q 'tokens: norole1: token .* is not usable' "$DAEMON_LOG" ||
	fail "no reason logged for a 1-byte secret"
grep -q 'tokens: frontdesk2: token .* is not usable' "$DAEMON_LOG" ||
	fail "no reason logged for a 200-byte secret"
# The good token next to them works.
expect_rc 0 "nurse1 beside the bad tokens" -- run_pam login nurse1 auth -a "$code"
expect_out '^auth: PAM_SUCCESS$' "nurse1 beside the bad tokens"

# A secret sealed for nurse1 copied into frontdesk2's entry (with the good
# parameters) does not open for frontdesk2: the module refuses, reason
# token-sealed, and nurse1's still works.
sealed=$(site_sealed nurse1 "$SECRET")
for u in nurse1 frontdesk2; do
	ldap_modify a >/dev/null <<LDIF || die "$u sealed"
dn: cn=$u,$SLAPD_TOKEN_BASE
changetype: modify
replace: oathSecret
oathSecret: $sealed
LDIF
done
stop_daemon
start_daemon
# The next step's code (window = 1): nurse1 used this step's above.
wait_fresh_step
code=$(totp_code "$SECRET" SHA1 6 $(($(date +%s) + 30)))
expect_rc 1 "frontdesk2 with nurse1's sealed secret" -- \
	run_pam login frontdesk2 auth -a "$code"
expect_log 'user=frontdesk2; .*reason=token-sealed' "a moved sealed secret"
expect_rc 0 "nurse1, sealed" -- run_pam login nurse1 auth -a "$code"

# --- a slapd that hangs --------------------------------------------------
# network_timeout = search_timeout = 1 (site_config): a bounded refusal.
freeze_slapd a
# refused_frozen VERB LINE: LINE refused as directory-unreachable, in a
# bounded time.
refused_frozen() {
	pgreq_timed "$2"
	expect_out '^v1 ERR code=unavailable msg=directory-unreachable$' \
		"$1, slapd frozen"
	log "$1 with slapd frozen: refused after $PGREQ_MS ms"
	[ "$PGREQ_MS" -lt 5000 ] || fail "$1 took $PGREQ_MS ms with slapd frozen"
}
refused_frozen PREAUTH "v1 PREAUTH user=frontdesk1"
# Meanwhile the daemon serves what needs no directory.
pgreq "v1 STATUS" >"$OUT"
expect_out '^v1 OK ' "STATUS while slapd is frozen"
# Two steps ahead: above nurse1's floor (the next step is used), so the
# claim has to ask the directory.
refused_frozen CLAIM "v1 CLAIM user=nurse1 step_start=$((($(date +%s) / 30 + 2) * 30))"
thaw_slapd a
# Back: the next login works (after the connection's backoff).
step_ok() {
	pgreq "v1 PREAUTH user=nurse1" >"$OUT" && grep -q '^v1 OK .*tokens=1 ' "$OUT"
}
wait_for 30 step_ok || fail "PREAUTH after thaw: $(cat "$OUT")"
finish
