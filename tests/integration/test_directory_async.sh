#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Cold lookups driven from the event loop (issue #13), against real slapd
# servers and a real phiguardd: several cold lookups are in flight at once
# on one connection (slapd's stats log sees every user search of a burst
# before the first group search), and they end together; while they wait
# on a frozen server, cached answers and STATUS are not delayed; the
# per-search deadline gives up on a frozen server at search_timeout and
# every lookup waiting on it fails over to the next server together; and
# a server that hangs while the connecting thread connects (a frozen
# ldaps:// server, a frozen server asked for StartTLS, one that stalls in
# the StartTLS handshake) neither blocks the event loop nor makes the
# daemon spin, and the lookup fails over; a connection the server closes while idle is let go at once and the next
# lookup connects again.
# shellcheck disable=SC2154 # SLAPD_*_NAME are set by start_slapd (eval)
. "${top_srcdir:?}/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/slapd.sh"
need python3

SLAPD_DEBUG=stats start_slapd a
start_slapd b
start_slapd c --tls
start_slapd d --tls

# Cold users of the sample directory besides nurse1 (kept warm).
USERS="frontdesk1 frontdesk2 nurse2 billing1 super1 norole1"
NUSERS=6
# Under memcheck everything is slower: bounds here are generous.
SLOW_MS=1000
[ -z "${VALGRIND:-}" ] || SLOW_MS=8000

# ldap_config URIS KEY=VALUE...: lib.sh's directory config and timeouts.
ldap_config() {
	_uris=$1
	shift
	write_ldap_config "$_uris"
	for _kv in "$@"; do
		sed -i "s|^\[ldap\]\$|[ldap]\n$_kv|" "$CONF"
	done
}

# burst: one cold AUTHZ per user of USERS at once, each reply in
# $T/reply.USER; returns once all are sent.
burst() {
	for _u in $USERS; do
		pgreq "v1 AUTHZ user=$_u" >"$T/reply.$_u" 2>&1 &
	done
}

# all_answered PATTERN: every reply of the burst matches the ERE.
all_answered() {
	for _u in $USERS; do
		grep -Eq -- "$1" "$T/reply.$_u" || return 1
	done
}

# loop_ticks: the user + system time of the daemon's event loop (its main
# thread) so far, in clock ticks.
loop_ticks() {
	awk '{ print $14 + $15 }' "/proc/$DAEMON_PID/task/$DAEMON_PID/stat"
}

# daemon_ticks: the same for the whole daemon, every thread it has run
# (ended ones included).
daemon_ticks() {
	awk '{ print $14 + $15 }' "/proc/$DAEMON_PID/stat"
}

# prompt WHAT PATTERN REQUEST: REQUEST is answered (a line matching the
# ERE PATTERN) within SLOW_MS.
prompt() {
	pgreq_timed "$3"
	log "$1: $PGREQ_MS ms"
	expect_out "$2" "$1"
	[ "$PGREQ_MS" -lt "$SLOW_MS" ] || fail "$1: waited $PGREQ_MS ms"
}

# misses: the daemon's cache misses so far (STATUS).
misses() {
	pgreq "v1 STATUS" | sed -n 's/.* cache_misses=\([0-9]*\).*/\1/p'
}

# missed N: the daemon has had N cache misses.
missed() {
	[ "$(misses)" = "$1" ]
}

# searches_after N: the filters of the searches slapd a logged after line
# N of its log, in the order the daemon sent them (operation numbers:
# slapd's threads may log them in another order).
searches_after() {
	tail -n "+$(($1 + 1))" "$SLAPD_DIR_a/log" |
		sed -n 's/.* op=\([0-9]*\) SRCH base=.* filter="\([^"]*\)".*/\1 \2/p' |
		sort -n | cut -d' ' -f2-
}

# --- several lookups in flight at once -----------------------------------
ldap_config "$SLAPD_URI_a" "search_timeout = 10" "network_timeout = 2"
start_daemon
pgreq "v1 AUTHZ user=nurse1" >"$OUT"
expect_out '^v1 OK allowed=yes ' "a first lookup (the connection is up)"

freeze_slapd a
n0=$(wc -l <"$SLAPD_DIR_a/log")
m0=$(misses)
burst
# Every request is parked on the frozen server, its user search sent at
# once: wait until the daemon has them all.
wait_for 20 missed $((m0 + NUSERS)) ||
	die "the burst did not reach the daemon: $(misses) misses, $m0 before"
# A cached answer and STATUS are not delayed by the lookups in flight.
prompt "CHECK of a cached user, $NUSERS lookups on a frozen server" \
	'^v1 OK allowed=yes ' "v1 CHECK user=nurse1 scope=phi.read"
ctl status >"$T/status" 2>&1 || fail "status during the lookups: $(cat "$T/status")"
! all_answered '.' || fail "lookups answered while their server is frozen"

t0=$(now_ms)
thaw_slapd a
wait_for 20 all_answered '^v1 OK allowed=(yes|no) ' ||
	fail "the burst was not answered after the thaw: $(cat "$T"/reply.*)"
ms=$(($(now_ms) - t0))
log "$NUSERS cold lookups in flight, answered ${ms} ms after the thaw"
grep -q 'allowed=yes' "$T/reply.nurse2" || fail "nurse2: $(cat "$T/reply.nurse2")"
grep -q 'allowed=no' "$T/reply.norole1" || fail "norole1: $(cat "$T/reply.norole1")"
# In slapd's order: every user search of the burst before the first group
# search (one lookup at a time would search user, groups, user, ...).
searches_after "$n0" >"$T/filters"
first_group=$(grep -nv '^(uid=' "$T/filters" | head -n 1 | cut -d: -f1)
users_before=$(head -n "$((${first_group:-1} - 1))" "$T/filters" | grep -c '^(uid=')
[ "$users_before" -eq "$NUSERS" ] ||
	fail "$users_before user searches before the first group search, want $NUSERS: $(cat "$T/filters")"
stop_daemon

# --- the deadline: a frozen server's lookups fail over together ----------
ldap_config "$SLAPD_URI_a $SLAPD_URI_b" "search_timeout = 1" "network_timeout = 1"
start_daemon
pgreq "v1 AUTHZ user=nurse1" >"$OUT"
expect_out '^v1 OK allowed=yes ' "a first lookup, on a"
freeze_slapd a
t0=$(now_ms)
burst
wait_for 20 all_answered '^v1 OK allowed=(yes|no) ' ||
	fail "the burst did not fail over: $(cat "$T"/reply.*)"
ms=$(($(now_ms) - t0))
log "$NUSERS cold lookups, first server frozen, answered by the second in $ms ms"
# One search_timeout (1 s) on a, then b: not one per lookup.
[ "$ms" -lt $((3000 + SLOW_MS)) ] || fail "failover of the burst took $ms ms"
grep -q "directory: $SLAPD_URI_a: search: Timed out" "$DAEMON_LOG" ||
	fail "no search timeout logged for the frozen server"
ctl status >"$T/status" 2>&1 || fail "status: $(cat "$T/status")"
grep -q "$SLAPD_URI_b" "$T/status" || fail "not on the second server: $(cat "$T/status")"
# Cached users are answered as before.
pgreq "v1 CHECK user=nurse1 scope=phi.read" >"$OUT"
expect_out '^v1 OK allowed=yes ' "cached CHECK after the failover"
thaw_slapd a
stop_daemon

# --- the server closes the idle connection ------------------------------
ldap_config "$SLAPD_URI_b" "search_timeout = 1" "network_timeout = 1"
start_daemon
pgreq "v1 AUTHZ user=nurse1" >"$OUT"
expect_out '^v1 OK allowed=yes ' "a first lookup, on b"
stop_slapd b
wait_for 10 grep -q "directory: $SLAPD_URI_b: connection closed while idle" "$DAEMON_LOG" ||
	fail "the closed idle connection was not noticed"
ticks0=$(loop_ticks)
sleep 1
ticks=$(($(loop_ticks) - ticks0))
[ -n "${VALGRIND:-}" ] || [ "$ticks" -lt 30 ] ||
	fail "the event loop used $ticks ticks of CPU after the server closed"
restart_slapd b
pgreq "v1 AUTHZ user=nurse2" >"$OUT"
expect_out '^v1 OK allowed=yes ' "a cold lookup on a new connection"
grep -q "directory: $SLAPD_URI_b failed" "$DAEMON_LOG" &&
	fail "an idle connection closed by the server was taken for a failure"

# --- idle, the loop wakes about once a second -----------------------------
# The authorization timer ticks every 100 ms only while a lookup is in
# flight (a parked login's deadline); otherwise once a second.
loop_wakes() {
	awk '/^voluntary_ctxt_switches/ { print $2 }' \
		"/proc/$DAEMON_PID/task/$DAEMON_PID/status"
}
sleep 1
w0=$(loop_wakes)
sleep 3
wakes=$(($(loop_wakes) - w0))
log "idle: the loop woke $wakes times in 3 s"
[ -n "${VALGRIND:-}" ] || [ "$wakes" -le 10 ] ||
	fail "an idle loop woke $wakes times in 3 s (a 100 ms tick: about 30)"
stop_daemon

# past_hung URIS WHAT LOGGED KEY=VALUE...: with the first of URIS hung
# (network_timeout 1 s), a cold AUTHZ fails over to the second while the
# loop answers STATUS, the daemon logs LOGGED (an ERE) and neither the loop
# nor the daemon spins: a second of waiting, not of spinning (memcheck
# costs CPU of its own).
past_hung() {
	_uris=$1 _what=$2 _logged=$3
	shift 3
	ldap_config "$_uris" "search_timeout = 1" "network_timeout = 1" \
		"tls_cacert = $SLAPD_TLS_DIR/ca.pem" "$@"
	start_daemon
	_ticks0=$(loop_ticks)
	_all0=$(daemon_ticks)
	_t0=$(now_ms)
	pgreq "v1 AUTHZ user=nurse1" >"$T/reply.hung" 2>&1 &
	wait_for 20 missed 1 || die "the cold AUTHZ did not reach the daemon"
	prompt "STATUS while $_what" '^v1 OK ' "v1 STATUS"
	wait_for 20 grep -q '^v1 OK allowed=yes ' "$T/reply.hung" ||
		fail "no failover past $_what: $(cat "$T/reply.hung")"
	_ms=$(($(now_ms) - _t0))
	_ticks=$(($(loop_ticks) - _ticks0))
	_all=$(($(daemon_ticks) - _all0))
	log "cold AUTHZ past $_what: $_ms ms, $_ticks ticks of the loop's CPU, $_all of the daemon's"
	grep -Eq "$_logged" "$DAEMON_LOG" || fail "$_what: nothing logged matches $_logged"
	[ "$_ms" -ge 900 ] || fail "past $_what in $_ms ms: was it tried?"
	[ -n "${VALGRIND:-}" ] || [ "$_ticks" -lt 30 ] ||
		fail "the event loop used $_ticks ticks of CPU while $_what"
	[ -n "${VALGRIND:-}" ] || [ "$_all" -lt 30 ] ||
		fail "the daemon used $_all ticks of CPU while $_what"
	stop_daemon
}

# --- a hung server while connecting does not hold the loop --------------
# The connecting thread waits; libldap with a network timeout spins in
# the TLS handshake itself (1.7 CPU-seconds a second before ldapconn.c's
# handshake_blocking); without one it waits in recv(2) until the
# watchdog shuts the socket down.
# A frozen ldaps:// server: the handshake never starts; the watchdog.
freeze_slapd c
past_hung "$SLAPD_LDAPS_c $SLAPD_LDAPS_d" "a TLS handshake hangs" \
	"$SLAPD_LDAPS_c: TLS handshake timed out"
# A frozen server asked for StartTLS never answers the request: bounded
# by the server's budget (LDAP_OPT_TIMEOUT).
past_hung "$SLAPD_URI_c $SLAPD_URI_d" "StartTLS is not answered" \
	"$SLAPD_URI_c: StartTLS: Timed out" "starttls = yes"
thaw_slapd c
# A server that accepts StartTLS and then stalls in the handshake
# (starttls_stall.py): the watchdog, as for ldaps://.
STALL_PID=""
stall_stop() { stop_pid "$STALL_PID"; }
CLEANUP_HOOKS="$CLEANUP_HOOKS stall_stop"
python3 "$top_srcdir/tests/integration/starttls_stall.py" "$T/stall.port" &
STALL_PID=$!
wait_for 20 test -s "$T/stall.port" || die "starttls_stall.py did not start"
STALL_URI="ldap://127.0.0.1:$(cat "$T/stall.port")/"
past_hung "$STALL_URI $SLAPD_URI_d" "a StartTLS handshake hangs" \
	"$STALL_URI: TLS handshake timed out" "starttls = yes"
stop_pid "$STALL_PID"

finish
