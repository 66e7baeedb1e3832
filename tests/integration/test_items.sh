#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# PAM items longer than the protocol takes (issue 11): a 4 KiB PAM_RHOST or
# PAM_TTY once made the request line too long, so the login failed with no
# record. The module cuts service, rhost and tty to PG_PROTO_MAX_ITEM (256)
# bytes at a UTF-8 character boundary: the login goes on and the audit
# trail holds the cut values.
. "${top_srcdir:?}/tests/integration/lib.sh"
need python3

SECRET=JBSWY3DPEHPK3PXP
add_token agent1 SHA1 6 30 "$SECRET" phone
add_token agent2 SHA1 6 30 "$SECRET" phone
{
	echo "auth     required $PAM_WRAPPER_MODULES/pam_set_items.so"
	echo "auth     required $PAM_MODULE config=$CONF $(valgrind_timeout_arg)"
	echo "session  required $PAM_WRAPPER_MODULES/pam_set_items.so"
	echo "session  required $PAM_MODULE config=$CONF $(valgrind_timeout_arg)"
} >"$PAMD/items"
pam_service login
start_daemon

# rhost: 255 ASCII bytes, then a 2-byte character straddling byte 256,
# then enough to pass 4 KiB. tty: 4 KiB of ASCII.
LONG_RHOST="$(python3 -c 'import sys; sys.stdout.write("h" * 255 + "\u00e9" + "x" * 3900)')"
LONG_TTY="$(python3 -c 'import sys; sys.stdout.write("t" * 4200)')"

wait_fresh_step
PAM_RHOST="$LONG_RHOST" PAM_TTY=pts/1 \
	expect_rc 0 "4 KiB rhost: TOTP login" -- run_pam items agent1 auth,open -a "$(totp_code "$SECRET")"
expect_out '^auth: PAM_SUCCESS$' "4 KiB rhost: auth"
expect_out '^open: PAM_SUCCESS$' "4 KiB rhost: session"
expect_no_log 'too long' "4 KiB rhost: nothing too long"
PAM_RHOST=10.0.0.9 PAM_TTY="$LONG_TTY" \
	expect_rc 0 "4 KiB tty: TOTP login" -- run_pam items agent2 auth,open -a "$(totp_code "$SECRET")"
expect_out '^auth: PAM_SUCCESS$' "4 KiB tty: auth"
expect_no_log 'too long' "4 KiB tty: nothing too long"
# A wrong code with both items long: a failure, counted and recorded.
PAM_RHOST="$LONG_RHOST" PAM_TTY="$LONG_TTY" \
	expect_rc 1 "long items, wrong code" -- run_pam items agent1 auth -a 000000
expect_log 'reason=bad-code' "long items, wrong code: reason"
pgreq "v1 PREAUTH user=agent1" >"$OUT"
stop_daemon

# Every decision is in the trail, with the items as cut.
python3 - "$AUDIT_FILE" >"$OUT" 2>&1 <<'PY' || fail "audit trail: $(cat "$OUT")"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
want = {
    ("agent1", "totp-claim"): ("h" * 255, "pts/1"),
    ("agent1", "session-open"): ("h" * 255, "pts/1"),
    ("agent2", "totp-claim"): ("10.0.0.9", "t" * 256),
    ("agent2", "session-open"): ("10.0.0.9", "t" * 256),
    ("agent1", "factor-failure"): ("h" * 255, "t" * 256),
}
bad = 0
for (user, event), (rhost, tty) in want.items():
    got = [(r.get("rhost"), r.get("tty")) for r in recs
           if r.get("user") == user and r.get("event") == event]
    if (rhost, tty) not in got:
        print("no %s record for %s with the cut items; have %r" %
              (event, user, [(len(a or ""), len(b or "")) for a, b in got]))
        bad += 1
sys.exit(bad)
PY
finish
