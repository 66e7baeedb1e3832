#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Logins refused before the prompt are decisions too: a PREAUTH answered
# "locked" (a locked account, or a source blocked after spraying) is
# recorded as preauth-deny, aggregated per user and source so that a
# script hammering a locked account cannot flood the trail (nor a local
# user by inventing sources), and the alert a request raises is recorded
# after that request's own records, with the service, tty and host it
# knows.
. "${top_srcdir:?}/tests/integration/lib.sh"
need python3 setpriv

[ "$(id -u)" = 0 ] || skip "asking as nobody needs root"

PG_MAX_FAILURES=3
write_config
cat >>"$CONF" <<CONF
[detect]
spray_users = 3
spray_window = 600
spray_block = 120
CONF
# At info, as in production: a debug line per request is expected.
sed -i 's/^log_level = .*/log_level = 1/' "$CONF"
start_daemon

# lines N LINE: LINE N times, as pgreq arguments.
lines() {
	i=0
	while [ "$i" -lt "$1" ]; do
		printf '%s\n' "$2"
		i=$((i + 1))
	done
}

# records: the trail as "EVENT USER SERVICE TTY RHOST REASON COUNT" lines.
records() {
	python3 - "$AUDIT_FILE" <<'PY'
import json, sys
for raw in open(sys.argv[1], "rb"):
    o = json.loads(raw)
    print(*[o.get(k) if o.get(k) is not None else "-" for k in
            ("event", "user", "service", "tty", "rhost", "reason", "count")])
PY
}

# --- a locked account hammered from two hosts --------------------------------
R1="rhost=198.51.100.9"
R2="rhost=198.51.100.10"
# pgreq takes a line per argument: split the generated lines on newlines.
IFS='
'
set -- $(lines 3 "v1 REPORT user=clerk1 factor=totp result=failure reason=bad-code service=sshd tty=ssh $R1")
pgreq "$@" >"$OUT"
set -- $(lines 50 "v1 PREAUTH user=clerk1 service=sshd tty=ssh $R1") \
	$(lines 20 "v1 PREAUTH user=clerk1 service=sshd tty=ssh $R2")
pgreq "$@" >"$OUT"
unset IFS
[ "$(grep -c '^v1 OK locked=yes until=' "$OUT")" -eq 70 ] || fail "clerk1 is not locked: $(sort "$OUT" | uniq -c)"
n=$(grep -c 'PREAUTH user=clerk1' "$DAEMON_LOG")
[ "$n" -le 4 ] || fail "$n log lines for 70 refused PREAUTHs, want at most 4"

# --- (f) the alert follows the records of the request that raised it -------
records >"$T/rec"
awk '$1 == "lockout" { getline nxt; print nxt }' "$T/rec" >"$T/after"
grep -q '^alert clerk1 sshd ssh 198.51.100.9 PG-ALERT-BRUTEFORCE -$' "$T/after" ||
	fail "the brute-force alert does not follow the lockout with its items: $(cat "$T/after"); trail: $(cat "$T/rec")"

# --- spraying from one host blocks it; a PREAUTH from it is a decision -------
for u in agent1 agent2 agent3; do
	pgreq "v1 REPORT user=$u factor=totp result=failure reason=bad-code service=sshd tty=ssh rhost=203.0.113.7" >/dev/null
done
pgreq "v1 PREAUTH user=agent4 service=sshd tty=ssh rhost=203.0.113.7" >"$OUT"
expect_out 'locked=yes until=[0-9]+ reason=source-blocked' "the sprayed host is blocked"
records >"$T/rec"
awk '$1 == "factor-failure" && $2 == "agent3" { getline nxt; print nxt }' "$T/rec" >"$T/after"
grep -q '^alert agent3 sshd ssh 203.0.113.7 PG-ALERT-SPRAY -$' "$T/after" ||
	fail "the spray alert does not follow agent3's failure with its items: $(cat "$T/after")"

# --- a local user, locked, inventing sources ---------------------------------
IFS='
'
set -- $(lines 3 "v1 REPORT user=nobody factor=totp result=failure reason=bad-code")
pgreq_as nobody "$@" >/dev/null
set --
i=0
while [ "$i" -lt 100 ]; do
	set -- "$@" "v1 PREAUTH user=nobody service=x tty=t$i rhost=10.0.0.$i"
	i=$((i + 1))
done
pgreq_as nobody "$@" >"$OUT"
unset IFS
[ "$(grep -c 'locked=yes' "$OUT")" -eq 100 ] || fail "nobody is not locked: $(sort "$OUT" | uniq -c)"
stop_daemon

records >"$T/rec"
grep '^preauth-deny ' "$T/rec" >"$T/pre"
grep -q '^preauth-deny clerk1 sshd ssh 198.51.100.9 locked -$' "$T/pre" || fail "no record of the first refusal from host 1"
grep -q '^preauth-deny clerk1 sshd ssh 198.51.100.9 locked 49$' "$T/pre" || fail "no aggregate of 49 from host 1"
grep -q '^preauth-deny clerk1 sshd ssh 198.51.100.10 locked -$' "$T/pre" || fail "no record of the first refusal from host 2"
grep -q '^preauth-deny clerk1 sshd ssh 198.51.100.10 locked 19$' "$T/pre" || fail "no aggregate of 19 from host 2"
grep -q '^preauth-deny agent4 sshd ssh 203.0.113.7 source-blocked -$' "$T/pre" || fail "no record of the blocked source"
[ "$(grep -c '^preauth-deny nobody ' "$T/pre")" -eq 2 ] ||
	fail "nobody's 100 invented sources make more than a record and an aggregate: $(grep nobody "$T/pre")"
grep -q '^preauth-deny nobody - - - locked 99$' "$T/pre" || fail "no aggregate of nobody's 99 refusals"
[ "$(wc -l <"$T/pre")" -eq 7 ] || fail "unexpected preauth-deny records: $(cat "$T/pre")"
ctl audit verify >"$OUT" 2>&1 || fail "verify: $(cat "$OUT")"
finish
