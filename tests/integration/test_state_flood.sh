#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Invented user names cannot crowd enrolled users out of the state table
# (issue 11). The module reports a failure for a name without a token, as
# for any other (the prompt must not reveal who is enrolled), marked
# enrolled=no; such entries are bounded apart (10000), so 100000 invented
# names typed at prompts once filled the table (100000) and every new
# CLAIM got "busy". Now the invented names beyond 10000 are refused with
# the bound named, and enrolled users' CLAIMs and REPORTs go on, also
# after a restart.
. "${top_srcdir:?}/tests/integration/lib.sh"
need python3

# 100000 durable changes: on a tmpfs, not one fsync each on a disk.
mount_tmpfs floodfs 256m
STATE_DIR="$MNT/state"
AUDIT_DIR="$MNT/audit"
AUDIT_FILE="$AUDIT_DIR/audit.log"
mkdir -p -m 0700 "$STATE_DIR" "$AUDIT_DIR"

SECRET=JBSWY3DPEHPK3PXP
add_token nurse1 SHA1 6 30 "$SECRET" phone
add_token nurse2 SHA1 6 30 "$SECRET" phone
write_config
pam_service login
start_daemon

# What the module reports for names without a token: a wrong answer, and
# a conversation that fails (Ctrl-D at the prompt).
expect_rc 1 "unenrolled name" -- run_pam login ghost1 auth -a 123456
expect_rc 1 "unenrolled name, no answer" -- run_pam login ghost2 auth -C fail
grep -q 'REPORT user=ghost1 .*factor=totp result=failure reason=no-token .*enrolled=no' "$DAEMON_LOG" ||
	fail "the failure of an unenrolled name is not reported with enrolled=no"
grep -q 'REPORT user=ghost2 .*result=failure reason=conv-error .*enrolled=no' "$DAEMON_LOG" ||
	fail "a failed conversation of an unenrolled name is not reported with enrolled=no"
# An enrolled user's failure carries no such mark.
expect_rc 1 "enrolled user, wrong code" -- run_pam login nurse2 auth -a 000000
grep 'REPORT user=nurse2 ' "$DAEMON_LOG" | grep -q 'enrolled=' &&
	fail "an enrolled user's failure is marked enrolled"

# flood N: N failure REPORTs for distinct invented names, as the module
# sends them; prints the count of each kind of answer.
flood() {
	awk -v n="$1" 'BEGIN { for (i = 0; i < n; i++)
		printf "v1 REPORT user=guess%06d factor=totp result=failure reason=no-token enrolled=no\n", i }' |
		pgclient stream --window 200 |
		awk '{ key = ""
			for (i = 1; i <= NF; i++)
				if ($i !~ /^(until|failures)=/)
					key = key (key == "" ? "" : " ") $i
			n[key]++ }
		END { for (k in n) print n[k], k }' | sort -k 2
}

flood 100000 >"$OUT"
sed 's/^/  flood: /' "$OUT" >&2
# Two ghosts above are already in: 9998 more fit.
expect_out '^9998 v1 OK locked=no push=yes$' "invented names up to the bound"
expect_out '^90002 v1 ERR code=busy msg=state-table-full table=unenrolled limit=10000$' \
	"invented names beyond the bound refused, the bound named"

step=$(($(date +%s) / 30 * 30))
pgreq "v1 CLAIM user=nurse1 step_start=$step" \
	"v1 REPORT user=nurse3 factor=totp result=failure reason=bad-code" \
	"v1 STATUS" >"$OUT"
expect_out '^v1 OK claimed=yes$' "an enrolled user's CLAIM after the flood"
expect_out '^v1 OK locked=no failures=1 push=yes$' "an enrolled user's REPORT after the flood"
expect_out ' unenrolled=10000 ' "STATUS counts the entries of unenrolled names"

# The bound holds across a restart: the log keeps which entries are whose.
restart_daemon
pgreq "v1 CLAIM user=nurse4 step_start=$step" \
	"v1 REPORT user=guess099999 factor=totp result=failure reason=no-token enrolled=no" \
	"v1 STATUS" >"$OUT"
expect_out '^v1 OK claimed=yes$' "an enrolled user's CLAIM after a restart"
expect_out '^v1 ERR code=busy msg=state-table-full table=unenrolled ' "still full after a restart"
expect_out ' unenrolled=10000 ' "STATUS after a restart"
finish
