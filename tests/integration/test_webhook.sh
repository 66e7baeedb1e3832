#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# The alert webhook (daemon/detect/webhook.c) against a local HTTPS receiver on
# the test CA, through tests/integration/webhookdrive: alerts arrive as
# intact JSON; a receiver signed by another CA gets nothing; 500 then 200
# is retried; a hanging receiver never holds up webhook_send (measured
# against the configured timeout) and a full queue drops the oldest;
# https_proxy & co. in the environment are ignored.
. "${top_srcdir:?}/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/slapd.sh"

need python3 openssl
DRIVE="$top_builddir/tests/integration/webhookdrive"
[ -x "$DRIVE" ] || die "$DRIVE not built"
make_test_ca

RECV="$T/recv.py"
cat >"$RECV" <<'EOF'
# A one-path HTTPS receiver: logs each POST body (one line) to LOG, then
# answers per MODE: ok (200), fail-once (500, then 200), hang (no answer).
# MODE proxy: plain TCP, logs each connection, answers nothing useful.
import http.server, json, socket, ssl, sys, threading, time

mode, cert, key, portfile, logpath = sys.argv[1:6]
lock = threading.Lock()
seen = [0]

def record(obj):
    with lock, open(logpath, "a") as f:
        f.write(json.dumps(obj) + "\n")

class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n).decode("utf-8")
        with lock:
            seen[0] += 1
            k = seen[0]
        status = 200
        if mode == "fail-once" and k == 1:
            status = 500
        record({"body": body, "ctype": self.headers.get("Content-Type"),
                "status": None if mode == "hang" else status})
        if mode == "hang":
            time.sleep(60)
            return
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

class S(http.server.ThreadingHTTPServer):
    daemon_threads = True

if mode == "proxy":
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(16)
    port = ls.getsockname()[1]
else:
    srv = S(("127.0.0.1", 0), H)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert, key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    port = srv.server_address[1]
with open(portfile + ".tmp", "w") as f:
    f.write(str(port))
import os
os.rename(portfile + ".tmp", portfile)
if mode == "proxy":
    while True:
        c, _ = ls.accept()
        record({"proxy": "connection"})
        c.close()
else:
    srv.serve_forever()
EOF

RECV_PIDS=""
stop_receivers() {
	for p in $RECV_PIDS; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	RECV_PIDS=""
}
CLEANUP_HOOKS="$CLEANUP_HOOKS stop_receivers"

# start_recv NAME MODE: receiver NAME in the background; sets PORT and
# LOGF ($T/NAME.log).
start_recv() {
	LOGF="$T/$1.log"
	: >"$LOGF"
	python3 "$RECV" "$2" "$SLAPD_TLS_DIR/server.pem" \
		"$SLAPD_TLS_DIR/server.key" "$T/$1.port" "$LOGF" \
		>>"$T/recv.out" 2>&1 &
	RECV_PIDS="$RECV_PIDS $!"
	wait_for 10 test -s "$T/$1.port" ||
		die "receiver $1 did not start: $(cat "$T/recv.out")"
	PORT=$(cat "$T/$1.port")
}

# drive NAME ARGS...: webhookdrive, stdout in $T/NAME.out, stderr in
# $T/NAME.err; sets ELAPSED_MS.
drive() {
	name=$1
	shift
	t0=$(now_ms)
	"$DRIVE" "$@" >"$T/$name.out" 2>"$T/$name.err" ||
		fail "$name: webhookdrive exited $?: $(cat "$T/$name.err")"
	ELAPSED_MS=$(($(now_ms) - t0))
}

CA="$SLAPD_TLS_DIR/ca.pem"

# 1. Delivery: every body arrives byte for byte, as JSON, in order.
start_recv ok ok
drive ok "https://localhost:$PORT/hook" --ca "$CA" --count 3
grep '^sent ' "$T/ok.out" | sed 's/^sent //' >"$T/ok.sent"
python3 - "$T/ok.log" "$T/ok.sent" <<'EOF' || fail "delivery: bodies differ or are not JSON"
import json, sys
got = [json.loads(l) for l in open(sys.argv[1])]
sent = [l.rstrip("\n") for l in open(sys.argv[2], encoding="utf-8")]
assert len(sent) == 3, sent
assert [g["body"] for g in got] == sent, (got, sent)
for g in got:
    assert g["ctype"] == "application/json", g
    a = json.loads(g["body"])
    assert a["alert"] == "PG-ALERT-BRUTEFORCE" and a["severity"] == "alert"
    assert a["source"] == 'evil"host\\\x01\u00e9', a["source"]
assert json.loads(got[2]["body"])["user"] == "nurse3"
EOF
grep -q '^delivered=3 failed=0 retries=0 dropped=0$' "$T/ok.out" ||
	fail "delivery: counters: $(tail -n 1 "$T/ok.out")"

# 2. The wrong CA: refused, nothing delivered, the failure logged.
: >"$LOGF"
drive wrongca "https://localhost:$PORT/hook" \
	--ca "$SLAPD_TLS_DIR/other-ca.pem" --attempts 2 --backoff 100
[ ! -s "$LOGF" ] || fail "wrong CA: the receiver got a request"
grep -q '^delivered=0 failed=1 ' "$T/wrongca.out" ||
	fail "wrong CA: counters: $(tail -n 1 "$T/wrongca.out")"
grep -q 'alert webhook: delivery failed after 2 attempt' "$T/wrongca.err" ||
	fail "wrong CA: no failure logged: $(cat "$T/wrongca.err")"

# 3. The system store does not know the test CA either.
drive sysca "https://localhost:$PORT/hook" --attempts 1
[ ! -s "$LOGF" ] || fail "system CA: the receiver got a request"
grep -q '^delivered=0 failed=1 ' "$T/sysca.out" ||
	fail "system CA: counters: $(tail -n 1 "$T/sysca.out")"

# 4. The environment's proxies are ignored: the delivery goes straight
# to the receiver and the "proxy" sees no connection.
start_recv proxy proxy
PROXY_LOG=$LOGF
PROXY_PORT=$PORT
PORT=$(cat "$T/ok.port")
LOGF="$T/ok.log"
: >"$LOGF"
https_proxy="http://127.0.0.1:$PROXY_PORT" \
	HTTPS_PROXY="http://127.0.0.1:$PROXY_PORT" \
	ALL_PROXY="http://127.0.0.1:$PROXY_PORT" \
	all_proxy="http://127.0.0.1:$PROXY_PORT" \
	drive envproxy "https://localhost:$PORT/hook" --ca "$CA" --count 1
[ ! -s "$PROXY_LOG" ] || fail "env proxy: the environment's proxy was used"
[ "$(wc -l <"$LOGF")" -eq 1 ] || fail "env proxy: not delivered directly"
# ... while a configured proxy is used (and, being no proxy, fails).
drive cfgproxy "https://localhost:$PORT/hook" --ca "$CA" --attempts 1 \
	--proxy "http://127.0.0.1:$PROXY_PORT"
[ -s "$PROXY_LOG" ] || fail "configured proxy: not used"
grep -q '^delivered=0 failed=1 ' "$T/cfgproxy.out" ||
	fail "configured proxy: counters: $(tail -n 1 "$T/cfgproxy.out")"

# 5. 500 then 200: retried once, delivered.
start_recv retry fail-once
drive retry "https://localhost:$PORT/hook" --ca "$CA" --backoff 200
[ "$(wc -l <"$LOGF")" -eq 2 ] || fail "retry: $(wc -l <"$LOGF") requests, want 2"
grep -q '^delivered=1 failed=0 retries=1 dropped=0$' "$T/retry.out" ||
	fail "retry: counters: $(tail -n 1 "$T/retry.out")"
python3 - "$LOGF" <<'EOF' || fail "retry: the two attempts differ"
import json, sys
a, b = [json.loads(l) for l in open(sys.argv[1])]
assert a["status"] == 500 and b["status"] == 200 and a["body"] == b["body"]
EOF

# 6. A hanging receiver: webhook_send never waits for it, a full queue
# drops its oldest entries, and stopping is bounded by the drain time
# (2 s), not the request timeout: the request in flight is aborted.
# Measured against the configured timeout, never an absolute time.
TIMEOUT_S=8
start_recv hang hang
drive hang "https://localhost:$PORT/hook" --ca "$CA" --timeout "$TIMEOUT_S" \
	--queue 2 --count 6 --drain 2000
[ "$(wc -l <"$LOGF")" -eq 1 ] ||
	fail "hang: $(wc -l <"$LOGF") requests reached the receiver, want 1"
send_ms=$(sed -n 's/^send_max_ms=//p' "$T/hang.out")
[ -n "$send_ms" ] || fail "hang: no send_max_ms"
factor=10
[ -n "${VALGRIND:-}" ] && factor=3
[ "$((${send_ms:-999999} * factor))" -lt "$((TIMEOUT_S * 1000))" ] ||
	fail "hang: webhook_send took $send_ms ms (timeout ${TIMEOUT_S} s)"
[ "$ELAPSED_MS" -lt "$((TIMEOUT_S * 1000))" ] ||
	fail "hang: the run took $ELAPSED_MS ms, not bounded by --drain"
grep -q 'queue full, oldest alert dropped' "$T/hang.err" ||
	fail "hang: no drop logged: $(cat "$T/hang.err")"
grep -q '^delivered=0 failed=1 retries=0 dropped=5$' "$T/hang.out" ||
	fail "hang: counters: $(tail -n 1 "$T/hang.out")"
grep -q 'stopped; .* not delivered' "$T/hang.err" ||
	fail "hang: shutdown drop not logged: $(cat "$T/hang.err")"

# 7. The URL must be https://.
"$DRIVE" "http://localhost:$PORT/hook" >"$T/http.out" 2>&1 &&
	fail "http:// URL accepted"
grep -q 'not an https:// URL' "$T/http.out" ||
	fail "http:// URL: no reason: $(cat "$T/http.out")"

stop_receivers
finish
