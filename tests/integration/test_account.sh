#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# The account and session stages against a scripted stand-in daemon
# (fakedaemon.py): scopes and role exported when allowed, PAM_PERM_DENIED
# and a message per reason when refused, daemon_down=deny|ignore, bad
# answers denied with the environment untouched, SESSION open/close sent;
# then the same stages end to end through phiguardd and a real slapd.
. "${top_srcdir:?}/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/slapd.sh"

ALLOW='AUTHZ v1 OK allowed=yes scopes=phi.read.demographics%20phi.read.clinical role=nurse rule=nurse source=cache age=3'
SESSION_OK='SESSION v1 OK'

write_config
pam_service_stages acct "socket=$FAKE_SOCK" daemon_timeout=1
pam_service_stages ign "socket=$FAKE_SOCK" daemon_timeout=1 daemon_down=ignore
pam_service_stages down "socket=$T/no-such.sock"
pam_service_stages downign "socket=$T/no-such.sock" daemon_down=ignore
# The module optional, pam_permit deciding: pamdrive prints the final
# environment even when the module refused.
{
	echo "account optional $PAM_MODULE config=$CONF socket=$FAKE_SOCK daemon_timeout=1"
	echo "account required pam_permit.so"
} >"$PAMD/opt"
{
	echo "account required $PAM_WRAPPER_MODULES/pam_set_items.so"
	echo "account required $PAM_MODULE config=$CONF socket=$FAKE_SOCK"
} >"$PAMD/items"

fake_answers "$ALLOW" "$SESSION_OK"
fake_start

# --- allowed: both variables, exactly the daemon's values.
expect_rc 0 "allowed" -- run_pam acct nurse1 acct -e
expect_out '^acct: PAM_SUCCESS$' "allowed"
expect_out '^env: PHIGUARD_SCOPES=phi\.read\.demographics phi\.read\.clinical$' "scopes exported"
expect_out '^env: PHIGUARD_ROLE=nurse$' "role exported"
expect_no_out '^error:' "message when allowed"
expect_log '^account; user=nurse1; service=acct; .*result=success; reason=ok; detail=role=nurse scopes=phi\.read\.demographics phi\.read\.clinical source=cache$' "allowed log line"
grep -Eq '^v1 AUTHZ user=nurse1 service=acct$' "$FAKE_LINES" ||
	fail "AUTHZ request not as specified: $(cat "$FAKE_LINES")"

# rhost and tty go into the request.
: >"$FAKE_LINES"
PAM_RHOST=10.1.2.3 PAM_TTY=pts/7 run_pam items nurse1 acct
expect_out '^acct: PAM_SUCCESS$' "allowed with items"
grep -Eq '^v1 AUTHZ user=nurse1 service=items rhost=10\.1\.2\.3 tty=pts/7$' "$FAKE_LINES" ||
	fail "AUTHZ without rhost/tty: $(cat "$FAKE_LINES")"

# --- refused: PAM_PERM_DENIED, the reason's message, the reason logged.
denied() {
	reason=$1 msg=$2
	fake_answers "AUTHZ v1 OK allowed=no reason=$reason source=fresh"
	expect_rc 1 "denied $reason" -- run_pam acct nurse1 acct
	expect_out '^acct: PAM_PERM_DENIED$' "denied $reason"
	expect_out "^error: $msg" "message for $reason"
	expect_log "^account; user=nurse1; service=acct; .*result=failure; reason=$reason; detail=source=fresh$" "log line for $reason"
}
denied no-rule 'Your account has no access to patient data on this terminal\. Ask your supervisor to check your role\.$'
denied terminal 'Your role has no access to patient data from this terminal\.'
denied unknown-user 'Your account was not found in the directory\.'
denied directory-unreachable 'The directory cannot be reached and your access could not be confirmed\. Try again or call the help desk\.$'
denied some-new-reason 'Your access to patient data could not be confirmed\.'
# A refusal leaves the environment alone.
expect_rc 0 "denied, module optional" -- run_pam opt nurse1 acct -e
expect_no_out '^env: PHIGUARD_' "environment after a refusal"

# --- the daemon cannot be reached: deny by default, ignore if told so.
expect_rc 1 "no daemon, deny" -- run_pam down nurse1 acct
expect_out '^acct: PAM_AUTHINFO_UNAVAIL$' "no daemon, deny"
expect_out '^error: The access service is not available' "no daemon message"
expect_log '^account; user=nurse1; .*result=failure; reason=daemon; detail=authz: ' "no daemon log line"
expect_rc 0 "no daemon, ignore" -- run_pam downign nurse1 acct -e
expect_out '^acct: PAM_SUCCESS$' "no daemon, ignore (pam_permit decides)"
expect_log '^account; user=nurse1; .*result=ignore; reason=daemon; ' "ignore log line"
expect_no_out '^env: PHIGUARD_' "environment when ignored"

# A daemon that never answers: the wait ends at daemon_timeout (1 s), far
# from the stand-in's 60 s, under either setting.
fake_answers "AUTHZ @hang" "SESSION @hang"
t0=$(now_ms)
expect_rc 1 "hung daemon, deny" -- run_pam acct nurse1 acct
ms=$(($(now_ms) - t0))
expect_out '^acct: PAM_AUTHINFO_UNAVAIL$' "hung daemon, deny"
[ "$ms" -ge 900 ] || fail "hung daemon: answered after $ms ms, the wait was not exercised"
[ "$ms" -lt 20000 ] || fail "hung daemon: took $ms ms"
expect_rc 0 "hung daemon, ignore" -- run_pam ign nurse1 acct
expect_log 'result=ignore; reason=daemon; detail=authz: ' "hung daemon, ignore"

# A daemon that drops the connection (it crashed or is restarting) could
# not be asked: the same as no daemon.
fake_answers "AUTHZ @close"
expect_rc 1 "connection closed, deny" -- run_pam acct nurse1 acct
expect_out '^acct: PAM_AUTHINFO_UNAVAIL$' "connection closed, deny"
expect_rc 0 "connection closed, ignore" -- run_pam ign nurse1 acct
expect_log 'result=ignore; reason=daemon; detail=authz: ' "connection closed, ignore"

# --- bad answers deny, under daemon_down=ignore too, env untouched.
bad_answer() {
	what=$1
	fake_answers "AUTHZ $2"
	expect_rc 1 "$what" -- run_pam acct nurse1 acct
	expect_out '^acct: PAM_AUTHINFO_UNAVAIL$' "$what"
	expect_log 'result=failure; reason=daemon; detail=authz: ' "$what log line"
	expect_rc 1 "$what, daemon_down=ignore" -- run_pam ign nurse1 acct
	expect_out '^acct: PAM_AUTHINFO_UNAVAIL$' "$what, daemon_down=ignore"
	expect_rc 0 "$what, module optional" -- run_pam opt nurse1 acct -e
	expect_no_out '^env: PHIGUARD_' "environment after $what"
}
bad_answer "garbage" 'hello there'
bad_answer "oversized line" '@big'
bad_answer "not v1" 'v2 OK allowed=yes scopes=a role=b'
bad_answer "ERR answer" 'v1 ERR code=permission msg=not%20yours'
bad_answer "allowed=maybe" 'v1 OK allowed=maybe scopes=a role=b'
bad_answer "no allowed=" 'v1 OK scopes=a role=b'
bad_answer "no scopes" 'v1 OK allowed=yes role=nurse'
bad_answer "empty scopes" 'v1 OK allowed=yes scopes= role=nurse'
bad_answer "no role" 'v1 OK allowed=yes scopes=phi.read'
bad_answer "newline in scopes" 'v1 OK allowed=yes scopes=phi.read%0AX=1 role=nurse'
bad_answer "shell in role" 'v1 OK allowed=yes scopes=phi.read role=$(id)'
bad_answer "upper case scope" 'v1 OK allowed=yes scopes=PHI.read role=nurse'
bad_answer "double space" 'v1 OK allowed=yes scopes=a%20%20b role=nurse'
bad_answer "trailing space" 'v1 OK allowed=yes scopes=a%20 role=nurse'
bad_answer "8-bit role" 'v1 OK allowed=yes scopes=a role=nurs%C3%A9'
bad_answer "long role" "v1 OK allowed=yes scopes=a role=$(printf '%065d' 0)"
bad_answer "bad source" 'v1 OK allowed=yes scopes=a role=nurse source=%1B[2J'
bad_answer "no reason" 'v1 OK allowed=no source=fresh'
bad_answer "bad reason" 'v1 OK allowed=no reason=no%3Brule'
# A role with a space and the longest one accepted pass unchanged.
fake_answers "AUTHZ v1 OK allowed=yes scopes=a.b_c-d role=charge%20nurse"
expect_rc 0 "role with a space" -- run_pam acct nurse1 acct -e
expect_out '^env: PHIGUARD_ROLE=charge nurse$' "role with a space"
expect_out '^env: PHIGUARD_SCOPES=a\.b_c-d$' "scope with . _ -"

# --- session: open and close reach the daemon, in order.
fake_answers "$ALLOW" "$SESSION_OK"
: >"$FAKE_LINES"
PAM_TTY=pts/3 expect_rc 0 "acct,open,close" -- run_pam acct nurse1 acct,open,close -e
expect_out '^open: PAM_SUCCESS$' "session open"
expect_out '^close: PAM_SUCCESS$' "session close"
expect_out '^env: PHIGUARD_ROLE=nurse$' "role after the session"
sed -n 2,3p "$FAKE_LINES" >"$T/session.lines"
printf '%s\n' 'v1 SESSION user=nurse1 service=acct action=open' \
	'v1 SESSION user=nurse1 service=acct action=close' |
	cmp -s - "$T/session.lines" ||
	fail "SESSION requests: $(cat "$FAKE_LINES")"
expect_log '^session-open; user=nurse1; service=acct; .*result=success; reason=ok$' "session-open log line"
expect_log '^session-close; user=nurse1; service=acct; .*result=success; reason=ok$' "session-close log line"

# A refused SESSION, and the daemon down under deny and ignore.
fake_answers "SESSION v1 ERR code=permission"
expect_rc 1 "SESSION refused" -- run_pam acct nurse1 open
expect_out '^open: PAM_SESSION_ERR$' "SESSION refused"
expect_rc 1 "SESSION refused, ignore" -- run_pam ign nurse1 open
expect_out '^open: PAM_SESSION_ERR$' "SESSION refused under ignore"
expect_rc 1 "session, no daemon, deny" -- run_pam down nurse1 open
expect_out '^open: PAM_SESSION_ERR$' "session, no daemon, deny"
expect_log '^session-open; .*result=failure; reason=daemon; detail=session: ' "session no daemon log"
expect_rc 0 "session, no daemon, ignore" -- run_pam downign nurse1 open,close
expect_out '^close: PAM_SUCCESS$' "session, no daemon, ignore"
expect_log '^session-close; .*result=ignore; reason=daemon' "session ignore log"

# A bad module argument is refused before anything is sent.
pam_service_stages badopt "socket=$FAKE_SOCK" daemon_down=maybe
: >"$FAKE_LINES"
expect_rc 1 "bad daemon_down" -- run_pam badopt nurse1 acct
expect_out '^acct: PAM_SERVICE_ERR$' "bad daemon_down"
expect_log 'reason=bad-option; detail=daemon_down: must be deny or ignore' "bad option log"
[ ! -s "$FAKE_LINES" ] || fail "a request was sent despite a bad option"

fake_stop

# --- the real daemon and directory: the sample directory's nurse1 is a
# nurse, norole1 is in no mapped group, ghost1 does not exist.
start_slapd a
write_ldap_config "$SLAPD_URI_a"
start_daemon
pam_service_stages real
expect_rc 0 "real: nurse1" -- run_pam real nurse1 acct,open,close -e
expect_out '^env: PHIGUARD_SCOPES=phi\.read phi\.clinical$' "real: nurse1's scopes"
expect_out '^env: PHIGUARD_ROLE=nurse$' "real: nurse1's role"
expect_out '^close: PAM_SUCCESS$' "real: session"
grep -Eq 'SESSION user=nurse1 .*service=real action=open -> OK' "$DAEMON_LOG" ||
	fail "real: the daemon did not log the session open"
grep -Eq 'SESSION user=nurse1 .*service=real action=close -> OK' "$DAEMON_LOG" ||
	fail "real: the daemon did not log the session close"
expect_rc 1 "real: norole1" -- run_pam real norole1 acct
expect_out '^acct: PAM_PERM_DENIED$' "real: norole1"
expect_out '^error: Your account has no access to patient data on this terminal\.' "real: norole1's message"
expect_log '^account; user=norole1; .*reason=no-rule; ' "real: norole1 log line"
expect_rc 1 "real: ghost1" -- run_pam real ghost1 acct
expect_out '^acct: PAM_PERM_DENIED$' "real: ghost1"
expect_log '^account; user=ghost1; .*reason=unknown-user; ' "real: ghost1 log line"

finish
