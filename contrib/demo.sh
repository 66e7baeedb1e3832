#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# The README's first command: build phiguard, start a throwaway slapd with
# the sample call-center directory (contrib/ldap/) and a phiguardd in a temp
# dir, enroll an agent, and log agents in through the real PAM stack
# (pam_wrapper + the built pam_phiguard.so, auth and account stages) with
# codes from oathtool and a push through the local provider emulator.
# Everything it starts is stopped by PID on exit, Ctrl-C or failure.
#   contrib/demo.sh [--keep]   --keep leaves it all running
set -eu

src="$(cd "$(dirname "$0")/.." && pwd)"
keep=no
case "${1:-}" in
--keep) keep=yes ;;
"") ;;
*)
	echo "usage: $0 [--keep]" >&2
	exit 2
	;;
esac

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "installing dependencies and building (build/)"
"$src/contrib/build.sh" "$src/build" --enable-werror >/dev/null
# The driver, and the test build of the module that finds the build
# tree's push client (Makefile.am).
make -s -C "$src/build" tests/integration/pamdrive \
	tests/integration/pam_phiguard.la >/dev/null

top_builddir="$src/build"
top_srcdir="$src"
export top_builddir top_srcdir
[ "$keep" = yes ] && PG_KEEP=1
# The demo uses the test harness: a slapd and a daemon in a temp dir,
# services in a private pam.d, pam_wrapper scoped to each login.
. "$src/tests/integration/lib.sh"
# push_lib.sh sources slapd.sh (throwaway slapd servers, the test CA).
. "$src/tests/integration/push_lib.sh"
# terminal.sh: more daemons, one per terminal of a site.
. "$src/tests/integration/terminal.sh"

# login_at WHERE SERVICE USER OPS [ANSWER]: one PAM transaction (auth
# and/or account) through SERVICE; print what the agent sees and the
# scopes the session gets, the verdict headed by WHERE (a terminal's name,
# or nothing for the demo's first daemon).
login_at() {
	_where=$1 _svc=$2 _user=$3 _ops=$4
	shift 4
	[ $# -eq 0 ] || set -- -a "$1"
	if run_pam "$_svc" "$_user" "$_ops" -e "$@"; then
		verdict="ALLOWED"
	else
		verdict="REFUSED"
	fi
	sed -n 's/^prompt: /  prompt>  /p; s/^info: /  info>    /p;
		s/^error: /  message> /p; s/^env: PHIGUARD_/  session: PHIGUARD_/p' "$OUT"
	printf '  %s%s: %s (%s)\n' "${_where:+$_where: }" "$_user" "$verdict" \
		"$(sed -n 's/^\(auth\|acct\): //p' "$OUT" | tr '\n' ' ' | sed 's/ $//')"
}

# login USER OPS [ANSWER]: login_at the demo's first daemon.
login() {
	login_at "" demo "$@"
}

# at A|B USER OPS [ANSWER]: login_at terminal A or B of the site (PAM
# services terma and termb: PAM lower-cases service names).
at() {
	_t=$1
	shift
	login_at "terminal $_t" "term$(printf '%s' "$_t" | tr AB ab)" "$@"
}

say "starting a throwaway slapd with the sample call-center directory"
# --oath: the OATH-LDAP schema and sample ACL (contrib/ldap), for the
# site of two terminals at the end.
start_slapd demo --oath
echo "  $SLAPD_URI_demo  base $SLAPD_BASE  (contrib/ldap/callcenter.ldif)"
echo "  agents: nurse1 nurse2 (nurses), frontdesk1, billing1, super1, norole1 (no role)"

say "starting the push provider emulator (Duo Auth API v2, local HTTPS)"
push_script '{"users": {"frontdesk1": {"push": "approve", "delay": 2, "device": "iPhone 15"}}}'
start_emulator duo
echo "  https://localhost:$EMU_PORT/ with a CA made just now"

say "starting phiguardd in $T"
write_push_config duo
cat >>"$CONF" <<CONF

[ldap]
uri = $SLAPD_URI_demo
base = $SLAPD_BASE
bind_dn = $SLAPD_SERVICE_DN
bind_password_file = $SLAPD_BINDPW

[role supervisor]
group = supervisors
scopes = phi.read phi.write phi.audit

[role nurse]
group = cn=nurses,ou=groups,$SLAPD_BASE
scopes = phi.read phi.clinical

[role frontdesk]
group = frontdesk
scopes = phi.demographics

[role billing]
group = billing
scopes = phi.billing

[role breakglass]
group = breakglass
scopes = phi.all
breakglass = yes
CONF
pam_service_stages demo
start_daemon
echo "  config: $CONF"
echo "  socket: $SOCK (pid $DAEMON_PID)"

say "enrolling nurse1 (scan this with an authenticator app)"
ctl enroll nurse1 --issuer "Mercy Call Center" | tee "$T/enroll.out"
secret=$(sed -n 's/.*[?&]secret=\([A-Z2-7]*\).*/\1/p' "$T/enroll.out" | head -n 1)
[ -n "$secret" ] || die "enroll printed no secret"
# norole1 has a token too: the second factor passes, the role check not.
ctl enroll norole1 >/dev/null
norole_secret=$(sed -n 's/^norole1 SHA1 6 30 \([A-Z2-7]*\).*/\1/p' "$TOKENS")

say "nurse1 logs in with the code on her phone (computed by oathtool)"
wait_fresh_step
login nurse1 auth,acct "$(totp_code "$secret")"
grep -q '^acct: PAM_SUCCESS$' "$OUT" || die "nurse1 was refused"
grep -q '^env: PHIGUARD_SCOPES=phi.read phi.clinical$' "$OUT" ||
	die "nurse1 did not get the nurse scopes"

say "a wrong code is refused"
login nurse1 auth 000000
grep -q '^auth: PAM_AUTH_ERR$' "$OUT" || die "a wrong code was accepted"

say "norole1 passes the second factor but has no role: refused"
login norole1 auth,acct "$(totp_code "$norole_secret")"
grep -q '^acct: PAM_PERM_DENIED$' "$OUT" || die "norole1 was not refused"

say "frontdesk1 presses Enter and approves the push on the phone (emulated Duo)"
ctl enroll frontdesk1 >/dev/null
login frontdesk1 auth,acct ""
grep -q '^acct: PAM_SUCCESS$' "$OUT" || die "the approved push was refused"
grep -q '^env: PHIGUARD_SCOPES=phi.demographics$' "$OUT" ||
	die "frontdesk1 did not get the front-desk scope"

say "why nurse1 gets what she gets"
ctl explain nurse1

if [ -x "$PHIGUARDCTL" ] && ctl audit verify >"$T/audit.out" 2>&1; then
	say "the audit trail is intact"
	cat "$T/audit.out"
fi

say "a site of two terminals: A and B keep their tokens in the directory"
# Two more daemons, as on two desks: each its own socket and state, both
# on the demo's directory ([tokens] store = ldap), secrets sealed with a
# site key, phiguardctl writing tokens with the admin's credential.
cat "$CONF" - >"$T/site.conf" <<CONF

[tokens]
store = ldap
key_file = $T/site.key
admin_bind_dn = $SLAPD_TOKEN_ADMIN_DN
admin_password_file = $SLAPD_ADMINPW
CONF
"$PHIGUARDCTL" --config "$T/site.conf" keygen >"$T/keygen.out" 2>&1 ||
	die "keygen: $(cat "$T/keygen.out")"
start_terminal A "$T/site.conf"
start_terminal B "$T/site.conf"
# Their PAM services: the module reads each one's config.
CONF_DEMO=$CONF
CONF=$CONF_A
pam_service_stages terma
CONF=$CONF_B
pam_service_stages termb
CONF=$CONF_DEMO
echo "  site key: $T/site.key (phiguardctl keygen): new secrets are sealed with it"
echo "  terminal A: $SOCK_A (pid $PID_A)"
echo "  terminal B: $SOCK_B (pid $PID_B)"

say "enrolling nurse1 once, in the directory, for every terminal"
"$PHIGUARDCTL" --config "$CONF_A" enroll nurse1 --issuer "Mercy Call Center" \
	>"$T/site-enroll.out" 2>&1 || die "enroll: $(cat "$T/site-enroll.out")"
site_secret=$(sed -n 's/.*[?&]secret=\([A-Z2-7]*\).*/\1/p' "$T/site-enroll.out" | head -n 1)
[ -n "$site_secret" ] || die "the directory enrollment printed no secret"
grep '^otpauth://' "$T/site-enroll.out" | sed 's/^/  /'
echo "  (and its QR code, as above)"
sealed=$(ldap_search demo -b "cn=nurse1,$SLAPD_TOKEN_BASE" -s base oathSecret |
	sed -n 's/^oathSecret: //p')
case "$sealed" in pgseal1:*) ;; *) die "the directory holds no sealed secret: $sealed" ;; esac
echo "  the directory holds it sealed: oathSecret: $(printf '%.40s' "$sealed")..."

say "nurse1 logs in at terminal A; the same code at terminal B is refused"
# Three codes of hers, one step apart, all inside the window ([totp]
# window = 1) for the whole of this step: the one that just went by, the
# current one, the next.
wait_fresh_step
now=$(date +%s)
code=$(totp_code "$site_secret" SHA1 6 $((now - 30)))
at A nurse1 auth,acct "$code"
grep -q '^env: PHIGUARD_SCOPES=phi.read phi.clinical$' "$OUT" ||
	die "nurse1 was refused at terminal A"
at B nurse1 auth,acct "$code"
grep -q '^auth: PAM_AUTH_ERR$' "$OUT" ||
	die "the code used at terminal A was accepted at terminal B"

say "she waits for her next code and logs in at terminal B"
at B nurse1 auth,acct "$(totp_code "$site_secret" SHA1 6 "$now")"
grep -q '^acct: PAM_SUCCESS$' "$OUT" || die "nurse1 was refused at terminal B"

say "five wrong codes, spread over A and B, lock nurse1 at both"
for t in A B A B A; do
	at "$t" nurse1 auth 000000 | grep -v '^  prompt>'
done
grep -q 'this account is locked' "$OUT" || die "nurse1 is not locked at terminal A"
# At B she is not even asked for a code.
next=$(totp_code "$site_secret" SHA1 6 $((now + 30)))
at B nurse1 auth "$next"
grep -q 'this account is locked' "$OUT" || die "nurse1 is not locked at terminal B"

say "the help desk unlocks her once, for the whole site"
"$PHIGUARDCTL" --config "$CONF_A" unlock nurse1 2>&1 | sed 's/^/  /'
at A nurse1 auth,acct "$next"
grep -q '^acct: PAM_SUCCESS$' "$OUT" || die "nurse1 was refused at A after the unlock"

if [ "$keep" = yes ]; then
	say "left running (--keep)"
	cat <<EOF2
  Try a login by hand (answer with: oathtool --totp -b $secret):
    env LD_PRELOAD=$PAM_WRAPPER_LIB PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR=$PAMD \\
      pamtester demo nurse1 authenticate acct_mgmt
  Status:  $PHIGUARDCTL --config $CONF status
  Explain: $PHIGUARDCTL --config $CONF explain super1
  Site:    terminals A and B: $PHIGUARDCTL --config $CONF_A status (or $CONF_B)
  Stop:    kill $DAEMON_PID $PID_A $PID_B $SLAPD_PID_demo $EMU_PID; rm -rf $T
EOF2
	DAEMON_PID=""
else
	say "done: stopping phiguardd, slapd and the emulator, removing $T"
fi
