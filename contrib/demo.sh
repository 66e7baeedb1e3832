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

# login USER OPS [ANSWER]: one PAM transaction (auth and/or account);
# print what the agent sees and the scopes the session gets.
login() {
	_user=$1 _ops=$2
	shift 2
	[ $# -eq 0 ] || set -- -a "$1"
	if run_pam demo "$_user" "$_ops" -e "$@"; then
		verdict="ALLOWED"
	else
		verdict="REFUSED"
	fi
	sed -n 's/^prompt: /  prompt>  /p; s/^info: /  info>    /p;
		s/^error: /  message> /p; s/^env: PHIGUARD_/  session: PHIGUARD_/p' "$OUT"
	printf '  %s: %s (%s)\n' "$_user" "$verdict" \
		"$(sed -n 's/^\(auth\|acct\): //p' "$OUT" | tr '\n' ' ' | sed 's/ $//')"
}

say "starting a throwaway slapd with the sample call-center directory"
start_slapd demo
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

if [ "$keep" = yes ]; then
	say "left running (--keep)"
	cat <<EOF2
  Try a login by hand (answer with: oathtool --totp -b $secret):
    env LD_PRELOAD=$PAM_WRAPPER_LIB PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR=$PAMD \\
      pamtester demo nurse1 authenticate acct_mgmt
  Status:  $PHIGUARDCTL --config $CONF status
  Explain: $PHIGUARDCTL --config $CONF explain super1
  Stop:    kill $DAEMON_PID $SLAPD_PID_demo $EMU_PID; rm -rf $T
EOF2
	DAEMON_PID=""
else
	say "done: stopping phiguardd, slapd and the emulator, removing $T"
fi
