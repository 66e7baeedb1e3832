#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# The directory's failure modes end to end, through the real module's
# account stage and a real phiguardd: a hung first server (SIGSTOP) costs a
# cold login no more than the PAM client's daemon_timeout; a server whose
# certificate the configured CA did not sign is refused (ldaps and
# StartTLS) and the login denied with the reason; and a directory that
# shows membership only through memberOf grants the same scopes.
# shellcheck disable=SC2154 # SLAPD_*_NAME are set by start_slapd (eval)
. "${top_srcdir:?}/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/slapd.sh"

NURSE_SCOPES='^env: PHIGUARD_SCOPES=phi\.read phi\.clinical$'
UNREACHABLE_MSG='^error: The directory cannot be reached and your access could not be confirmed\.'

start_slapd a
start_slapd b
start_slapd t --tls
start_slapd m --memberof-only

# ldap_config URI [KEY = VALUE]...: lib.sh's directory config with the
# given [ldap] keys added and the shortest timeouts, so a hung server is
# given up on after about a second.
ldap_config() {
	_uri=$1
	shift
	write_ldap_config "$_uri"
	for _kv in "search_timeout = 1" "network_timeout = 1" "$@"; do
		sed -i "s|^\[ldap\]\$|[ldap]\n$_kv|" "$CONF"
	done
}

pam_service_stages acct

# --- the first server hangs: the login fails over within daemon_timeout --
ldap_config "$SLAPD_URI_a $SLAPD_URI_b"
start_daemon
# A first login while both answer: the daemon is connected to a.
expect_rc 0 "login, both servers up" -- run_pam acct nurse1 acct -e
expect_out "$NURSE_SCOPES" "scopes, both servers up"
ctl status >"$T/status" 2>&1 || fail "phiguardctl status: $(cat "$T/status")"
grep -q "$SLAPD_URI_a" "$T/status" || fail "not on the first server: $(cat "$T/status")"

freeze_slapd a
# A cold user: nothing cached, a's connection hangs. The module's own
# deadline (daemon_timeout, 5 s by default; 30 s under valgrind) is the
# bound: a late answer would be PAM_AUTHINFO_UNAVAIL, not a success
# (test_timeouts.sh does the same with the default [ldap] timeouts).
expect_rc 0 "cold login, first server hung" -- run_pam acct nurse2 acct -e
expect_out '^acct: PAM_SUCCESS$' "cold login, first server hung"
expect_out '^env: PHIGUARD_SCOPES=' "scopes from the second server"
ctl status >"$T/status" 2>&1 || fail "phiguardctl status: $(cat "$T/status")"
grep -q "$SLAPD_URI_b" "$T/status" || fail "no failover to b: $(cat "$T/status")"
# Cached users are answered as before, the hung server notwithstanding.
expect_rc 0 "cached login, first server hung" -- run_pam acct nurse1 acct -e
expect_out "$NURSE_SCOPES" "cached scopes, first server hung"
thaw_slapd a
stop_daemon

# --- a certificate from another CA is refused: ldaps and StartTLS -------
tls_case() {
	what=$1
	shift
	ldap_config "$@" "tls_cacert = $SLAPD_TLS_DIR/other-ca.pem"
	start_daemon
	expect_rc 1 "$what, wrong CA" -- run_pam acct nurse1 acct
	expect_out '^acct: PAM_PERM_DENIED$' "$what, wrong CA"
	expect_out "$UNREACHABLE_MSG" "$what, wrong CA: the agent's message"
	expect_log '^account; user=nurse1; .*result=failure; reason=directory-unreachable' "$what, wrong CA: module log"
	grep -Eiq 'certificate|tls' "$DAEMON_LOG" ||
		fail "$what, wrong CA: the daemon log does not say why"
	# The right CA, through RELOAD: the same login now works.
	ldap_config "$@" "tls_cacert = $SLAPD_TLS_DIR/ca.pem"
	ctl reload >"$T/reload" 2>&1 || fail "reload: $(cat "$T/reload")"
	ctl flush >"$T/flush" 2>&1 || fail "flush: $(cat "$T/flush")"
	expect_rc 0 "$what, right CA" -- run_pam acct nurse1 acct -e
	expect_out "$NURSE_SCOPES" "$what, right CA"
	stop_daemon
}
tls_case ldaps "$SLAPD_LDAPS_t"
tls_case StartTLS "$SLAPD_URI_t" "starttls = yes"

# --- membership through memberOf only ----------------------------------
for mode in memberof auto; do
	ldap_config "$SLAPD_URI_m" "membership = $mode"
	start_daemon
	expect_rc 0 "memberOf directory, membership=$mode" -- run_pam acct nurse1 acct -e
	expect_out "$NURSE_SCOPES" "memberOf directory, membership=$mode"
	expect_rc 1 "memberOf directory, no role, membership=$mode" -- run_pam acct norole1 acct
	expect_out '^acct: PAM_PERM_DENIED$' "no role, membership=$mode"
	ctl explain nurse1 >"$T/explain" 2>&1 || fail "explain: $(cat "$T/explain")"
	grep -qi 'cn=nurses' "$T/explain" ||
		fail "explain does not show the memberOf group: $(cat "$T/explain")"
	stop_daemon
done

finish
