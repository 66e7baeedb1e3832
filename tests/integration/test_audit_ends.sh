#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# The ends of the audit trail: the chain head is logged when the daemon
# stops (it covers daemon-stop), so cutting the last records is caught by
# verify --head; verify names the last line that is left; a deleted (or
# emptied) current file is not "intact"; audit show and alerts say that
# they do not verify the chain.
. "${top_srcdir:?}/tests/integration/lib.sh"
need python3

write_config
start_daemon
pgreq "v1 SESSION user=nurse1 action=open tty=tty1" \
	"v1 SESSION user=nurse1 action=close tty=tty1" >/dev/null
stop_daemon

# --- (d) the head at stop ----------------------------------------------------
last_hash=$(tail -n 1 "$AUDIT_FILE" | tr -d '\n' | sha256sum | cut -d' ' -f1)
tail -n 1 "$AUDIT_FILE" | grep -q '"event":"daemon-stop"' || fail "the last record is not daemon-stop"
logged=$(sed -n 's/.*audit-head head=\([0-9a-f]*\) .*/\1/p' "$DAEMON_LOG" | tail -n 1)
[ "$logged" = "$last_hash" ] ||
	fail "the last logged head ($logged) is not the hash of daemon-stop ($last_hash)"

# --- (e) truncated names the last line left ----------------------------------
n=$(wc -l <"$AUDIT_FILE")
cp "$AUDIT_FILE" "$T/whole"
head -n $((n - 2)) "$T/whole" >"$AUDIT_FILE"
expect_rc 1 "verify --head after the end was cut" -- \
	ctl audit verify --head "$logged" >"$OUT" 2>&1
expect_out "^$AUDIT_FILE:$((n - 2)): truncated: " "truncated names the last line that exists"
cp "$T/whole" "$AUDIT_FILE"
[ -z "$logged" ] || ctl audit verify --head "$logged" >"$OUT" 2>&1 || fail "verify --head of the whole trail: $(cat "$OUT")"

# --- (e) a missing or emptied current file -----------------------------------
start_daemon
ctl audit rotate >/dev/null || fail "rotate"
pgreq "v1 SESSION user=nurse2 action=open" >/dev/null
stop_daemon
ctl audit verify >"$OUT" 2>&1 || fail "verify of a rotated trail: $(cat "$OUT")"
mv "$AUDIT_FILE" "$T/current"
expect_rc 1 "verify without the current file" -- ctl audit verify >"$OUT" 2>&1
expect_out "$AUDIT_FILE.*missing" "verify names the missing current file"
expect_no_out '^intact' "a trail without its current file is not intact"
: >"$AUDIT_FILE"
expect_rc 1 "verify with an emptied current file" -- ctl audit verify >"$OUT" 2>&1
expect_out "$AUDIT_FILE.*empty" "verify names the emptied current file"
# Files named on the command line are what the auditor asked for.
ctl audit verify "$AUDIT_FILE.1" >"$OUT" 2>&1 || fail "verify of a named file: $(cat "$OUT")"
mv "$T/current" "$AUDIT_FILE"

# --- (g) show and alerts say they do not verify -------------------------------
ctl audit show >"$T/err" 2>/dev/null || fail "audit show"
tail -n 1 "$T/err" | grep -q 'not verified' || fail "audit show does not say it does not verify: $(cat "$T/err")"
ctl audit show --json >/dev/null 2>"$T/err" || fail "audit show --json"
grep -q 'not verified' "$T/err" || fail "audit show --json does not say it does not verify"
ctl alerts >"$T/err" 2>/dev/null || fail "alerts"
tail -n 1 "$T/err" | grep -q 'not verified' || fail "alerts does not say it does not verify: $(cat "$T/err")"
finish
