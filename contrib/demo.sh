#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# The README's first command: build phiguard, start a throwaway phiguardd in
# a temp dir, enroll an agent, and log in through the real PAM stack
# (pam_wrapper + the built pam_phiguard.so) with codes from oathtool.
#   contrib/demo.sh [--keep]   --keep leaves the daemon running
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
make -s -C "$src/build" tests/integration/pamdrive >/dev/null

top_builddir="$src/build"
top_srcdir="$src"
export top_builddir top_srcdir
[ "$keep" = yes ] && PG_KEEP=1
# The demo uses the test harness: a daemon in a temp dir, services in
# a private pam.d, pam_wrapper scoped to each login.
. "$src/tests/integration/lib.sh"

# login USER CODE: one PAM authentication; print what the agent sees.
login() {
	if run_pam login "$1" auth -a "$2"; then
		verdict="ALLOWED"
	else
		verdict="REFUSED"
	fi
	sed -n 's/^prompt: /  prompt> /p; s/^error: /  message> /p' "$OUT"
	printf '  %s: %s (%s)\n' "$1" "$verdict" "$(sed -n 's/^auth: //p' "$OUT")"
}

say "starting phiguardd in $T"
write_config
pam_service login
start_daemon
echo "  config: $CONF"
echo "  socket: $SOCK (pid $DAEMON_PID)"

say "enrolling nurse1 (scan this with an authenticator app)"
ctl enroll nurse1 --issuer "Mercy Call Center" | tee "$T/enroll.out"
secret=$(sed -n 's/.*[?&]secret=\([A-Z2-7]*\).*/\1/p' "$T/enroll.out" | head -n 1)
[ -n "$secret" ] || die "enroll printed no secret"

say "nurse1 logs in with the code on her phone (computed by oathtool)"
wait_fresh_step
code=$(totp_code "$secret")
login nurse1 "$code"
grep -q '^auth: PAM_SUCCESS$' "$OUT" || die "the right code was refused"

say "someone replays the same code"
login nurse1 "$code"
grep -q '^auth: PAM_AUTH_ERR$' "$OUT" || die "a replayed code was accepted"

say "a guesser tries wrong codes until the account locks"
i=0
while [ $i -lt 5 ]; do
	run_pam login nurse1 auth -a 000000 || true
	i=$((i + 1))
done
login nurse1 "$(totp_code "$secret")"
grep -q 'locked until' "$OUT" || die "no lockout after 5 failures"

say "the admin checks the daemon and unlocks nurse1"
ctl status
ctl unlock nurse1

if [ "$keep" = yes ]; then
	say "left running (--keep)"
	cat <<EOF2
  Try a login by hand (answer with: oathtool --totp -b $secret):
    env LD_PRELOAD=$PAM_WRAPPER_LIB PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR=$PAMD \\
      pamtester login nurse1 authenticate
  Status:  $PHIGUARDCTL --config $CONF status
  Stop:    kill $DAEMON_PID; rm -rf $T
EOF2
	DAEMON_PID=""
else
	say "done: stopping phiguardd and removing $T"
fi
