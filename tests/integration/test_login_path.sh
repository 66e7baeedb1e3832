#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# What a login costs the daemon: at most one connection per PAM stage
# (the auth stage opens a second one only after it prompted, as it holds
# none while a person answers), and a right code is one CLAIM
# report=yes, with no REPORT; its audit records and the user's state are
# those CLAIM + REPORT result=success made before.
. "${top_srcdir:?}/tests/integration/lib.sh"

SECRET=JBSWY3DPEHPK3PXP
NOW=1700000015 # the middle of a 30 s step
STEP=1700000010

write_config # log_level 2: the daemon logs every connection with its pid
start_daemon
for u in alice bob carol dave; do
	add_token "$u" SHA1 6 30 "$SECRET"
done
# Every stage through the module; the account stage has no directory
# here (AUTHZ answers unavailable), so daemon_down=ignore lets pam_permit
# decide. "first" takes the code from PAM_AUTHTOK: no prompt.
pam_service_stages login daemon_down=ignore
{
	echo "auth     required $PAM_WRAPPER_MODULES/pam_set_items.so"
	echo "auth     required $PAM_MODULE config=$CONF use_first_pass daemon_down=ignore"
	for stage in account session; do
		echo "$stage  required $PAM_MODULE config=$CONF daemon_down=ignore"
		echo "$stage  required pam_permit.so"
	done
} >"$PAMD/first"
at_time $NOW
code=$(totp_code "$SECRET" SHA1 6 $NOW)

# count_pid PATTERN PID: daemon log lines matching PATTERN for PID.
count_pid() {
	grep -E -- " pid[ =]$2( |\$)" "$DAEMON_LOG" | grep -Ec -- "$1"
}

# run_full SERVICE USER [pamdrive options]: a whole login in one process;
# its pid in $PID.
run_full() {
	svc=$1 user=$2
	shift 2
	run_pam "$svc" "$user" auth,setcred,acct,open,close "$@"
	_rc=$?
	PID=$_rp_pid
	return $_rc
}

# --- one connection per stage, and the requests of each -----------------
PAM_AUTHTOK=$code
export PAM_AUTHTOK
expect_rc 0 "login, code from PAM_AUTHTOK" -- run_full first alice
unset PAM_AUTHTOK
for op in auth setcred acct open close; do
	expect_out "^$op: PAM_SUCCESS\$" "login without a prompt: $op"
done
n=$(count_pid ': connection from uid' "$PID")
[ "$n" -eq 4 ] || fail "login without a prompt: $n connections, want 4 (auth, account, session open, session close)"
n=$(count_pid '(PREAUTH|CLAIM|REPORT|AUTHZ|SESSION) user=alice uid=0' "$PID")
[ "$n" -eq 5 ] || fail "login without a prompt: $n requests, want 5 (PREAUTH, CLAIM, AUTHZ, SESSION open and close)"
[ "$(count_pid 'REPORT user=' "$PID")" -eq 0 ] || fail "a right code was followed by a REPORT"
[ "$(count_pid 'CLAIM user=alice .* report=yes .*reported=yes' "$PID")" -eq 1 ] ||
	fail "the CLAIM did not carry its success"

expect_rc 0 "login with a prompt" -- run_full login bob -a "$code"
expect_out '^prompt: Verification code: $' "prompted"
n=$(count_pid ': connection from uid' "$PID")
[ "$n" -eq 5 ] || fail "login with a prompt: $n connections, want 5 (auth before and after the prompt, then one per stage)"
[ "$(count_pid 'REPORT user=' "$PID")" -eq 0 ] || fail "a right code was followed by a REPORT (prompt)"

# A replayed code: the refused claim and its failure, on one connection.
expect_rc 1 "replay" -- run_pam login bob auth -a "$code"
PID=$_rp_pid
expect_log 'user=bob; .*result=failure; reason=replay$' "replay log line"
[ "$(count_pid ': connection from uid' "$PID")" -eq 2 ] || fail "replay: want 2 connections (before and after the prompt)"
[ "$(count_pid 'REPORT user=bob .*result=failure reason=replay' "$PID")" -eq 1 ] ||
	fail "replay: its failure was not reported"

# --- CLAIM report=yes records what CLAIM + REPORT did --------------------
# carol: the old sequence by hand; dave: the module. Both first fail
# twice, so that the success visibly clears the count.
for u in carol dave; do
	pgreq "v1 REPORT user=$u factor=totp result=failure reason=bad-code service=login" \
		"v1 REPORT user=$u factor=totp result=failure reason=bad-code service=login" >/dev/null
done
pgreq "v1 CLAIM user=carol step_start=$STEP service=login" \
	"v1 REPORT user=carol factor=totp result=success reason=ok service=login" >"$OUT"
grep -q '^v1 OK claimed=yes$' "$OUT" || fail "old CLAIM answered: $(cat "$OUT")"
expect_rc 0 "module login" -- run_pam login dave auth -a "$code"
# State: the step is used and the failures are cleared, alike.
for u in carol dave; do
	pgreq "v1 CLAIM user=$u step_start=$STEP" \
		"v1 REPORT user=$u factor=totp result=failure reason=bad-code" >"$OUT"
	grep -q '^v1 ERR code=replay' "$OUT" || fail "$u: the step is not used: $(cat "$OUT")"
	grep -q '^v1 OK locked=no failures=1 ' "$OUT" || fail "$u: failures not cleared: $(cat "$OUT")"
done
# Audit: the same records, in the same order, but for the user name.
records() {
	python3 - "$AUDIT_FILE" "$1" <<'PY'
import json, sys
for raw in open(sys.argv[1], encoding="utf-8"):
    r = json.loads(raw)
    if r["user"] != sys.argv[2] or r["event"] not in ("totp-claim", "factor-success"):
        continue
    print(" ".join("%s=%s" % (k, r[k]) for k in r if k not in ("time", "prev", "user")))
PY
}
wait_for 5 grep -q '"event":"factor-success","user":"dave"' "$AUDIT_FILE" ||
	fail "no factor-success record for the module's login"
records carol >"$T/carol.rec"
records dave >"$T/dave.rec"
[ "$(wc -l <"$T/carol.rec")" -eq 2 ] || fail "old sequence: want 2 records, got: $(cat "$T/carol.rec")"
cmp -s "$T/carol.rec" "$T/dave.rec" ||
	fail "audit records differ: CLAIM+REPORT: $(cat "$T/carol.rec") / CLAIM report=yes: $(cat "$T/dave.rec")"

# --- the protocol: report= is checked, and optional ----------------------
pgreq "v1 CLAIM user=erin step_start=$STEP report=maybe" \
	"v1 CLAIM user=erin step_start=$STEP report=yes reason=a%20b" \
	"v1 CLAIM user=erin step_start=$STEP report=yes" >"$OUT"
expect_out '^v1 ERR code=invalid msg=report$' "bad report= value"
expect_out '^v1 ERR code=invalid msg=reason$' "bad reason= with report=yes"
expect_out '^v1 OK claimed=yes reported=yes$' "report=yes without a reason"

finish
