#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Site mode ([tokens] store = ldap): two terminals' daemons (two state
# dirs, two sockets) on one real slapd with the OATH-LDAP schema. A code
# used at A is refused at B; concurrent claims of one step from A and B
# are decided by the directory (exactly one accepted, 1,000 rounds);
# failures spread over A and B lock the user at both and an unlock clears
# both; only the exact name gets a token, and only a root peer gets its
# secret (never the log); a directory that cannot be reached refuses an
# unseen user; and when the write target goes down, claims go to the next
# server, STATUS says so, and a step at or below the daemon's floor is
# still refused.
# shellcheck disable=SC2154 # SLAPD_*_NAME are set by start_slapd (eval)
. "${top_srcdir:?}/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/slapd.sh"
. "$top_srcdir/tests/integration/site_lib.sh"

SECRET=JBSWY3DPEHPK3PXP
SECRET2=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ
SECRET3=KRUGS4ZANFZSAYJAONSWG4TFOQQGC3TE
RACE_ROUNDS=${RACE_ROUNDS:-1000}

start_slapd a --oath
start_slapd b --oath

# directory SERVER: the parameters entry, nobody as a person (the
# non-root peer), and the tokens of nurse1, frontdesk1 and nobody.
directory() {
	site_params "$1"
	ldap_modify "$1" >/dev/null <<LDIF || die "nobody on $1"
dn: uid=nobody,$PEOPLE
changetype: add
objectClass: inetOrgPerson
uid: nobody
cn: nobody
sn: nobody
LDIF
	enroll "$1" nurse1 "$SECRET"
	enroll "$1" frontdesk1 "$SECRET2"
	enroll "$1" nobody "$SECRET2"
}
directory a
directory b

site_config "$SLAPD_URI_a"
# The config explains itself, and refuses the ldap store without [ldap].
expect_rc 0 "check-config, ldap store" -- "$PHIGUARDD" --check-config --config "$CONF"
sed '/^\[ldap\]/,$d' "$CONF" >"$T/noldap.conf"
printf '[tokens]\nstore = ldap\n' >>"$T/noldap.conf"
"$PHIGUARDD" --check-config --config "$T/noldap.conf" >"$OUT" 2>&1 &&
	fail "store = ldap without [ldap] accepted"
expect_out 'store: ldap needs an \[ldap\] section' "store = ldap without [ldap]"
"$PHIGUARDD" --dump-config --config "$CONF" >"$OUT" 2>&1
expect_out '^store = ldap$' "--dump-config: store"
expect_out '^write_uri = ""$' "--dump-config: write_uri"

# A sealed secret (H-seal's site key) in the directory: phiguardctl
# seals it (here through a file-store import, the ldap one being
# phiguardctl's own work), the directory and the daemon only ever see
# the sealed text, the module opens it.
SEALED=$(site_sealed nurse2 "$SECRET3")
enroll a nurse2 "$SEALED" -

start_daemon
start_b
pam_service login
CONF_A=$CONF
CONF=$CONF_B pam_service loginb
CONF=$CONF_A

# --- a code used at A is refused at B ----------------------------------
wait_fresh_step
now=$(date +%s)
code=$(totp_code "$SECRET" SHA1 6 "$now")
expect_rc 0 "login at A" -- run_pam login nurse1 auth -a "$code"
expect_out '^auth: PAM_SUCCESS$' "login at A"
[ "$(last_step a nurse1)" = $((now / 30)) ] ||
	fail "directory step after A's login: $(last_step a nurse1), want $((now / 30))"
expect_rc 1 "same code at B" -- run_pam loginb nurse1 auth -a "$code"
expect_out '^auth: PAM_AUTH_ERR$' "same code at B"
expect_log 'user=nurse1; .*reason=replay$' "replay at B"

# The sealed one: handed on sealed, opened by the module.
pgreq "v1 PREAUTH user=nurse2" >"$OUT"
expect_lines "PREAUTH, sealed secret" \
	"v1 OK locked=no push=yes tokens=1 token0=nurse2%20SHA1%206%2030%20$(printf '%s' "$SEALED" | sed 's/=/%3D/g')"
expect_rc 0 "login with a sealed secret from the directory" -- \
	run_pam login nurse2 auth -a "$(totp_code "$SECRET3" SHA1 6 "$now")"
ldap_search a -b "$SLAPD_TOKEN_BASE" >"$T/dir.ldif"
grep -q "$SECRET3" "$T/dir.ldif" "$DAEMON_LOG" "$T/daemon-b.log" &&
	fail "the sealed secret in the clear in the directory or a log"

# --- who gets which token -----------------------------------------------
pgreq "v1 PREAUTH user=nurse1" "v1 PREAUTH user=billing1" \
	"v1 PREAUTH user=nosuchuser" "v1 PREAUTH user=Nurse1" >"$OUT"
expect_lines "PREAUTH as root" \
	"v1 OK locked=no push=yes tokens=1 token0=nurse1%20SHA1%206%2030%20$SECRET%20phone" \
	"v1 OK locked=no push=yes tokens=0" \
	"v1 OK locked=no push=yes tokens=0" \
	"v1 OK locked=no push=yes tokens=0"
pgreq_as nobody "v1 PREAUTH user=nobody" >"$OUT"
expect_lines "PREAUTH as nobody (non-root)" "v1 OK locked=no push=yes"
grep -q "$SECRET" "$DAEMON_LOG" "$T/daemon-b.log" && fail "a secret in a daemon log"
grep -q 'token0\.\.\.=(withheld)' "$DAEMON_LOG" || fail "no withheld mark in the decision log"

# --- failures spread over A and B lock at both; unlock clears both ------
for t in login loginb login loginb login; do
	run_pam "$t" nurse1 auth -a 000000 >/dev/null
done
pgreq "v1 PREAUTH user=nurse1" >"$OUT"
expect_out '^v1 OK locked=yes until=' "A: locked after 5 failures at A and B"
pgreq_b "v1 PREAUTH user=nurse1" >"$OUT"
expect_out '^v1 OK locked=yes until=' "B: locked after 5 failures at A and B"
at_time $((now + 30))
next=$(totp_code "$SECRET" SHA1 6 $((now + 30)))
expect_rc 1 "right code while locked, at B" -- run_pam loginb nurse1 auth -a "$next"
ctl unlock nurse1 >"$OUT" 2>&1 || fail "unlock at A: $(cat "$OUT")"
pgreq_b "v1 PREAUTH user=nurse1" >"$OUT"
expect_out '^v1 OK locked=no ' "B: unlocked by A's unlock"
expect_rc 0 "login at B after the unlock" -- run_pam loginb nurse1 auth -a "$next"
at_time ""
FLOOR=$(((now + 30) / 30 * 30))

# --- 1,000 concurrent claims of one step from A and B --------------------
start=$((($(date +%s) - RACE_ROUNDS * 30 - 60) / 30 * 30))
"$PY" "$PGCLIENT" "$SOCK" claimrace "$SOCK_B" frontdesk1 "$start" \
	"$RACE_ROUNDS" 30 >"$OUT" 2>&1
log "race: $(tr '\n' ' ' <"$OUT")"
expect_out "^rounds=$RACE_ROUNDS one=$RACE_ROUNDS none=0 both=0\$" \
	"exactly one claim accepted per round"
[ "$(last_step a frontdesk1)" = $((start / 30 + RACE_ROUNDS - 1)) ] ||
	fail "directory step after the race: $(last_step a frontdesk1)"

# A reload gives the token store its settings again; it goes on.
pgreq "v1 RELOAD" "v1 PREAUTH user=frontdesk1" >"$OUT"
expect_lines "reload, then PREAUTH" "v1 OK*" \
	"v1 OK locked=no push=yes tokens=1 token0=frontdesk1%20SHA1%206%2030%20$SECRET2%20phone"

# --- the directory cannot be reached ------------------------------------
stop_slapd a
pgreq "v1 PREAUTH user=billing1" >"$OUT"
expect_lines "PREAUTH, directory down" \
	"v1 ERR code=unavailable msg=directory-unreachable"
expect_rc 1 "login, directory down" -- run_pam login billing1 auth -a 123456
expect_out "$MSG_UNAVAIL" "login, directory down: the unavailable message"
expect_no_out '^prompt: ' "login, directory down: no prompt"
grep -q 'tokens: PREAUTH user=billing1: the directory did not answer' "$DAEMON_LOG" ||
	fail "no log line for the refusal"
restart_slapd a

# --- the write target fails over; the floor holds -----------------------
stop_b
sed -i "s|^uri = .*|uri = $SLAPD_URI_a $SLAPD_URI_b|" "$CONF"
sed -i "s|^\[ldap\]\$|[ldap]\nwrite_uri = $SLAPD_URI_a|" "$CONF"
start_b
pgreq_b "v1 STATUS" >"$OUT"
expect_out " tokens_store=ldap tokens_write_target=$SLAPD_URI_a tokens_write_failovers=0( |\$)" \
	"STATUS before the failover"
# The widest answer: with its three optional fields (audit_reason,
# state_reason, push_suspended_users) it must still fit a message.
max_fields=$(sed -n 's/^#define PG_PROTO_MAX_FIELDS *\([0-9]*\).*/\1/p' "$top_srcdir/common/proto.h")
n_fields=$(($(wc -w <"$OUT") - 2))
log "site-mode STATUS: $n_fields fields, PG_PROTO_MAX_FIELDS $max_fields"
[ $((n_fields + 3)) -le "${max_fields:-0}" ] ||
	fail "site-mode STATUS has $n_fields fields; with its 3 optional ones it exceeds PG_PROTO_MAX_FIELDS ($max_fields)"
stop_slapd a
# b never saw nurse1's claims; B's floor did.
pgreq_b "v1 CLAIM user=nurse1 step_start=$FLOOR report=yes" >"$OUT"
expect_lines "a step at the floor, on the new target" \
	"v1 ERR code=replay msg=step%20already%20used"
pgreq_b "v1 CLAIM user=nurse1 step_start=$((FLOOR + 30)) report=yes" >"$OUT"
expect_lines "a step above the floor, on the new target" \
	"v1 OK claimed=yes reported=yes"
pgreq_b "v1 STATUS" >"$OUT"
expect_out " tokens_write_target=$SLAPD_URI_b tokens_write_failovers=1( |\$)" \
	"STATUS after the failover"
[ "$(last_step b nurse1)" = $((FLOOR / 30 + 1)) ] ||
	fail "b's step after the failover: $(last_step b nurse1)"
grep -q "write target now $SLAPD_URI_b" "$T/daemon-b.log" ||
	fail "no log line for the failover"
stop_b

finish
