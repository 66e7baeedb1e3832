#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# The push-provider emulator (push_emulator.py), checked from outside so the
# module's push tests stand on a faithful provider. Duo requests are signed
# here in shell (the canonical string of reference 1.3 through openssl dgst
# -hmac) and sent with curl; answers are read with python's json module.
# Only --selftest runs the emulator's own signer, on the reference vectors.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/slapd.sh"
need curl openssl python3 base64 timeout
# The interpreter itself: a version-manager shim in PATH can cost a second
# per start, and this test starts python often.
PYTHON=$(python3 -c 'import sys; print(sys.executable)')

EMU="$top_srcdir/tests/integration/push_emulator.py"
# duo_unix's mockduo test keys, as in reference 1.4.
IKEY=DIXYZV6YM8IFYVWBINCA
SKEY=yWHSMhWucAcp7qvuH3HWTaSaKABs8Gaddiv1NIRo
SVC_PW=svc-Secret-77
PIN=Pin-4711
make_test_ca
CA="$SLAPD_TLS_DIR/ca.pem"
HDRS="$T/headers"
printf '%s\n' "$SKEY" >"$T/skey"
printf '%s\n' "$SVC_PW" >"$T/svc-pw"
chmod 0600 "$T/skey" "$T/svc-pw"

EMU_PIDS=""
emu_stop_all() {
	for p in $EMU_PIDS; do
		stop_pid "$p"
	done
}
CLEANUP_HOOKS="$CLEANUP_HOOKS emu_stop_all"

# emu_script NAME JSON: replace the script of emulator NAME atomically.
emu_script() {
	printf '%s\n' "$2" >"$T/$1.json.tmp" && mv "$T/$1.json.tmp" "$T/$1.json"
}

# emu_port_written NAME: the emulator NAME wrote its port; dies if it
# exited.
emu_port_written() {
	[ -s "$T/$1.port" ] && return 0
	kill -0 "$EMU_PID" 2>/dev/null ||
		die "emulator $1 exited at start: $(cat "$T/$1.err")"
	return 1
}

# emu_start NAME PROVIDER [ARGS...]: an emulator reading $T/NAME.json and
# logging to $T/NAME.log; sets EMU_PID and EMU_PORT. EMU_FAKETIME=TIME runs
# it under libfaketime from that time on.
emu_start() {
	name=$1
	shift
	set -- "$PYTHON" "$EMU" "$@"
	if [ -n "${EMU_FAKETIME:-}" ]; then
		set -- env LD_PRELOAD="$FAKETIME_LIB" FAKETIME_DONT_FAKE_MONOTONIC=1 \
			FAKETIME="$EMU_FAKETIME" "$@"
	fi
	rm -f "$T/$name.port"
	"$@" --cert "$SLAPD_TLS_DIR/server.pem" --key "$SLAPD_TLS_DIR/server.key" \
		--port-file "$T/$name.port" --script "$T/$name.json" \
		--log "$T/$name.log" >>"$T/$name.err" 2>&1 &
	EMU_PID=$!
	EMU_PIDS="$EMU_PIDS $EMU_PID"
	wait_for 15 emu_port_written "$name" || die "emulator $name did not start within 15 s"
	EMU_PORT=$(cat "$T/$name.port")
}

# req PORT PATH [CURL-ARGS...]: one HTTPS request trusting the test CA. Body
# in $OUT, headers in $HDRS, status in CODE (000: no answer), curl's exit
# status in CURL_RC. Counts requests per port (REQS_<port>).
req() {
	port=$1 path=$2
	shift 2
	eval "REQS_$port=\$((\${REQS_$port:-0} + 1))"
	CODE=$(curl -sS --cacert "$CA" --max-time 30 -D "$HDRS" -o "$OUT" \
		-w '%{http_code}' "$@" "https://localhost:$port$path" 2>"$T/curl.err")
	CURL_RC=$?
}

expect_code() {
	[ "$CODE" = "$1" ] || fail "$2: HTTP $CODE, want $1 ($(head -c 300 "$OUT" 2>/dev/null))"
}

# expect_json WHAT PATH=WANT|PATH~PART...: fields of the JSON body in $OUT,
# by dotted path (list indexes as numbers); ~ means "contains"; the value
# <absent> means no such field. Booleans and null print as in JSON.
expect_json() {
	what=$1
	shift
	"$PYTHON" - "$OUT" "$@" <<'EOF' || fail "$what: $(head -c 400 "$OUT" 2>/dev/null)"
import json, re, sys
try:
    doc = json.load(open(sys.argv[1], encoding="utf-8"))
except ValueError as e:
    sys.exit("  not JSON: %s" % e)
bad = 0
for arg in sys.argv[2:]:
    path, op, want = re.match(r"([^=~]*)([=~])(.*)", arg, re.S).groups()
    v = doc
    try:
        for k in path.split("."):
            v = v[int(k)] if isinstance(v, list) else v[k]
        got = v if isinstance(v, str) else json.dumps(v)
    except (KeyError, IndexError, TypeError, ValueError):
        v = got = "<absent>"
    ok = want in (v if isinstance(v, (str, list)) else got) if op == "~" else got == want
    if not ok:
        print("  %s: got %r, want %s%r" % (path, got, op, want), file=sys.stderr)
        bad += 1
sys.exit(bad)
EOF
}

# jget PATH: one field of the JSON body in $OUT.
jget() {
	"$PYTHON" -c 'import json, sys
v = json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."):
    v = v[int(k)] if isinstance(v, list) else v[k]
print(v)' "$OUT" "$1" 2>/dev/null
}

# expect_logged LOG WHAT KEY=VALUE...: some line of the emulator's log has
# all these fields (values compared as JSON text unless they are strings).
expect_logged() {
	lf=$1 what=$2
	shift 2
	"$PYTHON" - "$lf" "$@" <<'EOF' || fail "$what: no such line in $lf"
import json, sys
def text(v):
    return v if isinstance(v, str) else json.dumps(v)
want = dict(a.split("=", 1) for a in sys.argv[2:])
for line in open(sys.argv[1], encoding="utf-8"):
    rec = json.loads(line)
    if all(text(rec.get(k)) == v for k, v in want.items()):
        sys.exit(0)
sys.exit(1)
EOF
}

# check_log NAME PORT: one well-formed line per request sent to PORT,
# secrets redacted.
check_log() {
	lf="$T/$1.log"
	want=$(eval "echo \${REQS_$2:-0}")
	got=$(wc -l <"$lf")
	[ "$got" -eq "$want" ] || fail "$1 log: $got lines for $want requests"
	"$PYTHON" - "$lf" <<'EOF' || fail "$1 log: malformed or unredacted lines"
import json, sys
keys = {"t", "method", "path", "params", "user", "auth", "status", "outcome"}
for line in open(sys.argv[1], encoding="utf-8"):
    rec = json.loads(line)
    assert keys <= set(rec), line
    assert isinstance(rec["t"], float), line
    for k in ("pass", "passcode", "password"):
        assert rec["params"].get(k, "<redacted>") == "<redacted>", line
EOF
	for secret in "$SKEY" "$SVC_PW" "$PIN"; do
		! grep -qF -- "$secret" "$lf" || fail "$1 log: contains a secret"
	done
}

# ---------------------------------------------------------------- Duo
# duo_date [EPOCH]: an RFC 2822 date as duo_unix writes it.
duo_date() {
	LC_ALL=C date -u ${1:+-d "@$1"} '+%a, %d %b %Y %H:%M:%S +0000'
}

# duo_sig SKEY DATE METHOD HOST PATH PARAMS [sha1]: hex HMAC (SHA-512 unless
# told) over the 5-line canonical string of reference 1.3. PARAMS is
# already encoded and sorted (1.2); no newline after it.
duo_sig() {
	printf '%s\n%s\n%s\n%s\n%s' "$2" "$3" "$4" "$5" "$6" |
		openssl dgst "-${7:-sha512}" -hmac "$1" | awk '{print $NF}'
}

basic() {
	printf 'Basic %s' "$(printf '%s:%s' "$1" "$2" | base64 -w0)"
}

# duo METHOD PATH PARAMS [WIRE]: a request to the Duo emulator ($DUO), signed
# now with the right keys over PARAMS; WIRE (default PARAMS) is what is sent.
duo() {
	d=$(duo_date)
	a=$(basic "$IKEY" "$(duo_sig "$SKEY" "$d" "$1" localhost "$2" "$3")")
	duo_send "$1" "$2" "${4-$3}" -H "Date: $d" -H "Authorization: $a"
}

# duo_send METHOD PATH WIRE [CURL-ARGS...]: POST WIRE as a form body, or GET
# with WIRE as the query string.
duo_send() {
	m=$1 p=$2 w=$3
	shift 3
	if [ "$m" = POST ]; then
		req "$DUO" "$p" --data-binary "$w" "$@"
	else
		req "$DUO" "$p${w:+?$w}" "$@"
	fi
}

log "emulator self-test and shell signer against reference 1.4"
"$PYTHON" "$EMU" --selftest 2>"$T/selftest.err" ||
	fail "push_emulator.py --selftest: $(cat "$T/selftest.err")"
RD='Tue, 21 Aug 2012 17:29:18 -0000'
RH=api-abcd1234.duosecurity.com
E3P='async=1&device=auto&display_username=Alice%20Example&factor=push&ipaddr=192.0.2.10&pushinfo=host%3Dbastion01%26service%3Dsshd&type=Login&username=alice'
E1=8ec9ef5a14f275c41cfc0bb734ffc2644336e160d18c177390a1b7a9c9857c64d456ba78eea7a3e4d04fe208914b3756d4ca81ae039c7dc36fe920500eecf8d3
E2=44c43da8973c702b78e20787fb68e984547ee8a0a0853e2c38c0046f40b595db191b76bb98ec889200111cf3a0576c0ab7583ec0c3e2365d7b6d70a6fcceff86
E4=c881ea30c6631a98b5f902c83b37b1af2625296e7b322f361ae28532da3d30237234c114cbbf9939601a42c36c8316488e048845e06527179ff10e437e0167a1
E5=22a40af78256a75f5e905d413a6d0aa6cbd2f1fd7bb92eec10c3358546322b5510f5cfb566ba731a1052b5f3edab25d5462a1ec19138ac86aa9745f112e8bf68
TXID5=45f7c92b-f45f-4862-8545-e0f58e78075a
[ "$(duo_sig "$SKEY" "$RD" GET "$RH" /auth/v2/check '')" = "$E1" ] || fail "shell signer: E1"
[ "$(duo_sig "$SKEY" "$RD" GET "$RH" /auth/v2/check '' sha1)" = 8e21b08d3d6065a9b1c8d081d811619c705eb0ad ] ||
	fail "shell signer: E1 SHA-1"
[ "$(duo_sig "$SKEY" "$RD" POST "$RH" /auth/v2/preauth 'ipaddr=192.0.2.10&username=alice')" = "$E2" ] ||
	fail "shell signer: E2"
[ "$(duo_sig "$SKEY" "$RD" POST "$RH" /auth/v2/auth "$E3P")" = b466d4b2e3278760c0d1ecc47f7307d7889fa2630213eaa196a6d70421f825ab1f7fcb10528c58691ce8b06ff3347af8974fd277c1465d007d05ffbcdd9eb539 ] ||
	fail "shell signer: E3"
[ "$(duo_sig "$SKEY" "$RD" POST "$RH" /auth/v2/auth 'factor=passcode&passcode=123456&username=alice')" = "$E4" ] ||
	fail "shell signer: E4"
[ "$(duo_sig "$SKEY" "$RD" GET "$RH" /auth/v2/auth_status "txid=$TXID5")" = "$E5" ] ||
	fail "shell signer: E5"

log "the reference's own requests, at the reference's date (libfaketime)"
[ -f "$FAKETIME_LIB" ] || die "libfaketime not found: run contrib/install-deps.sh"
emu_script ref '{"users": {"alice": {}}}'
EMU_FAKETIME="@2012-08-21 17:29:18" emu_start ref duo --ikey "$IKEY" --skey-file "$T/skey"
DUO=$EMU_PORT
H="Host: $RH"
duo_send GET /auth/v2/check '' -H "$H" -H "Date: $RD" -H "Authorization: Basic RElYWVpWNllNOElGWVZXQklOQ0E6OGVjOWVmNWExNGYyNzVjNDFjZmMwYmI3MzRmZmMyNjQ0MzM2ZTE2MGQxOGMxNzczOTBhMWI3YTljOTg1N2M2NGQ0NTZiYTc4ZWVhN2EzZTRkMDRmZTIwODkxNGIzNzU2ZDRjYTgxYWUwMzljN2RjMzZmZTkyMDUwMGVlY2Y4ZDM="
expect_code 200 "E1 as printed in the reference"
expect_json "E1: the emulator's clock is the reference's" 'response.time~134557'
duo_send GET /auth/v2/check '' -H "$H" -H "Date: $RD" \
	-H "Authorization: $(basic "$IKEY" 8e21b08d3d6065a9b1c8d081d811619c705eb0ad)"
expect_code 200 "E1 signed with HMAC-SHA1"
duo_send POST /auth/v2/preauth 'ipaddr=192.0.2.10&username=alice' -H "$H" -H "Date: $RD" \
	-H "Authorization: $(basic "$IKEY" "$E2")"
expect_code 200 "E2 preauth"
expect_json "E2 preauth" stat=OK response.result=auth
duo_send POST /auth/v2/auth "$E3P" -H "$H" -H "Date: $RD" -H "Authorization: Basic RElYWVpWNllNOElGWVZXQklOQ0E6YjQ2NmQ0YjJlMzI3ODc2MGMwZDFlY2M0N2Y3MzA3ZDc4ODlmYTI2MzAyMTNlYWExOTZhNmQ3MDQyMWY4MjVhYjFmN2ZjYjEwNTI4YzU4NjkxY2U4YjA2ZmYzMzQ3YWY4OTc0ZmQyNzdjMTQ2NWQwMDdkMDVmZmJjZGQ5ZWI1Mzk="
expect_code 200 "E3 async push as printed in the reference"
expect_json "E3 gives a txid" 'response.txid~-'
duo_send POST /auth/v2/auth 'factor=passcode&passcode=123456&username=alice' -H "$H" \
	-H "Date: $RD" -H "Authorization: $(basic "$IKEY" "$E4")"
expect_code 400 "E4: the passcode factor is not emulated"
duo_send GET /auth/v2/auth_status "txid=$TXID5" -H "$H" -H "Date: $RD" \
	-H "Authorization: $(basic "$IKEY" "$E5")"
expect_json "E5: signature fine, txid unknown" stat=FAIL code=40002
[ "$(grep -c '"auth": "ok"' "$T/ref.log")" -eq 6 ] ||
	fail "reference requests: not all six signatures accepted ($(cat "$T/ref.log"))"
check_log ref "$DUO"

log "Duo: live requests signed in shell"
ESC=$(printf '\033')
emu_script duo '{"users": {
	"nurse1": {"device": "iPhone 15", "push": "approve", "delay": 4},
	"nurse2": {"push": "deny", "delay": 0},
	"nurse3": {"push": "fraud", "delay": 0},
	"nurse4": {"push": "never"},
	"bypass": {"preauth": "allow"},
	"locked": {"preauth": "deny", "message": "Locked \u001b[31mout"},
	"newbie": {"enrolled": false}}}'
emu_start duo duo --ikey "$IKEY" --skey-file "$T/skey"
DUO=$EMU_PORT
DUO_PID=$EMU_PID

req "$DUO" /auth/v2/ping
expect_code 200 "ping, unsigned"
now=$(date +%s)
pt=$(jget response.time)
case $pt in
'' | *[!0-9]*) fail "ping: time '$pt' is not an integer" ;;
*) if [ "$pt" -lt $((now - 300)) ] || [ "$pt" -gt $((now + 300)) ]; then
	fail "ping time $pt is not now ($now)"
fi ;;
esac
req "$DUO" /auth/v2/check
expect_json "check, unsigned" code=40101
duo GET /auth/v2/check ''
expect_code 200 "check, signed"

duo POST /auth/v2/preauth username=nurse1
expect_json "preauth nurse1" response.result=auth 'response.devices.0.display_name=iPhone 15' \
	'response.devices.0.capabilities~push'
duo POST /auth/v2/preauth username=bypass
expect_json "preauth bypass" response.result=allow 'response.status_msg~ '
duo POST /auth/v2/preauth username=locked
expect_json "preauth locked, scripted message" response.result=deny "response.status_msg=Locked ${ESC}[31mout"
duo POST /auth/v2/preauth username=newbie
expect_json "preauth newbie" response.result=enroll 'response.enroll_portal_url~https://'
duo POST /auth/v2/preauth username=nobody
expect_json "preauth unknown user" response.result=deny 'response.status_msg~ '

d=$(duo_date)
duo_send POST /auth/v2/preauth username=nurse1 -H "X-Duo-Date: $d" \
	-H "Authorization: $(basic "$IKEY" "$(duo_sig "$SKEY" "$d" POST localhost /auth/v2/preauth username=nurse1)")"
expect_code 200 "X-Duo-Date instead of Date"
duo_send POST /auth/v2/preauth username=nurse1 -H "Host: LocalHost:$DUO" -H "Date: $d" \
	-H "Authorization: $(basic "$IKEY" "$(duo_sig "$SKEY" "$d" POST localhost /auth/v2/preauth username=nurse1)")"
expect_code 200 "Host with a port and capitals, signed as lower-case host"
duo_send GET /auth/v2/check '' -H "Date: $d" \
	-H "Authorization: $(basic "$IKEY" "$(duo_sig "$SKEY" "$d" GET localhost /auth/v2/check '' sha1)")"
expect_code 200 "HMAC-SHA1 signature"

# poll_status TXID: auth_status until the result is not "waiting" (30 s at
# most); the last answer stays in $OUT.
poll_status() {
	wait_for -i 0.25 30 duo_decided "$1"
}

duo_decided() {
	duo GET /auth/v2/auth_status "txid=$1"
	[ "$(jget response.result)" != waiting ]
}

# The body on the wire is unsorted and encodes spaces as "+": the emulator
# must decode and re-encode (reference 1.2) to match the signature.
t0=$(now_ms)
duo POST /auth/v2/auth \
	'async=1&device=auto&display_username=Nurse%20One&factor=push&pushinfo=host%3Dws1%26service%3Dsshd&username=nurse1' \
	'username=nurse1&factor=push&device=auto&async=1&display_username=Nurse+One&pushinfo=host%3Dws1%26service%3Dsshd'
expect_code 200 "auth push, wire body re-encoded"
TX=$(jget response.txid)
duo GET /auth/v2/auth_status "txid=$TX"
expect_json "nurse1 right after the push" response.result=waiting response.status=pushed
poll_status "$TX" || fail "nurse1: still waiting after 30 s"
t1=$(now_ms)
expect_json "nurse1 approves" response.result=allow response.status=allow
[ $((t1 - t0)) -ge 3900 ] || fail "nurse1 approved after $((t1 - t0)) ms, before its 4 s delay"
duo GET /auth/v2/auth_status "txid=$TX"
expect_json "a txid gives its final result once" stat=FAIL code=40002
expect_code 400 "a txid gives its final result once"

for u in nurse2:deny nurse3:fraud; do
	duo POST /auth/v2/auth "async=1&device=auto&factor=push&username=${u%%:*}"
	poll_status "$(jget response.txid)" || fail "${u%%:*}: still waiting after 30 s"
	expect_json "${u%%:*} answers ${u#*:}" response.result=deny "response.status=${u#*:}"
done
duo POST /auth/v2/auth 'device=auto&factor=push&username=nurse2'
expect_json "synchronous auth (no async)" response.result=deny

duo POST /auth/v2/auth 'async=1&device=auto&factor=push&username=nurse4'
TX=$(jget response.txid)
duo GET /auth/v2/auth_status "txid=$TX"
expect_json "nurse4 never answers" response.result=waiting
req "$DUO" /_test/answer -d user=nurse4 -d action=approve
expect_code 200 "/_test/answer"
duo GET /auth/v2/auth_status "txid=$TX"
expect_json "nurse4 approved through /_test/answer" response.result=allow

log "Duo: refused credentials"
d=$(duo_date)
good=$(duo_sig "$SKEY" "$d" POST localhost /auth/v2/preauth username=nurse1)
case "$good" in
*0) bad="${good%?}1" ;;
*) bad="${good%?}0" ;;
esac
duo_send POST /auth/v2/preauth username=nurse1 -H "Date: $d" -H "Authorization: $(basic "$IKEY" "$bad")"
expect_code 401 "signature one hex digit off"
expect_json "signature one hex digit off" stat=FAIL code=40103
duo_send POST /auth/v2/preauth username=nurse2 -H "Date: $d" -H "Authorization: $(basic "$IKEY" "$good")"
expect_json "parameters changed after signing" code=40103
duo_send POST /auth/v2/preauth username=nurse1 -H "Date: $d" \
	-H "Authorization: $(basic "$IKEY" "$(duo_sig "${SKEY%?}X" "$d" POST localhost /auth/v2/preauth username=nurse1)")"
expect_json "wrong skey" code=40103
duo_send POST /auth/v2/preauth username=nurse1 -H "Date: $d" \
	-H "Authorization: $(basic DIWRONGWRONGWRONGWRO "$good")"
expect_code 401 "unknown ikey"
expect_json "unknown ikey" code=40102
old=$(duo_date $(($(date +%s) - 600)))
duo_send POST /auth/v2/preauth username=nurse1 -H "Date: $old" \
	-H "Authorization: $(basic "$IKEY" "$(duo_sig "$SKEY" "$old" POST localhost /auth/v2/preauth username=nurse1)")"
expect_code 401 "Date 10 minutes old"
duo_send POST /auth/v2/preauth username=nurse1 -H "Authorization: $(basic "$IKEY" "$good")"
expect_code 401 "no Date header"
duo_send POST /auth/v2/preauth username=nurse1 -H "Date: $d"
expect_json "no Authorization" code=40101
expect_logged "$T/duo.log" "bad signature logged" auth=bad-signature status=401 user=nurse1
expect_logged "$T/duo.log" "unknown ikey logged" auth=bad-ikey status=401
expect_logged "$T/duo.log" "stale date logged" auth=bad-date status=401
expect_logged "$T/duo.log" "missing credentials logged" auth=missing status=401

log "Duo: malformed requests get a 400 and the server lives on"
duo GET /auth/v2/preauth username=nurse1
expect_code 405 "GET on a POST endpoint"
duo POST /auth/v2/preauth 'username=%ZZ&&=' 'username=%ZZ&&='
expect_code 400 "undecodable form body"
# raw REQUEST: sent as is over TLS; the answer in $OUT.
raw() {
	eval "REQS_$DUO=\$((REQS_$DUO + 1))"
	printf '%b' "$1" | timeout 20 openssl s_client -quiet -connect "127.0.0.1:$DUO" \
		>"$OUT" 2>/dev/null
}
raw 'NOT AN HTTP REQUEST LINE\r\n\r\n'
grep -q 'Error code: 400' "$OUT" || fail "a garbage request line: no 400 ($(head -c 300 "$OUT"))"
raw 'GET /auth/v2/ping HTTP/1.1\r\nHost: localhost\r\nContent-Length: many\r\n\r\n'
grep -q '^HTTP/1\.1 400' "$OUT" || fail "a bad Content-Length: no 400 ($(head -n 1 "$OUT"))"
req "$DUO" /auth/v2/ping
expect_code 200 "ping after malformed requests"

log "Duo: faults"
emu_script duo '{"users": {"nurse1": {}}, "fault": {"mode": "status", "status": 429,
	"retry_after": 2, "times": 1, "paths": ["/auth/v2/preauth"]}}'
duo POST /auth/v2/preauth username=nurse1
expect_code 429 "fault 429"
grep -qi '^Retry-After: 2' "$HDRS" || fail "fault 429: no Retry-After: 2 header"
expect_json "fault 429: Duo FAIL envelope" stat=FAIL code=42901
duo POST /auth/v2/preauth username=nurse1
expect_code 200 "fault with times=1: the second request passes"
emu_script duo '{"users": {}, "fault": {"mode": "status", "status": 500}}'
req "$DUO" /auth/v2/ping
expect_code 500 "fault 500"
expect_json "fault 500: Duo FAIL envelope" stat=FAIL code=50001
emu_script duo '{"users": {}, "fault": {"mode": "garbage"}}'
req "$DUO" /auth/v2/ping
expect_code 200 "fault garbage"
! "$PYTHON" -c 'import json, sys; json.load(open(sys.argv[1]))' "$OUT" 2>/dev/null ||
	fail "fault garbage: the body is JSON"
emu_script duo '{"users": {}, "fault": {"mode": "oversize"}}'
req "$DUO" /auth/v2/ping
expect_code 200 "fault oversize"
[ "$(wc -c <"$OUT")" -eq 2097152 ] || fail "fault oversize: $(wc -c <"$OUT") bytes, want 2 MiB"
expect_json "fault oversize: valid JSON" stat=OK
emu_script duo '{"users": {}, "fault": {"mode": "missing-field"}}'
req "$DUO" /auth/v2/ping
expect_json "fault missing-field" stat=OK response='<absent>'
emu_script duo '{"users": {}, "fault": {"mode": "close"}}'
req "$DUO" /auth/v2/ping
if [ "$CODE" != 000 ] || [ "$CURL_RC" -eq 0 ]; then
	fail "fault close: HTTP $CODE, curl exit $CURL_RC; want no answer"
fi
# A hanging request must not hold up others.
emu_script duo '{"users": {}, "fault": {"mode": "hang", "paths": ["/auth/v2/check"]}}'
eval "REQS_$DUO=\$((REQS_$DUO + 1))"
curl -sS --cacert "$CA" --max-time 8 -o /dev/null "https://localhost:$DUO/auth/v2/check" \
	2>/dev/null &
hang_pid=$!
sleep 0.5
req "$DUO" /auth/v2/ping
expect_code 200 "ping while another request hangs"
kill -0 "$hang_pid" 2>/dev/null || fail "fault hang: the hanging request ended too early"
wait "$hang_pid"
hrc=$?
[ "$hrc" -eq 28 ] || fail "fault hang: curl exit $hrc, want 28 (timeout)"
expect_logged "$T/duo.log" "hang logged without an answer" path=/auth/v2/check status=null \
	outcome=fault-hang
check_log duo "$DUO"

log "privacyIDEA"
emu_script pi '{"users": {
	"nurse1": {"device": "iPhone 15", "push": "never"},
	"nurse2": {"push": "never"},
	"pinned": {"pin": "'"$PIN"'", "push": "never"},
	"number": {"push": "never", "number": "42"},
	"late": {"push": "never", "expiry": 1},
	"policy": {"push": "never", "finalize": "reject", "finalize_message": "Not at this hour."},
	"newbie": {"enrolled": false}}}'
emu_start pi privacyidea
PI=$EMU_PORT
req "$PI" /validate/check -d user=nurse1 -d pass=
expect_code 200 "check nurse1"
expect_json "check nurse1 -> push challenge" result.status=true result.value=false \
	result.authentication=CHALLENGE detail.multi_challenge.0.type=push \
	detail.multi_challenge.0.client_mode=poll 'detail.message~iPhone 15'
TX=$(jget detail.transaction_id)
printf '%s\n' "$TX" | grep -Eq '^[0-9]{20}$' || fail "transaction id '$TX' is not 20 digits"
expect_json "multi_challenge carries the transaction id" "detail.multi_challenge.0.transaction_id=$TX"
req "$PI" "/validate/polltransaction?transaction_id=$TX"
expect_json "poll before the answer" result.value=false detail.challenge_status=pending
req "$PI" /_test/state
expect_json "/_test/state lists the pending push" pending.0.user=nurse1 "pending.0.id=$TX"
req "$PI" /_test/answer -d user=nurse1 -d action=approve
expect_code 200 "/_test/answer approve"
req "$PI" "/validate/polltransaction?transaction_id=$TX"
expect_json "poll after approval" result.value=true detail.challenge_status=accept
req "$PI" /validate/check -d user=nurse1 -d pass= -d "transaction_id=$TX"
expect_json "finalize approved" result.value=true result.authentication=ACCEPT
req "$PI" /validate/check -d user=nurse1 -d pass= -d "transaction_id=$TX"
expect_json "finalize twice" result.value=false result.authentication=REJECT

req "$PI" /validate/check -H 'Content-Type: application/json' -d '{"user": "nurse2", "pass": ""}'
expect_json "check with a JSON body" result.authentication=CHALLENGE
TX=$(jget detail.transaction_id)
req "$PI" /_test/answer -d user=nurse2 -d action=deny
req "$PI" "/validate/polltransaction?transaction_id=$TX"
expect_json "poll after decline" result.value=false detail.challenge_status=declined \
	result.authentication=DECLINED
req "$PI" /validate/check -d user=nurse2 -d pass= -d "transaction_id=$TX"
expect_json "finalize declined" result.value=false result.authentication=DECLINED
req "$PI" '/validate/check?user=nurse2&pass='
expect_json "check with a query string" result.authentication=CHALLENGE

req "$PI" /validate/check -d user=pinned -d pass=
expect_json "wrong PIN" result.authentication=REJECT 'detail.transaction_id=<absent>'
req "$PI" /validate/check -d user=pinned -d "pass=$PIN"
expect_json "right PIN" result.authentication=CHALLENGE
req "$PI" /validate/check -d user=number -d pass=
expect_json "number matching in the message" 'detail.message~42'
req "$PI" /validate/check -d user=policy -d pass=
TX=$(jget detail.transaction_id)
req "$PI" /_test/answer -d user=policy -d action=approve
req "$PI" "/validate/polltransaction?transaction_id=$TX"
expect_json "finalize=reject: the poll says approved" result.value=true detail.challenge_status=accept
req "$PI" /validate/check -d user=policy -d pass= -d "transaction_id=$TX"
expect_json "finalize=reject: REJECT after the approval" result.value=false \
	result.authentication=REJECT 'detail.message=Not at this hour.'
req "$PI" /validate/check -d user=newbie -d pass=
expect_json "no push token" result.authentication=REJECT 'detail.transaction_id=<absent>'

req "$PI" /validate/check -d user=late -d pass=
TX=$(jget detail.transaction_id)
sleep 2
req "$PI" /_test/answer -d user=late -d action=approve
req "$PI" "/validate/polltransaction?transaction_id=$TX"
expect_json "approved after expiry" result.value=false detail.challenge_status=pending
req "$PI" /validate/check -d user=late -d pass= -d "transaction_id=$TX"
expect_json "finalize after expiry" result.value=false result.authentication=REJECT

req "$PI" /validate/polltransaction
expect_code 400 "poll without transaction_id"
expect_json "poll without transaction_id" result.status=false result.error.code=905
req "$PI" /validate/check -d user=nobody -d pass=
expect_code 400 "unknown user"
expect_json "unknown user" result.status=false result.error.code=904
req "$PI" /validate/check -H 'Content-Type: application/json' -d '{"user": '
expect_code 400 "truncated JSON body"

emu_script pi '{"users": {}, "fault": {"mode": "status", "status": 500, "times": 1}}'
req "$PI" /validate/check -d user=nurse1 -d pass=
expect_code 500 "privacyIDEA fault 500"
expect_json "privacyIDEA fault 500: error envelope" result.status=false
emu_script pi '{"users": {}, "fault": {"mode": "missing-field"}}'
req "$PI" /validate/check -d user=nurse1 -d pass=
expect_json "privacyIDEA fault missing-field" result.status=true result.value='<absent>'
check_log pi "$PI"

log "privacyIDEA with a service account"
emu_script pisvc '{"users": {"nurse1": {"push": "never"}}}'
emu_start pisvc privacyidea --service-user svc --service-password-file "$T/svc-pw"
PIS=$EMU_PORT
req "$PIS" /validate/check -d user=nurse1 -d pass=
expect_code 401 "no token"
req "$PIS" /auth -d username=svc -d password=wrong
expect_code 401 "/auth with a wrong password"
req "$PIS" /auth -d username=svc -d "password=$SVC_PW"
expect_code 200 "/auth"
TOKEN=$(jget result.value.token)
[ -n "$TOKEN" ] || fail "/auth: no token"
req "$PIS" /validate/check -H "PI-Authorization: $TOKEN" -d user=nurse1 -d pass=
expect_json "check with PI-Authorization" result.authentication=CHALLENGE
TX=$(jget detail.transaction_id)
req "$PIS" "/validate/polltransaction?transaction_id=$TX" -H "Authorization: $TOKEN"
expect_code 200 "poll with Authorization"
req "$PIS" "/validate/polltransaction?transaction_id=$TX" -H "Authorization: ${TOKEN%?}x"
expect_code 401 "a forged token"
expect_logged "$T/pisvc.log" "missing token logged" auth=missing status=401
expect_logged "$T/pisvc.log" "forged token logged" auth=bad-token status=401
expect_logged "$T/pisvc.log" "good token logged" auth=ok path=/validate/check
check_log pisvc "$PIS"

log "SIGTERM with a request hanging"
emu_script duo '{"users": {}, "fault": {"mode": "hang"}}'
curl -sS --cacert "$CA" --max-time 60 -o /dev/null "https://localhost:$DUO/auth/v2/ping" \
	2>/dev/null &
hang_pid=$!
sleep 0.5
kill -TERM "$DUO_PID"
if ! wait_for 10 exited "$DUO_PID"; then
	fail "emulator still running 10 s after SIGTERM"
else
	wait "$DUO_PID"
	erc=$?
	[ "$erc" -eq 0 ] || fail "emulator exited $erc on SIGTERM, want 0"
fi
! wait "$hang_pid" || fail "the hanging request got an answer"
finish
