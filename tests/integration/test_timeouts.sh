#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Timeouts that fit together (issue #10), through the real module and a
# real phiguardd against real slapd servers, the first one frozen
# (SIGSTOP): with the default [ldap] timeouts and the module's default
# daemon_timeout a cold login succeeds through the second server; a module
# that gives up before the daemon answers leaves an authz-late record in
# the audit trail, never an authz-allow; a fail-back probe of the hung
# server delays no lookup; and --check-config warns about [ldap] timeouts
# that do not fit inside the module's default daemon_timeout.
# shellcheck disable=SC2154 # SLAPD_*_NAME are set by start_slapd (eval)
. "${top_srcdir:?}/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/slapd.sh"
need python3

start_slapd a
start_slapd b

# The module's default daemon_timeout (30 s under valgrind: lib.sh), and
# one that gives up after a second.
pam_service_stages acct
pam_service_stages impatient daemon_timeout=1

# show USER: the audit records of USER, as phiguardctl shows them.
show() {
	ctl audit show --user "$1" 2>&1
}

# since N PATTERN: a line after the first N of the daemon log matches the
# fixed string PATTERN.
since() {
	tail -n "+$(($1 + 1))" "$DAEMON_LOG" | grep -Fq -- "$2"
}

# wait_record USER PATTERN: the trail gets a record of USER matching
# PATTERN (the writer is a thread, the answer may come late: 15 s at most).
wait_record() {
	wait_for 15 shows "$1" "$2" ||
		fail "no record of $1 matching '$2': $(show "$1")"
}

# shows USER PATTERN: the trail has a record of USER matching PATTERN.
shows() {
	show "$1" | grep -Eq -- "$2"
}

# --- defaults: a cold login with the first server hung succeeds ----------
write_ldap_config "$SLAPD_URI_a $SLAPD_URI_b"
! grep -Eq '^(network|search)_timeout' "$CONF" ||
	die "this case is about the default [ldap] timeouts"
log "defaults: $("$PHIGUARDD" --dump-config --config "$CONF" |
	grep -E '^(network|search)_timeout' | paste -sd' ' -)"
start_daemon
# A login while both answer: a bound connection to a is kept.
expect_rc 0 "login, both servers up" -- run_pam acct nurse1 acct -e
freeze_slapd a
t0=$(now_ms)
expect_rc 0 "cold login, first server hung, default timeouts" -- run_pam acct nurse2 acct -e
ms=$(($(now_ms) - t0))
log "cold login with the first server hung, default timeouts: $ms ms"
expect_out '^acct: PAM_SUCCESS$' "cold login, first server hung, default timeouts"
expect_out '^env: PHIGUARD_SCOPES=phi\.read phi\.clinical$' "scopes from the second server"
wait_record nurse2 ' authz-allow +nurse2 +allow '
stop_daemon

# --- the module gives up first: a late record, not a grant ---------------
# A fresh daemon (no backoff yet): its lookup spends search_timeout on the
# hung server before the second answers; the module has left after 1 s.
start_daemon
allows=$(show nurse1 | grep -c ' authz-allow ')
expect_rc 1 "impatient module, first server hung" -- run_pam impatient nurse1 acct
expect_out '^acct: PAM_AUTHINFO_UNAVAIL$' "impatient module, first server hung"
wait_record nurse1 ' authz-late +nurse1 +deny +reason=late'
[ "$(show nurse1 | grep -c ' authz-allow ')" -eq "$allows" ] ||
	fail "a grant the module never received was recorded: $(show nurse1)"
grep -Eq 'AUTHZ user=nurse1 .*late' "$DAEMON_LOG" ||
	fail "no log line about nurse1's late answer"
# The late answer was cached: the next login is granted, and recorded.
expect_rc 0 "the same user again" -- run_pam acct nurse1 acct -e
wait_record nurse1 ' authz-allow +nurse1 +allow .*source=cache'
ctl audit verify >"$T/verify" 2>&1 || fail "audit verify: $(cat "$T/verify")"
stop_daemon
thaw_slapd a

# --- --check-config: timeouts that cannot fit are a warning --------------
# Under memcheck a cold lookup itself takes seconds: hold the probe longer.
PROBE_S=4 PROBE_BOUND_MS=2000
[ -z "${VALGRIND:-}" ] || PROBE_S=12 PROBE_BOUND_MS=8000
write_ldap_config "$SLAPD_URI_a $SLAPD_URI_b"
sed -i "s/^\[ldap\]\$/[ldap]\nnetwork_timeout = 1\nsearch_timeout = $PROBE_S/" "$CONF"
"$PHIGUARDD" --check-config --config "$CONF" >"$OUT" 2>&1 ||
	fail "--check-config refused timeouts it should only warn about: $(cat "$OUT")"
expect_out "warning: .*network_timeout \\(1 s\\) \\+ search_timeout \\($PROBE_S s\\).*daemon_timeout" \
	"--check-config names both timeouts and daemon_timeout"
expect_out ': OK$' "--check-config still says OK"

# --- a probe of the hung server delays no lookup -------------------------
# search_timeout = PROBE_S: a probe of the frozen server blocks that long,
# where a cold lookup on the second server takes milliseconds.
freeze_slapd a
n0=$(wc -l <"$DAEMON_LOG")
start_daemon
pgreq "v1 AUTHZ user=nurse1" >"$OUT"
expect_out '^v1 OK allowed=yes ' "failover to the second server"
# Logged before the daemon served its first request.
since "$n0" "network_timeout (1 s) + search_timeout ($PROBE_S s)" ||
	fail "no warning about the timeouts at start"
# The fail-back probe of a starts once a's backoff has expired, at a
# housekeeping round (within seconds): its root DSE search.
wait_for 25 since "$n0" "directory: $SLAPD_URI_a: search base=\"\" filter=(objectClass=*)" ||
	die "no probe of the frozen server within 25 s"
pgreq_timed "v1 AUTHZ user=nurse2"
ms=$PGREQ_MS
log "cold lookup while the hung server is probed: $ms ms"
expect_out '^v1 OK allowed=yes .*source=fresh' "cold lookup during the probe"
# Generous: the probe holds for PROBE_S; the lookup needs milliseconds
# (under memcheck on a busy machine, seconds).
[ "$ms" -lt "$PROBE_BOUND_MS" ] || fail "a cold lookup waited $ms ms behind the probe"
thaw_slapd a

finish
