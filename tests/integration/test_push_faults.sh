#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Push provider failures, each through the real module: a provider that
# refuses connections, hangs, closes, answers 500, garbage, an oversized or
# incomplete reply, or presents a certificate of another CA. Under
# failmode=secure each denies with a log line naming the cause; under
# failmode=safe each falls back to a TOTP prompt (and a right code logs in).
# HTTP 429 is retried after Retry-After (or the 1 s back-off) within the
# deadline; an http(s)_proxy in the PAM process's environment is ignored
# (only the configured proxy is used); a certificate for another host name
# is refused like one from another CA; SSLKEYLOGFILE makes the module
# refuse to start libcurl.
. "${top_srcdir:?}/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/push_lib.sh"

SECRET=JBSWY3DPEHPK3PXP
PUSH_TIMEOUT=$(push_limit 3)
UNAVAIL_MSG='^error: The push service is not available: access denied'
users='"ok": {"push": "approve", "delay": 0.2}'
for i in $(seq 1 26); do
	users="$users, \"u$i\": {\"push\": \"approve\", \"delay\": 0.2}"
	add_token "u$i" SHA1 6 30 "$SECRET"
done
add_token ok SHA1 6 30 "$SECRET"
SCRIPT_USERS="{$users}"
push_script "{\"users\": $SCRIPT_USERS}"
start_emulator duo
write_push_config duo "push_timeout = $PUSH_TIMEOUT" "connect_timeout = 2"
start_daemon
pam_service login
pam_service safe failmode=safe
N=0

# fault FAULT-JSON: the emulator's fault, for every request from now on.
fault() {
	push_script "{\"users\": $SCRIPT_USERS, \"fault\": $1}"
}

# check_fault NAME REASON: under secure a denial naming REASON, within
# push_timeout and some slack; under safe the TOTP prompt and a login.
check_fault() {
	N=$((N + 1))
	user=u$N
	start=$(now_ms)
	expect_rc 1 "$1 (secure)" -- run_pam login "$user" auth -a ""
	push_elapsed_ok "$start" $((PUSH_TIMEOUT + 3)) "$1 (secure)"
	expect_out "$UNAVAIL_MSG" "$1 (secure): message"
	expect_out '^auth: PAM_AUTHINFO_UNAVAIL$' "$1 (secure): result"
	expect_log "^push; user=$user; .*result=error; reason=$2; " "$1 (secure): log"
	expect_no_out '^prompt: Verification code: $' "$1 (secure): no TOTP prompt"
	N=$((N + 1))
	user=u$N
	wait_fresh_step
	expect_rc 0 "$1 (safe)" -- run_pam safe "$user" auth -a "" -a "$(totp_code "$SECRET")"
	expect_out '^prompt: Verification code: $' "$1 (safe): TOTP prompt"
	expect_out '^error: The push service is not available; use a verification code instead' "$1 (safe): message"
	expect_log "^push; user=$user; .*result=error; reason=$2; " "$1 (safe): log"
	expect_log "failmode=safe: prompting for a verification code" "$1 (safe): fallback logged"
	expect_out '^auth: PAM_SUCCESS$' "$1 (safe): login with a code"
	# Safe is not open: without the code there is no way in.
	expect_rc 1 "$1 (safe, wrong code)" -- run_pam safe "$user" auth -a "" -a 000000
}

# Sanity: no fault, a push works.
expect_rc 0 "no fault" -- run_pam login ok auth -a ""

fault '{"mode": "hang", "paths": ["/auth/v2/preauth"]}'
check_fault "provider hangs" timeout
fault '{"mode": "close", "paths": ["/auth/v2/preauth"]}'
check_fault "connection closed" provider-unreachable
fault '{"mode": "status", "status": 500, "paths": ["/auth/v2/auth"]}'
check_fault "HTTP 500" http-status
fault '{"mode": "garbage", "paths": ["/auth/v2/preauth"]}'
check_fault "garbage" bad-reply
fault '{"mode": "oversize", "paths": ["/auth/v2/auth_status"]}'
check_fault "oversized reply" too-large
fault '{"mode": "missing-field", "paths": ["/auth/v2/preauth"]}'
check_fault "missing field" bad-reply
fault '{"mode": "status", "status": 429, "retry_after": 60, "paths": ["/auth/v2/preauth"]}'
check_fault "429 beyond the deadline" rate-limited
push_script "{\"users\": $SCRIPT_USERS}"

# The wrong CA, and nobody listening.
sed -i "s|^ca_file = .*|ca_file = $SLAPD_TLS_DIR/other-ca.pem|" "$CONF"
check_fault "wrong CA" tls
sed -i "s|^ca_file = .*|ca_file = $SLAPD_TLS_DIR/ca.pem|" "$CONF"
sed -i "s|^host = .*|host = localhost:$(free_port)|" "$CONF"
check_fault "connection refused" provider-unreachable
sed -i "s|^host = .*|host = localhost:$EMU_PORT|" "$CONF"

# A certificate from the right CA, but for another host name.
stop_emulator
make_other_host_cert
EMU_CERT="$SLAPD_TLS_DIR/otherhost.pem" EMU_KEY="$SLAPD_TLS_DIR/otherhost.key"
start_emulator duo
sed -i "s|^host = .*|host = localhost:$EMU_PORT|" "$CONF"
check_fault "certificate for another host" tls
stop_emulator
unset EMU_CERT EMU_KEY
start_emulator duo
sed -i "s|^host = .*|host = localhost:$EMU_PORT|" "$CONF"

# 429 then OK: retried after Retry-After, within the deadline.
fault '{"mode": "status", "status": 429, "retry_after": 1, "times": 1, "paths": ["/auth/v2/preauth"], "id": 1}'
before=$(emu_count /auth/v2/preauth)
expect_rc 0 "429 with Retry-After" -- run_pam login ok auth -a ""
[ "$(emu_count /auth/v2/preauth)" -eq $((before + 2)) ] || fail "429: not retried once"
gap=$(grep '"path": "/auth/v2/preauth"' "$EMU_LOG" | tail -n 2 |
	python3 -c 'import json, sys
t = [json.loads(l)["t"] for l in sys.stdin]
print(int((t[1] - t[0]) * 1000))')
[ "$gap" -ge 900 ] || fail "429: retried after ${gap} ms, before Retry-After (1 s)"
fault '{"mode": "status", "status": 429, "times": 1, "paths": ["/auth/v2/preauth"], "id": 2}'
expect_rc 0 "429 without Retry-After" -- run_pam login ok auth -a ""
push_script "{\"users\": $SCRIPT_USERS}"

# Proxies: the environment's are ignored (a dead one would fail the
# push), the configured one is used (a dead one does fail it).
dead=$(free_port)
export https_proxy="http://127.0.0.1:$dead" HTTPS_PROXY="http://127.0.0.1:$dead" \
	ALL_PROXY="http://127.0.0.1:$dead" http_proxy="http://127.0.0.1:$dead"
expect_rc 0 "environment proxy ignored" -- run_pam login ok auth -a ""
unset https_proxy HTTPS_PROXY ALL_PROXY http_proxy
echo "proxy = http://127.0.0.1:$dead" >>"$CONF"
expect_rc 1 "configured proxy used" -- run_pam login ok auth -a ""
expect_log '^push; user=ok; .*result=error; reason=provider-unreachable' "configured proxy log"
sed -i '/^proxy = /d' "$CONF"

# SSLKEYLOGFILE would make libcurl write TLS secrets where the caller says.
export SSLKEYLOGFILE="$T/keys.log"
expect_rc 1 "SSLKEYLOGFILE" -- run_pam login ok auth -a ""
unset SSLKEYLOGFILE
expect_log '^push; user=ok; .*result=error; reason=unsafe-env' "SSLKEYLOGFILE refused"
[ ! -e "$T/keys.log" ] || fail "TLS key log written"

# privacyIDEA: garbage while polling, under secure.
stop_emulator
push_script "{\"users\": $SCRIPT_USERS, \"fault\": {\"mode\": \"garbage\", \"paths\": [\"/validate/polltransaction\"]}}"
start_emulator privacyidea
write_push_config privacyidea "push_timeout = $PUSH_TIMEOUT"
expect_rc 1 "privacyIDEA garbage" -- run_pam login ok auth -a ""
expect_log '^push; user=ok; .*result=error; reason=bad-reply' "privacyIDEA garbage log"

finish
