#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# The benchmark of phiguard (not part of make check). One run prints every
# row of issue 13's table, each against a floor or anchor measured in the
# same run, on a directory as a site runs it (tests/bench/site.sh):
#   warm CHECK p50 (1 client) and CHECK/s (8 clients), pinned and
#     unpinned, vs a bare epoll AF_UNIX echo of the same message sizes;
#   the PAM account stage, warm, in-process, vs SSSD's pam_sss on the same
#     directory (Debian's sssd-ldap + libpam-sss, in a mount namespace);
#   cold AUTHZ after FLUSH vs the same searches by bare libldap on one
#     reused connection (tests/bench/ldapbench.c);
#   a TOTP login (auth + account), in-process, vs pam_oath's auth alone
#     with a one-user usersfile (Debian's libpam-oath);
#   the same login in site mode ([tokens] store = ldap, every agent
#     enrolled in the directory), beside the file-store one, vs bare
#     libldap making the token read and the claim's compare-and-swap
#     modify on one reused connection; one raw CLAIM vs that modify alone;
#   syscalls per login stage (strace -c), in the PAM process and in the
#     daemon;
#   memory per cached user and cold decisions at BENCH_USERS agents with and
#     without a uniqueMember index.
# It reports ratios and never fails on a figure: exit 0 unless the harness
# itself failed. A missing sssd or pam_oath gives a SKIP line for its row.
#   tests/bench/run.sh BUILD_DIR      (as root, from a configured build)
# Knobs (environment): BENCH_SECONDS (2) per warm round, BENCH_ROUNDS (3)
# alternating floor/phiguard rounds of every comparison, BENCH_AGENTS (2000)
# in the directory, BENCH_COLD (200) cold decisions a round, BENCH_PAM
# (200) account stages a round, BENCH_LOGINS (100) TOTP logins a round,
# BENCH_STRACE (10) stages traced, BENCH_LDAPSEARCH (20) ldapsearch
# replays, BENCH_USERS (100000; 0 skips the large directory), BENCH_BIG_COLD
# (20) cold decisions on it, BENCH_OUT (a file for the tables).
# The figures only mean something beside the floor measured in the same
# run (README.md, "Benchmark").
# shellcheck disable=SC2154 # SLAPD_*_NAME are set by start_slapd (eval)

BENCH_ROOT_WHY="CHECK/AUTHZ/FLUSH about other users, sssd, mount namespaces"
. "$(dirname "$0")/start.sh"

BENCH_SECONDS="${BENCH_SECONDS:-2}"
BENCH_ROUNDS="${BENCH_ROUNDS:-3}"
BENCH_AGENTS="${BENCH_AGENTS:-2000}"
BENCH_COLD="${BENCH_COLD:-200}"
BENCH_PAM="${BENCH_PAM:-200}"
BENCH_LOGINS="${BENCH_LOGINS:-100}"
BENCH_STRACE="${BENCH_STRACE:-10}"
BENCH_LDAPSEARCH="${BENCH_LDAPSEARCH:-20}"
BENCH_USERS="${BENCH_USERS:-100000}"
BENCH_BIG_COLD="${BENCH_BIG_COLD:-20}"

# A daemon and slapd in a temp dir, cleaned up (with every process started
# here) by lib.sh's EXIT trap.
. "$top_srcdir/tests/integration/lib.sh"
SLAPD_DEBUG=stats
. "$top_srcdir/tests/integration/slapd.sh"
. "$top_srcdir/tests/integration/terminal.sh"
TESTNAME=bench
. "$top_srcdir/tests/bench/lib.sh"
. "$top_srcdir/tests/bench/site.sh"
. "$top_srcdir/tests/bench/sssd.sh"

need oathtool
command -v strace >/dev/null 2>&1 || die "strace not found (apt-get install strace)"
PAMBENCH="$T/pambench"
LDAPBENCH="$T/ldapbench"
cc -O2 -Wall -Wextra -Werror -o "$PAMBENCH" \
	"$top_srcdir/tests/bench/pambench.c" -lpam -loath ||
	die "cannot build pambench (libpam0g-dev, liboath-dev)"
cc -O2 -Wall -Wextra -Werror -o "$LDAPBENCH" \
	"$top_srcdir/tests/bench/ldapbench.c" -lldap -llber ||
	die "cannot build ldapbench (libldap-dev)"
# TOTP logins need a user each (a code is accepted once per user and step).
[ "$BENCH_AGENTS" -ge $(((2 * BENCH_ROUNDS + 1) * BENCH_LOGINS + 2 * BENCH_STRACE + 5)) ] ||
	die "BENCH_AGENTS must be at least (2 * BENCH_ROUNDS + 1) * BENCH_LOGINS + 2 * BENCH_STRACE + 5"

ECHO_SOCK="$T/echo.sock"
ECHO_PID=""
echo_stop() {
	stop_pid "$ECHO_PID"
	ECHO_PID=""
}
CLEANUP_HOOKS="$CLEANUP_HOOKS echo_stop"

USER1=agent1
CHECK_LINE="v1 CHECK user=$USER1 scope=phi.read.clinical"
SECRET=JBSWY3DPEHPK3PXP
SKIPPED=""

# ------------------------------------------------------------ set-up
start_site_slapd a "$BENCH_AGENTS"
# A role granting the scope the warm benchmark asks for to every agent
# (nested two levels down); the decision log at its default level (info).
write_ldap_config "$SLAPD_URI_a" "
[role clinical]
group = all-agents
scopes = phi.read.clinical
"
sed -i 's/^log_level = .*/log_level = 1/' "$CONF"
i=0
while [ "$i" -lt "$BENCH_AGENTS" ]; do
	echo "agent$i SHA1 6 30 $SECRET phone"
	i=$((i + 1))
done >>"$TOKENS"
start_daemon

reply=$(pgreq "$CHECK_LINE" "$CHECK_LINE" | tail -n 1)
case "$reply" in
*allowed=yes*source=cache*) ;;
*) die "warm CHECK answered: $reply" ;;
esac
REPLY_BYTES=$(($(printf '%s' "$reply" | wc -c) + 1))
"$PGBENCH" --echo-server "$ECHO_SOCK" "$REPLY_BYTES" >>"$T/echo.log" 2>&1 &
ECHO_PID=$!
wait_socket "$ECHO_SOCK" "$ECHO_PID" "echo server"
say "CHECK reply ($REPLY_BYTES bytes): $reply"

# ------------------------------------------------------------ (1)+(2) warm
# run_round MODE CLIENTS KIND SOCKET ROUND
run_round() {
	if [ "$1" = pinned ]; then
		set -- "$@" taskset -c 0
	else
		set -- "$@" taskset -c "$ALLCPUS"
	fi
	_mode=$1 _c=$2 _kind=$3 _sock=$4 _round=$5
	shift 5
	_out=$("$@" "$PGBENCH" -c "$_c" -t "$BENCH_SECONDS" "$_sock" \
		"$CHECK_LINE" 2>>"$T/pgbench.err") ||
		die "pgbench $_kind $_mode c=$_c failed: $_out $(tail -n 3 "$T/pgbench.err")"
	record "$_mode" "$_c" "$_kind" "$_round" "$_out"
}

# record MODE CLIENTS KIND ROUND OUTPUT [RPS-FIELD]: one line of $RES
# (req/s or RPS-FIELD, p50, p99; "-" for a figure OUTPUT lacks).
record() {
	_rps=$(field "${6:-rps}" "$5") _p50=$(field p50_us "$5")
	_p99=$(field p99_us "$5")
	printf '%s %s %s %s %s %s %s\n' "$1" "$2" "$3" "$4" "${_rps:--}" \
		"${_p50:--}" "${_p99:--}" >>"$RES"
}

for mode in pinned unpinned; do
	pin "$mode" "$DAEMON_PID"
	pin "$mode" "$ECHO_PID"
	for c in 1 8; do
		# Warm-up (not recorded), then alternate floor and daemon.
		run_round "$mode" "$c" warmup "$SOCK" 0
		r=1
		while [ "$r" -le "$BENCH_ROUNDS" ]; do
			run_round "$mode" "$c" floor "$ECHO_SOCK" "$r"
			run_round "$mode" "$c" daemon "$SOCK" "$r"
			r=$((r + 1))
		done
		say "warm $mode c=$c done"
	done
done
echo_stop
pin unpinned "$DAEMON_PID"

# med MODE CLIENTS KIND COLUMN(rps|p50|p99)
med() {
	case "$4" in rps) _col=5 ;; p50) _col=6 ;; p99) _col=7 ;; esac
	awk -v m="$1" -v c="$2" -v k="$3" -v col="$_col" \
		'$1 == m && $2 == c && $3 == k { print $col }' "$RES" | median
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {
	if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else print "n/a" }'; }
meets() { awk -v v="$1" -v op="$2" -v t="$3" 'BEGIN {
	if (v == "n/a") { print "n/a"; exit }
	ok = (op == "<=") ? (v <= t) : (v >= t); print ok ? "yes" : "**no**" }'; }

# ------------------------------------------------------------ (3) cold
srch_count() { grep -c ' SRCH base=' "$SLAPD_DIR_a/log"; }
pgreq "v1 FLUSH user=$USER1" "v1 AUTHZ user=$USER1" >"$OUT"
grep -q 'allowed=yes.*source=fresh' "$OUT" ||
	die "cold AUTHZ did not come fresh from the directory: $(cat "$OUT")"
sleep 0.2
before=$(srch_count)
pgreq "v1 FLUSH user=$USER1" "v1 AUTHZ user=$USER1" >"$OUT"
sleep 0.5
after=$(srch_count)
PER=$((after - before))
[ "$PER" -gt 0 ] || die "no LDAP search seen for a cold decision"

# The searches of that cold decision, from slapd's stats log: base, scope,
# filter and attributes, one a line, for ldapbench and ldapsearch.
awk -v per="$PER" '
	function op(l) { match(l, /conn=[0-9]+ op=[0-9]+/); return substr(l, RSTART, RLENGTH) }
	/ SRCH base=/ {
		n++
		match($0, /base="[^"]*"/); base[n] = substr($0, RSTART + 6, RLENGTH - 7)
		match($0, /scope=[0-9]/); scope[n] = substr($0, RSTART + 6, 1)
		match($0, /filter=".*"$/); filt[n] = substr($0, RSTART + 8, RLENGTH - 9)
		key[n] = op($0)
		next
	}
	/ SRCH attr=/ {
		a = $0; sub(/.* SRCH attr=/, "", a); attrs[op($0)] = a
	}
	END {
		for (i = n - per + 1; i <= n; i++)
			printf "%s\t%s\t%s\t%s\n", base[i],
			    (scope[i] == 0 ? "base" : scope[i] == 1 ? "one" : "sub"),
			    filt[i], attrs[key[i]]
	}' "$SLAPD_DIR_a/log" >"$T/searches.tsv"
say "the $PER searches of one cold decision:"
sed 's/^/  /' "$T/searches.tsv" >&2

# From here on slapd without the stats log, for both sides.
# shellcheck disable=SC2034 # read by slapd.sh when it launches slapd
SLAPD_DEBUG=0
stop_slapd a
restart_slapd a
pgreq "v1 FLUSH user=$USER1" "v1 AUTHZ user=$USER1" >"$OUT"

cold_round() {
	_out=$("$PGBENCH" -c 1 -n "$BENCH_COLD" "$SOCK" "v1 FLUSH user=$USER1" \
		"v1 AUTHZ user=$USER1" 2>>"$T/pgbench.err") ||
		die "cold run failed: $_out $(tail -n 3 "$T/pgbench.err")"
	[ "$(field errors "$_out")" = 0 ] || say "cold round with errors: $_out"
	# Round 0 warms both up and is not counted.
	_k=daemon _f=floor
	[ "$1" = 0 ] && _k=warmup _f=warmup
	record cold 1 "$_k" "$1" "$_out"
	_out=$("$LDAPBENCH" -n "$BENCH_COLD" "$SLAPD_URI_a" "$SLAPD_SERVICE_DN" \
		"$SLAPD_BINDPW" "$T/searches.tsv" 2>>"$T/ldapbench.err") ||
		die "ldapbench failed: $(tail -n 3 "$T/ldapbench.err")"
	record cold 1 "$_f" "$1" "$_out"
	# Eight clients at once, each a cold decision of another agent: the
	# lookups are in flight together on the daemon's one connection.
	_out=$("$PGBENCH" -c 8 -r "1:$BENCH_COLD" "$SOCK" \
		"v1 FLUSH user=agent%d" "v1 AUTHZ user=agent%d" \
		2>>"$T/pgbench.err") ||
		die "8-client cold run failed: $_out $(tail -n 3 "$T/pgbench.err")"
	[ "$(field errors "$_out")" = 0 ] || say "8-client cold round with errors: $_out"
	record cold 8 "$_k" "$1" "$_out"
}
cold_round 0
r=1
while [ "$r" -le "$BENCH_ROUNDS" ]; do
	cold_round "$r"
	r=$((r + 1))
done
say "cold rounds done; ldapbench: $_out"

# One decision by hand, as a script would do it: each search its own
# ldapsearch (connect, simple bind as the service account, search).
ldapsearch_once() {
	while IFS="$(printf '\t')" read -r b s f a; do
		# shellcheck disable=SC2086 # attrs are separate words
		ldapsearch -x -LLL -H "$SLAPD_URI_a" -D "$SLAPD_SERVICE_DN" \
			-y "$SLAPD_BINDPW" -b "$b" -s "$s" "$f" $a >/dev/null ||
			return 1
	done <"$T/searches.tsv"
}
: >"$T/ldapsearch.us"
i=0
while [ "$i" -lt "$BENCH_LDAPSEARCH" ]; do
	t0=$(date +%s%N)
	ldapsearch_once || die "ldapsearch replay failed"
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 1000)) >>"$T/ldapsearch.us"
	i=$((i + 1))
done
LS_P50=$(median <"$T/ldapsearch.us")

# ------------------------------------------------------------ (4) PAM
# pam_wrapper scoped to the one command (tests/integration/lib.sh's rule).
pamb() {
	env LD_PRELOAD="$PAM_WRAPPER_LIB" PAM_WRAPPER=1 \
		PAM_WRAPPER_SERVICE_DIR="$PAMD" "$PAMBENCH" "$@"
}
printf 'auth required pam_deny.so\naccount required pam_deny.so\n' >"$PAMD/other"
echo "account required $PAM_MODULE config=$CONF" >"$PAMD/pg-acct"
echo "auth required $PAM_MODULE config=$CONF" >"$PAMD/pg-auth"
{
	echo "auth required $PAM_MODULE config=$CONF"
	echo "account required $PAM_MODULE config=$CONF"
} >"$PAMD/pg-login"
echo "account required pam_sss.so" >"$PAMD/sss-acct"
# What pam_start + pam_acct_mgmt + pam_end cost through the harness and
# pam_wrapper with a module that does nothing: the share of every row
# that is not the module's.
echo "account required pam_permit.so" >"$PAMD/permit-acct"
mkdir -p "$T/oath"
echo "auth required pam_oath.so usersfile=$T/oath/users.oath window=1 digits=6" \
	>"$PAMD/oath-auth"
printf 'HOTP/T30/6 %s - %s\n' "$USER1" \
	"$(python3 -c 'import base64, sys; print(base64.b32decode(sys.argv[1]).hex())' "$SECRET")" \
	>"$T/oath/users.first"
chmod 0600 "$T/oath/users.first"
OATH_RESET="$T/oath/users.first:$T/oath/users.oath"

# pam_round NAME KIND ROUND PAMBENCH-ARGS...: one timed round into $RES.
pam_round() {
	_name=$1 _kind=$2 _round=$3
	shift 3
	_out=$("$@" 2>>"$T/pambench.err") ||
		die "pambench $_name failed: $(tail -n 3 "$T/pambench.err")"
	[ "$(field errors "$_out")" = 0 ] ||
		say "$_name round $_round had failed stages: $_out $(tail -n 1 "$T/pambench.err")"
	# The req/s column holds pambench's mean.
	record "$_name" 1 "$_kind" "$_round" "$_out" mean_us
}

HAVE_SSSD=no
if sssd_available; then
	start_sssd "$SLAPD_URI_a" all-agents
	HAVE_SSSD=yes
else
	SKIPPED="$SKIPPED sssd"
	say "SKIP: the pam_sss row: sssd or pam_sss.so missing (apt-get install sssd-ldap libpam-sss; note that installing them adds sss to /etc/nsswitch.conf and pam_sss to /etc/pam.d/common-*)"
fi
HAVE_OATH=no
if [ -e /lib/x86_64-linux-gnu/security/pam_oath.so ]; then
	HAVE_OATH=yes
else
	SKIPPED="$SKIPPED pam_oath"
	say "SKIP: the pam_oath row: pam_oath.so missing (apt-get install libpam-oath)"
fi

# Both sides really decide: the agent in no group is refused.
for svc in pg-acct sss-acct; do
	[ "$svc" = sss-acct ] && [ "$HAVE_SSSD" = no ] && continue
	_ns=""
	[ "$svc" = sss-acct ] && _ns=in_sssd_ns
	# shellcheck disable=SC2086 # _ns: zero or one word
	_out=$($_ns env LD_PRELOAD="$PAM_WRAPPER_LIB" PAM_WRAPPER=1 \
		PAM_WRAPPER_SERVICE_DIR="$PAMD" "$PAMBENCH" -n 1 -w 0 "$svc" outsider \
		2>>"$T/pambench.err")
	[ "$(field errors "$_out")" = 1 ] ||
		die "$svc let uid=outsider (in no group) in: its row would measure nothing"
done

# Account stage, warm: the decision cached in phiguardd, the user in
# SSSD's cache (its warm-up cycles fetch it).
r=1
while [ "$r" -le "$BENCH_ROUNDS" ]; do
	pam_round acct daemon "$r" pamb -n "$BENCH_PAM" -w 5 pg-acct "$USER1"
	pam_round acct permit "$r" pamb -n "$BENCH_PAM" -w 5 permit-acct "$USER1"
	[ "$HAVE_SSSD" = yes ] &&
		pam_round acct sssd "$r" in_sssd_ns env LD_PRELOAD="$PAM_WRAPPER_LIB" \
			PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$PAMD" "$PAMBENCH" \
			-n "$BENCH_PAM" -w 5 sss-acct "$USER1"
	r=$((r + 1))
done
say "account rounds done"

# TOTP login: every phiguard cycle another agent (a code counts once per
# user), their decisions cached first so the account stage is warm, as
# for an agent who works here; pam_oath's one user, its usersfile reset
# before every cycle (untimed), is its best case. The auth stage alone
# (PREAUTH, verify, CLAIM) with the file store is the part of site mode's
# target row that does no directory I/O: its agents follow LAST_LOGIN.
FIRST_LOGIN=2
LAST_LOGIN=$((FIRST_LOGIN + (BENCH_ROUNDS + 1) * BENCH_LOGINS - 1))
FILE_AUTH_FIRST=$((LAST_LOGIN + 1))
FILE_AUTH_LAST=$((FILE_AUTH_FIRST + BENCH_ROUNDS * BENCH_LOGINS - 1))
warm=$("$PGBENCH" -c 1 -r "$FIRST_LOGIN:$FILE_AUTH_LAST" -e allowed=yes "$SOCK" \
	"v1 AUTHZ user=agent%d" 2>>"$T/pgbench.err") ||
	die "caching the login agents' decisions failed: $warm"
r=1
while [ "$r" -le "$BENCH_ROUNDS" ]; do
	[ "$HAVE_OATH" = yes ] &&
		pam_round totp oath "$r" pamb -n "$BENCH_LOGINS" -w 1 -o auth \
			-k "$SECRET" -r "$OATH_RESET" oath-auth "$USER1"
	pam_round totp daemon "$r" pamb -n "$BENCH_LOGINS" -w 0 \
		-s $((FIRST_LOGIN + r * BENCH_LOGINS)) -o auth,acct -k "$SECRET" \
		pg-login "agent%d"
	pam_round totp auth "$r" pamb -n "$BENCH_LOGINS" -w 0 \
		-s $((FILE_AUTH_FIRST + (r - 1) * BENCH_LOGINS)) -o auth -k "$SECRET" \
		pg-auth "agent%d"
	r=$((r + 1))
done
say "TOTP login rounds done"

# Site mode: the same login at a terminal whose tokens are in the
# directory ([tokens] store = ldap): a second daemon (terminal.sh) on a
# slapd of its own (site.sh's directory with the OATH-LDAP schema, every
# agent enrolled with SECRET; four times BENCH_AGENTS agents, so each
# kind of round below has fresh ones), its agents' decisions cached as
# above. Its floor: bare libldap making the one read a PREAUTH makes (the
# token entry: daemon/tokens/tokdir.c's read_token) and a claim's
# compare-and-swap modify as the daemon makes it for a login (delete the
# oathTOTPLastTimeStep value, add the next; oathLastLogin and
# oathFailureCount set in the same modify), on one reused connection. Before each round its agents are seen
# once (PREAUTH, untimed): the daemon keeps a user's link and the token's
# parameters a minute, so the login reads the token entry alone, as for
# an agent working here; the "link cold" rounds skip that (a user search,
# the token and its parameters: 3 reads); the "auth alone" rounds are the
# auth stage only (PREAUTH, verify, CLAIM). One raw CLAIM (known token,
# report=yes) against the compare-and-swap alone.
start_site_slapd tok $((4 * BENCH_AGENTS)) "$SECRET"
{
	sed "s|^uri = .*|uri = $SLAPD_URI_tok|" "$CONF"
	printf '\n[tokens]\nstore = ldap\n'
} >"$T/site.conf"
start_terminal S "$T/site.conf"
{
	echo "auth required $PAM_MODULE config=$CONF_S"
	echo "account required $PAM_MODULE config=$CONF_S"
} >"$PAMD/pg-site-login"
echo "auth required $PAM_MODULE config=$CONF_S" >"$PAMD/pg-site-auth"
TOKDN="cn=$USER1,$SLAPD_TOKEN_BASE"
# The claim's modify as the daemon makes it for a login (CLAIM report=yes):
# the step swapped, oathLastLogin set and oathFailureCount back to 0.
CLAIM_MODS="oathLastLogin=$(date -u +%Y%m%d%H%M%SZ) oathFailureCount=0"
printf '%s\tbase\t(objectClass=*)\t%s\ncas\t%s\toathTOTPLastTimeStep\t%s\n' "$TOKDN" \
	"oathSecret oathTOTPParams oathTOTPLastTimeStep oathFailureCount oathLastFailure description" \
	"$TOKDN" "$CLAIM_MODS" >"$T/site-ops.tsv"
printf 'cas\t%s\toathTOTPLastTimeStep\t%s\n' "$TOKDN" "$CLAIM_MODS" >"$T/cas-ops.tsv"
COLD_OFF=$BENCH_AGENTS
CLAIM_OFF=$((2 * BENCH_AGENTS))
AUTH_OFF=$((3 * BENCH_AGENTS))
for off in 0 "$COLD_OFF" "$CLAIM_OFF"; do
	warm=$("$PGBENCH" -c 1 -r "$((off + FIRST_LOGIN)):$((off + LAST_LOGIN))" \
		-e allowed=yes "$SOCK_S" "v1 AUTHZ user=agent%d" 2>>"$T/pgbench.err") ||
		die "caching the site agents' decisions failed: $warm"
done
# seen FIRST: PREAUTH of BENCH_LOGINS agents from agentFIRST on, untimed.
seen() {
	_out=$("$PGBENCH" -c 1 -r "$1:$(($1 + BENCH_LOGINS - 1))" -e tokens=1 \
		"$SOCK_S" "v1 PREAUTH user=agent%d" 2>>"$T/pgbench.err") ||
		die "PREAUTH of the site agents failed: $_out"
}
# ldapb OPS NAME ROUND: ldapbench on the token directory into $RES.
ldapb() {
	_out=$("$LDAPBENCH" -n "$BENCH_LOGINS" "$SLAPD_URI_tok" "$SLAPD_SERVICE_DN" \
		"$SLAPD_BINDPW" "$1" 2>>"$T/ldapbench.err") ||
		die "ldapbench failed: $(tail -n 3 "$T/ldapbench.err")"
	record "$2" 1 floor "$3" "$_out" mean_us
}
r=1
while [ "$r" -le "$BENCH_ROUNDS" ]; do
	first=$((FIRST_LOGIN + r * BENCH_LOGINS))
	ldapb "$T/site-ops.tsv" site "$r"
	seen "$first"
	pam_round site daemon "$r" pamb -n "$BENCH_LOGINS" -w 0 -s "$first" \
		-o auth,acct -k "$SECRET" pg-site-login "agent%d"
	pam_round site cold "$r" pamb -n "$BENCH_LOGINS" -w 0 \
		-s $((COLD_OFF + first)) -o auth,acct -k "$SECRET" pg-site-login "agent%d"
	seen $((AUTH_OFF + first))
	pam_round site auth "$r" pamb -n "$BENCH_LOGINS" -w 0 \
		-s $((AUTH_OFF + first)) -o auth -k "$SECRET" pg-site-auth "agent%d"
	ldapb "$T/cas-ops.tsv" claim "$r"
	seen $((CLAIM_OFF + first))
	_out=$("$PGBENCH" -c 1 -r "$((CLAIM_OFF + first)):$((CLAIM_OFF + first + BENCH_LOGINS - 1))" \
		-e claimed=yes "$SOCK_S" \
		"v1 CLAIM user=agent%d step_start=$(($(date +%s) / 30 * 30)) report=yes" \
		2>>"$T/pgbench.err") || die "site CLAIMs failed: $_out"
	[ "$(field errors "$_out")" = 0 ] || say "site CLAIM round $r had errors: $_out"
	record claim 1 daemon "$r" "$_out"
	r=$((r + 1))
done
pgreq_terminal S "v1 STATUS" >"$OUT"
SITE_STATUS="$(tr ' ' '\n' <"$OUT" | grep '^tokens_' | tr '\n' ' ')"
stop_terminal S
stop_slapd tok
say "site-mode rounds done ($SITE_STATUS)"

# ------------------------------------------------------------ (5) syscalls
# Per stage in the PAM process: (calls for 1 + N cycles - calls for 1) / N,
# so what pam_start/pam_end and loading cost once cancels out. In the
# daemon: strace attached to every thread while the N cycles run.
NEXT_USER=$((FILE_AUTH_LAST + 1))
strace_calls() { awk '$NF == "total" { print $4 }' "$1"; }
# traced NS FILE CYCLES PAMBENCH-ARGS...: pambench under strace -c into
# FILE, in sssd's namespace if NS is in_sssd_ns ("-": here); 1 unless
# every cycle succeeded (a failure costs other syscalls).
traced() {
	_ns=$1 _f=$2 _c=$3
	shift 3
	[ "$_ns" = - ] && _ns=""
	$_ns strace -f -c -o "$_f" env LD_PRELOAD="$PAM_WRAPPER_LIB" PAM_WRAPPER=1 \
		PAM_WRAPPER_SERVICE_DIR="$PAMD" "$PAMBENCH" -w 0 -n "$_c" "$@" \
		>"$_f.out" 2>>"$T/pambench.err" &&
		grep -q ' errors=0 ' "$_f.out"
}
# client_calls NAME NS PAMBENCH-ARGS...: syscalls per cycle in the PAM
# process ("n/a" if a traced run failed). With CC_FIRST=N set, every cycle
# is another agent (the args end in a "%d" user): the short run's is
# agent N, the long run's follow it.
client_calls() {
	_n=$1 _cns=$2
	shift 2
	_s1="" _s2=""
	if [ -n "${CC_FIRST:-}" ]; then
		_s1="-s $CC_FIRST" _s2="-s $((CC_FIRST + 1))"
	fi
	# shellcheck disable=SC2086 # _s1, _s2: zero or two words
	if traced "$_cns" "$T/strace.$_n.1" 1 $_s1 "$@" &&
		traced "$_cns" "$T/strace.$_n.N" $((BENCH_STRACE + 1)) $_s2 "$@"; then
		awk -v a="$(strace_calls "$T/strace.$_n.N")" \
			-v b="$(strace_calls "$T/strace.$_n.1")" -v n="$BENCH_STRACE" \
			'BEGIN { printf "%.0f", (a - b) / n }'
	else
		echo n/a
	fi
}
# daemon_calls PAMBENCH-ARGS...: syscalls per cycle in phiguardd.
daemon_calls() {
	strace -f -c -o "$T/strace.daemon" -p "$DAEMON_PID" 2>>"$T/strace.err" &
	_st=$!
	sleep 1 # attached to every thread before the first cycle
	pamb -w 0 -n "$BENCH_STRACE" "$@" >"$T/strace.daemon.out" \
		2>>"$T/pambench.err"
	sleep 0.3
	kill -INT "$_st"
	wait "$_st"
	if grep -q ' errors=0 ' "$T/strace.daemon.out"; then
		awk -v a="$(strace_calls "$T/strace.daemon")" -v n="$BENCH_STRACE" \
			'BEGIN { printf "%.0f", a / n }'
	else
		echo n/a
	fi
}
SC_AUTH_C=$(CC_FIRST=$NEXT_USER client_calls auth - -o auth -k "$SECRET" \
	pg-auth "agent%d")
NEXT_USER=$((NEXT_USER + BENCH_STRACE + 2))
SC_AUTH_D=$(daemon_calls -s "$NEXT_USER" -o auth -k "$SECRET" pg-auth "agent%d")
SC_ACCT_C=$(client_calls acct - pg-acct "$USER1")
SC_ACCT_D=$(daemon_calls pg-acct "$USER1")
SC_OATH=n/a
[ "$HAVE_OATH" = yes ] && SC_OATH=$(client_calls oath - -o auth -k "$SECRET" \
	-r "$OATH_RESET" oath-auth "$USER1")
SC_SSS=n/a
[ "$HAVE_SSSD" = yes ] && SC_SSS=$(client_calls sss in_sssd_ns sss-acct "$USER1")
stop_sssd
say "syscalls counted"

# ------------------------------------------------------------ (6) large
# A second directory with BENCH_USERS agents in groups of 1000, nested in
# one mapped group, slapd without the stats log: memory per cached user,
# then cold decisions with the test suite's uniqueMember index and without
# it, as a groupOfNames site runs it.
stop_daemon
# big_cold NAME FIRST: BENCH_BIG_COLD cold decisions, agents FIRST... .
big_cold() {
	_out=$("$PGBENCH" -c 1 -r "$2:$(($2 + BENCH_BIG_COLD - 1))" "$SOCK" \
		"v1 FLUSH user=bench%d" "v1 AUTHZ user=bench%d" 2>>"$T/pgbench.err") ||
		die "cold run on $BENCH_USERS agents failed: $_out"
	record "big-$1" 1 daemon 1 "$_out"
	say "cold on $BENCH_USERS agents, $1: $_out"
}
if [ "$BENCH_USERS" -gt 0 ]; then
	# First with the uniqueMember index the test suite once had, then
	# without it, as sites run slapd.
	# A groupOfNames-only site (site.sh's directory of 50 agents under
	# the bench users): the sample directory's groupOfUniqueNames group
	# would rightly make phiguardd search uniqueMember.
	SLAPD_EXTRA_INDEX="uniqueMember eq"
	start_site_slapd big 50
	unset SLAPD_EXTRA_INDEX
	stop_slapd big
	BIG_LDIF="$T/bench-users.ldif"
	NGROUPS=$(((BENCH_USERS + 999) / 1000))
	awk -v n="$BENCH_USERS" -v g="$NGROUPS" -v base="$SLAPD_BASE" 'BEGIN {
		for (i = 0; i < n; i++)
			printf "dn: uid=bench%d,ou=people,%s\nobjectClass: inetOrgPerson\nuid: bench%d\ncn: Bench Agent %d\nsn: Agent\n\n", i, base, i, i
		for (j = 0; j < g; j++) {
			printf "dn: cn=bench-%d,ou=groups,%s\nobjectClass: groupOfNames\ncn: bench-%d\n", j, base, j
			for (i = j * 1000; i < n && i < (j + 1) * 1000; i++)
				printf "member: uid=bench%d,ou=people,%s\n", i, base
			printf "\n"
		}
		printf "dn: cn=bench-agents,ou=groups,%s\nobjectClass: groupOfNames\ncn: bench-agents\n", base
		for (j = 0; j < g; j++)
			printf "member: cn=bench-%d,ou=groups,%s\n", j, base
		printf "\n"
	}' >"$BIG_LDIF"
	t0=$(date +%s)
	"$SLAPADD_BIN" -q -f "$SLAPD_DIR_big/slapd.conf" -l "$BIG_LDIF" \
		>>"$SLAPD_DIR_big/log" 2>&1 || die "slapadd of $BENCH_USERS users failed"
	say "slapadd of $BENCH_USERS users: $(($(date +%s) - t0)) s"
	restart_slapd big

	write_ldap_config "$SLAPD_URI_big" "
[role bench]
group = bench-agents
scopes = phi.read.clinical
"
	sed -i 's/^log_level = .*/log_level = 1/' "$CONF"
	start_daemon
	pgreq "v1 AUTHZ user=bench0" >"$OUT"
	grep -q 'allowed=yes' "$OUT" || die "bench0 not allowed: $(cat "$OUT")"
	sleep 0.5
	RSS0=$(rss_kib "$DAEMON_PID")
	t0=$(date +%s)
	warm=$("$PGBENCH" -c 32 -P 4 -r "1:$((BENCH_USERS - 1))" -e allowed=yes \
		"$SOCK" "v1 AUTHZ user=bench%d" 2>>"$T/pgbench.err") ||
		say "warm-up of $BENCH_USERS users reported errors: $warm $(tail -n 3 "$T/pgbench.err")"
	WARM_S=$(($(date +%s) - t0))
	sleep 0.5
	RSS1=$(rss_kib "$DAEMON_PID")
	status=$(pgreq "v1 STATUS")
	ENTRIES=$(field cache_entries "$status")
	# The entries are what was added; a second pass must be all cache hits.
	hits=$("$PGBENCH" -c 8 -P 16 -r "0:$((BENCH_USERS - 1))" -e source=cache \
		"$SOCK" "v1 CHECK user=bench%d scope=phi.read.clinical" 2>>"$T/pgbench.err") ||
		say "second pass not all cached: $hits"
	RSS2=$(rss_kib "$DAEMON_PID")
	PER_USER=$(awk -v a="$RSS1" -v b="$RSS0" -v n="$ENTRIES" \
		'BEGIN { printf "%.0f", (a - b) * 1024 / (n - 1) }')
	say "warm-up: $warm in ${WARM_S}s; VmRSS ${RSS0} -> ${RSS1} kB (${RSS2} after a CHECK pass: $hits)"

	if [ "$BENCH_BIG_COLD" -gt 0 ]; then
		big_cold indexed 1
		stop_slapd big
		sed -i '/^index uniqueMember eq$/d' "$SLAPD_DIR_big/slapd.conf"
		restart_slapd big
		pgreq "v1 FLUSH user=bench0" "v1 AUTHZ user=bench0" >"$OUT"
		big_cold unindexed $((BENCH_BIG_COLD + 1))
	fi
	stop_daemon
fi

# ------------------------------------------------------------ the tables
say "rounds (measure clients kind round req/s-or-mean p50_us p99_us):"
sed 's/^/  /' "$RES" >&2
# pam_med NAME KIND COLUMN: median over the rounds (mean|p50|p99).
pam_med() {
	case "$3" in mean) _c=rps ;; *) _c=$3 ;; esac
	med "$1" 1 "$2" "$_c"
}
# us N: microseconds, as "N µs" or "n/a".
us() { case "$1" in n/a | '') echo n/a ;; *) echo "$1 µs" ;; esac; }
{
	echo "### phiguard benchmark ($(date -u '+%Y-%m-%d %H:%M UTC'), Linux $(uname -r), $NCPU CPUs, load average $LOAD_START at the start, $(cut -d" " -f1-3 /proc/loadavg) at the end)"
	echo
	echo "Command: \`$CMDLINE\` (BENCH_SECONDS=$BENCH_SECONDS BENCH_ROUNDS=$BENCH_ROUNDS BENCH_AGENTS=$BENCH_AGENTS BENCH_COLD=$BENCH_COLD BENCH_PAM=$BENCH_PAM BENCH_LOGINS=$BENCH_LOGINS BENCH_STRACE=$BENCH_STRACE BENCH_USERS=$BENCH_USERS BENCH_BIG_COLD=$BENCH_BIG_COLD)"
	echo
	echo "Directory: $BENCH_AGENTS agents, each in all-agents through two levels of nesting, indexed as the OpenLDAP admin guide's examples (no uniqueMember index); plain LDAP on loopback. Medians of $BENCH_ROUNDS alternating rounds; the ratio is phiguard / floor (for SSSD: SSSD / phiguard)."
	[ -n "$SKIPPED" ] && echo && echo "SKIPPED (not installed):$SKIPPED"
	echo
	fp50=$(med pinned 1 floor p50)
	dp50=$(med pinned 1 daemon p50)
	frps=$(med pinned 8 floor rps)
	drps=$(med pinned 8 daemon rps)
	acct_pg=$(pam_med acct daemon p50)
	acct_sss=n/a
	[ "$HAVE_SSSD" = yes ] && acct_sss=$(pam_med acct sssd p50)
	cold_pg=$(med cold 1 daemon p50)
	cold_ld=$(med cold 1 floor p50)
	totp_pg=$(pam_med totp daemon p50)
	totp_oath=n/a
	[ "$HAVE_OATH" = yes ] && totp_oath=$(pam_med totp oath p50)
	echo "| measure | floor / anchor | phiguard | ratio | target | met |"
	echo "|---|---|---|---|---|---|"
	r=$(ratio "$dp50" "$fp50")
	echo "| warm CHECK p50, 1 client pinned | bare epoll echo $fp50 µs | $dp50 µs | ${r}× | ≤ 1.2× | $(meets "$r" '<=' 1.2) |"
	r=$(ratio "$drps" "$frps")
	echo "| 8-client CHECK/s, pinned | echo $frps/s | $drps/s | ${r}× | ≥ 0.9× | $(meets "$r" '>=' 0.9) |"
	r=$(ratio "$acct_sss" "$acct_pg")
	echo "| PAM account stage p50, warm, in-process | SSSD pam_sss, same directory: $(us "$acct_sss") | $acct_pg µs | ${r}× faster | ≥ 50× | $(meets "$r" '>=' 50) |"
	r=$(ratio "$cold_pg" "$cold_ld")
	echo "| cold AUTHZ p50 after FLUSH | the same $PER searches by bare libldap on a reused connection: $cold_ld µs | $cold_pg µs | ${r}× | ≤ 1.05× | $(meets "$r" '<=' 1.05) |"
	r=$(ratio "$totp_pg" "$totp_oath")
	echo "| TOTP login p50, auth + account, in-process | pam_oath auth alone, one-user usersfile: $(us "$totp_oath") | $totp_pg µs | ${r}× | ≤ 1.0× | $(meets "$r" '<=' 1.0) |"
	site_pg=$(pam_med site daemon p50)
	site_ld=$(pam_med site floor p50)
	site_auth=$(pam_med site auth p50)
	# Issue 16's target is the login's second factor: "verify + claim",
	# the auth stage (PREAUTH, the code checked, CLAIM).
	r=$(ratio "$site_auth" "$site_ld")
	echo "| site-mode login p50 ([tokens] store = ldap), verify + claim: the auth stage, in-process | one search + one compare-and-swap modify by bare libldap on a reused connection: $site_ld µs | $site_auth µs | ${r}× | ≤ 1.3× | $(meets "$r" '<=' 1.3) |"
	# The share of that row no token store can remove: the same auth
	# stage with the file store (no directory I/O), and the least any
	# auth stage costs in this harness, pam_permit's stage plus the two
	# daemon round trips (PREAUTH, CLAIM) as bare socket echoes.
	file_auth=$(pam_med totp auth p50)
	r=$(ratio "$file_auth" "$site_ld")
	echo "| the same auth stage p50 with the file store (no directory I/O) | the same search + modify: $site_ld µs | $file_auth µs | ${r}× | | |"
	permit=$(pam_med acct permit p50)
	echo_up=$(med unpinned 1 floor p50)
	least=$(awk -v f="$site_ld" -v p="$permit" -v e="$echo_up" 'BEGIN {
		if (f + 0 > 0 && p + 0 > 0 && e + 0 > 0) printf "%.0f", f + p + 2 * e; else print "n/a" }')
	r=$(ratio "$least" "$site_ld")
	echo "| the least a site-mode auth stage can cost here: the search + modify, pam_permit's stage ($permit µs) and two bare socket round trips (unpinned echo, $echo_up µs each) | the same search + modify: $site_ld µs | $least µs | ${r}× | | |"
	r=$(ratio "$site_pg" "$site_ld")
	echo "| TOTP login p50, site mode, auth + account, in-process (file store, the row above: $totp_pg µs) | the same search + modify: $site_ld µs | $site_pg µs | ${r}× | | |"
	site_add=$(awk -v a="$site_pg" -v b="$totp_pg" 'BEGIN {
		if (a + 0 > 0 && b + 0 > 0) printf "%.0f", a - b; else print "n/a" }')
	r=$(ratio "$site_add" "$site_ld")
	echo "| what site mode adds to a login p50 (the two rows above: site − file store) | the same search + modify: $site_ld µs | $site_add µs | ${r}× | | |"
	claim_pg=$(med claim 1 daemon p50)
	claim_ld=$(med claim 1 floor p50)
	r=$(ratio "$claim_pg" "$claim_ld")
	echo "| one CLAIM p50, site mode (raw protocol, known token, report=yes) | the compare-and-swap modify alone, bare libldap: $claim_ld µs | $claim_pg µs | ${r}× | | |"
	echo
	echo "Warm \`$CHECK_LINE\` ($REPLY_BYTES-byte reply) vs. the echo; ${BENCH_SECONDS}s rounds. Pinned: server and client on CPU 0 (taskset -c 0)."
	echo
	echo "| placement | clients | floor p50/p99 µs | floor req/s | phiguardd p50/p99 µs | decisions/s | p50 ratio | throughput ratio |"
	echo "|---|---|---|---|---|---|---|---|"
	for mode in pinned unpinned; do
		for c in 1 8; do
			echo "| $mode | $c | $(med "$mode" "$c" floor p50) / $(med "$mode" "$c" floor p99) | $(med "$mode" "$c" floor rps) | $(med "$mode" "$c" daemon p50) / $(med "$mode" "$c" daemon p99) | $(med "$mode" "$c" daemon rps) | $(ratio "$(med "$mode" "$c" daemon p50)" "$(med "$mode" "$c" floor p50)")× | $(ratio "$(med "$mode" "$c" daemon rps)" "$(med "$mode" "$c" floor rps)")× |"
		done
	done
	echo
	echo "| in-process and cold detail (unpinned) | p50 / p99 / mean |"
	echo "|---|---|"
	echo "| account stage, phiguard ($BENCH_PAM a round) | $(pam_med acct daemon p50) / $(pam_med acct daemon p99) / $(pam_med acct daemon mean) µs |"
	[ "$HAVE_SSSD" = yes ] &&
		echo "| account stage, SSSD pam_sss | $(pam_med acct sssd p50) / $(pam_med acct sssd p99) / $(pam_med acct sssd mean) µs |"
	echo "| account stage, pam_permit (harness, pam_wrapper and libpam alone) | $(pam_med acct permit p50) / $(pam_med acct permit p99) / $(pam_med acct permit mean) µs |"
	echo "| TOTP login auth + account, phiguard ($BENCH_LOGINS a round, another agent each) | $(pam_med totp daemon p50) / $(pam_med totp daemon p99) / $(pam_med totp daemon mean) µs |"
	[ "$HAVE_OATH" = yes ] &&
		echo "| TOTP auth, pam_oath, one-user usersfile | $(pam_med totp oath p50) / $(pam_med totp oath p99) / $(pam_med totp oath mean) µs |"
	echo "| TOTP login auth + account, site mode, link and parameters known (read 1 entry) | $(pam_med site daemon p50) / $(pam_med site daemon p99) / $(pam_med site daemon mean) µs |"
	echo "| TOTP login auth + account, site mode, link cold (user search, token, parameters) | $(pam_med site cold p50) / $(pam_med site cold p99) / $(pam_med site cold mean) µs |"
	echo "| TOTP auth alone (PREAUTH, verify, CLAIM), file store | $(pam_med totp auth p50) / $(pam_med totp auth p99) / $(pam_med totp auth mean) µs |"
	echo "| TOTP auth alone (PREAUTH, verify, CLAIM), site mode, link known | $(pam_med site auth p50) / $(pam_med site auth p99) / $(pam_med site auth mean) µs |"
	echo "| token read + compare-and-swap modify, bare libldap, one connection | $(pam_med site floor p50) / $(pam_med site floor p99) / $(pam_med site floor mean) µs |"
	echo "| CLAIM in site mode, raw protocol ($BENCH_LOGINS a round) | $(med claim 1 daemon p50) / $(med claim 1 daemon p99) µs |"
	echo "| compare-and-swap modify alone, bare libldap | $(pam_med claim floor p50) / $(pam_med claim floor p99) / $(pam_med claim floor mean) µs |"
	echo "| site terminal's STATUS at the end | $SITE_STATUS |"
	echo "| cold AUTHZ through phiguardd ($BENCH_COLD a round) | $(med cold 1 daemon p50) / $(med cold 1 daemon p99) µs |"
	echo "| the same $PER searches, bare libldap, one connection | $(med cold 1 floor p50) / $(med cold 1 floor p99) µs |"
	echo "| cold AUTHZ, 8 clients at once, another agent each ($BENCH_COLD a round) | $(med cold 8 daemon p50) / $(med cold 8 daemon p99) µs, $(med cold 8 daemon rps) decisions/s |"
	echo "| the same $PER searches as $PER \`ldapsearch\` processes (connect + bind each), p50 | $LS_P50 µs ($BENCH_LDAPSEARCH replays) |"
	echo
	echo "| syscalls per login stage (strace -c, mean of $BENCH_STRACE) | PAM process | phiguardd |"
	echo "|---|---|---|"
	echo "| phiguard auth (TOTP) | $SC_AUTH_C | $SC_AUTH_D |"
	echo "| phiguard account (warm) | $SC_ACCT_C | $SC_ACCT_D |"
	echo "| pam_oath auth | $SC_OATH | |"
	echo "| pam_sss account | $SC_SSS | (sssd not traced) |"
	echo
	if [ "$BENCH_USERS" -gt 0 ]; then
		echo "| $BENCH_USERS agents (groups of 1000 in one mapped group) | figure | target | met |"
		echo "|---|---|---|---|"
		echo "| phiguardd VmRSS, 1 user cached -> $ENTRIES cached | $RSS0 kB -> $RSS1 kB | | |"
		echo "| bytes per cached user | $PER_USER | ≤ 1024 | $(meets "$PER_USER" '<=' 1024) |"
		echo "| cold warm-up of $((BENCH_USERS - 1)) users (32 conns, pipelined, uniqueMember indexed) | ${WARM_S} s, $(field rps "$warm") decisions/s, errors=$(field errors "$warm") | | |"
		if [ "$BENCH_BIG_COLD" -gt 0 ]; then
			echo "| cold decision p50 / p99, uniqueMember indexed | $(med big-indexed 1 daemon p50) / $(med big-indexed 1 daemon p99) µs | | |"
			echo "| cold decision p50 / p99, no uniqueMember index (as sites run it) | $(med big-unindexed 1 daemon p50) / $(med big-unindexed 1 daemon p99) µs | | |"
		fi
	else
		echo "SKIPPED: the $BENCH_USERS-agent directory (BENCH_USERS=0)."
	fi
} | tee "$T/table.md"
[ -n "${BENCH_OUT:-}" ] && cp "$T/table.md" "$BENCH_OUT"
exit 0
