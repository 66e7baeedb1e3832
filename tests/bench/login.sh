#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# The TOTP login path (not part of make check): in-process logins (auth +
# account) through libpam and the module (pamloop), the system calls of
# each stage (strace -f -c on pamdrive), and the connections the daemon
# accepts per login (its log at level 2 names each one with the pid).
#   tests/bench/login.sh BUILD_DIR      (as root, from a configured build)
# Knobs: BENCH_LOGINS (200) logins per round, BENCH_ROUNDS (3).

BENCH_ROOT_WHY="PAM logins as any user, a daemon and slapd"
. "$(dirname "$0")/start.sh"

BENCH_LOGINS="${BENCH_LOGINS:-200}"
BENCH_ROUNDS="${BENCH_ROUNDS:-3}"

. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/slapd.sh"
TESTNAME=login
. "$top_srcdir/tests/bench/lib.sh"
need strace pkg-config oathtool

SECRET=JBSWY3DPEHPK3PXP
PAMLOOP="$T/pamloop"
# shellcheck disable=SC2046 # pkg-config's flags are words
cc -O2 -Wall -Wextra -Werror -o "$PAMLOOP" "$top_srcdir/tests/bench/pamloop.c" \
	$(pkg-config --cflags --libs liboath) -lpam || die "cannot build pamloop"

# ------------------------------------------------------------ set-up
N=$((BENCH_LOGINS * BENCH_ROUNDS + 10))
start_slapd a
{
	i=0
	while [ "$i" -lt "$N" ]; do
		printf 'dn: uid=bench%d,ou=people,%s\nchangetype: add\nobjectClass: inetOrgPerson\nuid: bench%d\ncn: b\nsn: b\n\n' \
			"$i" "$SLAPD_BASE" "$i"
		i=$((i + 1))
	done
	printf 'dn: cn=nurses,ou=groups,%s\nchangetype: modify\nadd: member\n' "$SLAPD_BASE"
	i=0
	while [ "$i" -lt "$N" ]; do
		printf 'member: uid=bench%d,ou=people,%s\n' "$i" "$SLAPD_BASE"
		i=$((i + 1))
	done
} | ldap_modify a || die "cannot add the bench users"
write_ldap_config "$SLAPD_URI_a"
start_daemon
i=0
while [ "$i" -lt "$N" ]; do
	add_token "bench$i" SHA1 6 30 "$SECRET" phone
	i=$((i + 1))
done
{
	echo "auth     required $PAM_MODULE config=$CONF"
	echo "account  required $PAM_MODULE config=$CONF"
	echo "session  required $PAM_MODULE config=$CONF"
} >"$PAMD/bench"
printf 'auth required pam_deny.so\naccount required pam_deny.so\n' >"$PAMD/other"

# Warm the cache: the account stage measured is the warm one.
set --
i=0
while [ "$i" -lt "$N" ]; do
	set -- "$@" "v1 AUTHZ user=bench$i"
	i=$((i + 1))
done
pgreq "$@" | grep -vc 'allowed=yes' | grep -qx 0 || die "the bench users are not allowed"

pwrap() {
	env LD_PRELOAD="$PAM_WRAPPER_LIB" PAM_WRAPPER=1 \
		PAM_WRAPPER_SERVICE_DIR="$PAMD" "$@"
}

# ------------------------------------------------------------ timing
next=0
round=0
: >"$T/loop.out"
while [ "$round" -lt "$BENCH_ROUNDS" ]; do
	last=$((next + BENCH_LOGINS - 1))
	pwrap "$PAMLOOP" bench "bench%ld" "$next" "$last" "$SECRET" >>"$T/loop.out" ||
		die "pamloop failed"
	next=$((last + 1))
	round=$((round + 1))
done
bad=$(grep -vc 'rc_auth=0 rc_acct=0$' "$T/loop.out")
[ "$bad" -eq 0 ] || die "$bad logins failed: $(grep -v 'rc_auth=0 rc_acct=0$' "$T/loop.out" | head -n 3)"
for f in auth_us acct_us total_us; do
	printf '%s p50=%s\n' "$f" "$(sed -n "s/.*$f=\([0-9]*\).*/\1/p" "$T/loop.out" | median)"
done

# ------------------------------------------------------------ syscalls
# One stage per pamdrive run under strace -f: all its system calls, the
# same process with pam_permit in the module's place (the floor), and
# the module's own work: from its open of phiguard.conf (after libpam has
# loaded it and its libraries) to the process's end.
{
	echo "auth     required pam_permit.so"
	echo "account  required pam_permit.so"
	echo "session  required pam_permit.so"
} >"$PAMD/floor"
# syscalls TRACE [FROM_PATTERN]: calls in a strace -f -o file, from the
# first line matching FROM_PATTERN on if given.
syscalls() {
	awk -v from="${2:-}" 'from == "" || index($0, from) { on = 1 }
		on && /^[0-9]+ +[a-z_0-9]+\(/ { n++ } END { print n + 0 }' "$1"
}
strace_stage() {
	strace -f -o "$T/trace.$1.$2" env LD_PRELOAD="$PAM_WRAPPER_LIB" PAM_WRAPPER=1 \
		PAM_WRAPPER_SERVICE_DIR="$PAMD" "$PAMDRIVE" -s "$1" -u "$3" \
		-a "$(totp_code "$SECRET")" "$2" >"$T/drive.$1.$2" 2>&1 ||
		die "pamdrive $1 $2: $(cat "$T/drive.$1.$2")"
}
for ops in auth acct open; do
	u="bench$next"
	next=$((next + 1))
	strace_stage floor "$ops" "$u"
	strace_stage bench "$ops" "$u"
	printf 'syscalls %s: process=%s floor=%s module_own=%s\n' "$ops" \
		"$(syscalls "$T/trace.bench.$ops")" "$(syscalls "$T/trace.floor.$ops")" \
		"$(syscalls "$T/trace.bench.$ops" "$CONF\"")"
done

# ------------------------------------------------------------ accepts
# A full login in one process: connections the daemon logged for its pid.
u="bench$next"
env LD_PRELOAD="$PAM_WRAPPER_LIB" PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$PAMD" \
	"$PAMDRIVE" -s bench -u "$u" -a "$(totp_code "$SECRET")" auth,acct,open,close >"$T/drive.full" 2>&1 &
pid=$! # env execs pamdrive: the daemon sees this pid
wait "$pid" || die "full login failed: $(cat "$T/drive.full")"
printf 'per login (auth, account, session open and close): accepts=%s requests=%s\n' \
	"$(grep -c ": connection from uid [0-9]* gid [0-9]* pid $pid\$" "$DAEMON_LOG")" \
	"$(grep -Ec "\] [A-Z]+ user=$u uid=0 pid=$pid " "$DAEMON_LOG")"
printf 'load: %s -> %s\n' "$LOAD_START" "$(cut -d" " -f1-3 /proc/loadavg)"
finish
