#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# The token store is trusted only if only root could have written or read
# it: missing, foreign-owned, readable by others, a symlink, a directory or
# a FIFO means PAM_AUTHINFO_UNAVAIL before any prompt. Bad lines are
# skipped (and logged by number, never by content); good lines still work.
. "${top_srcdir:?}/tests/integration/lib.sh"

SECRET=JBSWY3DPEHPK3PXP
NOW=1700000015

write_config
start_daemon
at_time $NOW
code=$(totp_code "$SECRET" SHA1 6 $NOW)
next=$(totp_code "$SECRET" SHA1 6 $((NOW + 30)))
GOOD="nurse1 SHA1 6 30 $SECRET phone"

# store NAME: a service reading tokens from $T/NAME.
store() {
	pam_service "$1" "tokens=$T/$1"
}

# refused NAME WHY: the store is refused for everyone, before the prompt.
refused() {
	expect_rc 1 "$2" -- run_pam "$1" nurse1 auth -a "$code"
	expect_out '^auth: PAM_AUTHINFO_UNAVAIL$' "$2"
	expect_no_out '^prompt:' "$2: prompted"
	expect_out "$MSG_UNAVAIL" "$2: message"
	expect_log '^auth; user=nurse1; .*result=failure; reason=token-store; detail=' "$2: log line"
}

# A good store: the control for everything below.
store good
printf '%s\n' "$GOOD" >"$T/good"
chmod 0600 "$T/good"
expect_rc 0 "good store" -- run_pam good nurse1 auth -a "$code"
at_time $((NOW + 30))

store missing
refused missing "store missing"

store foreign
printf '%s\n' "$GOOD" >"$T/foreign"
chmod 0600 "$T/foreign"
chown 65534 "$T/foreign"
refused foreign "store owned by another user"

for mode in 0644 0640 0604 0610 0601; do
	store "mode$mode"
	printf '%s\n' "$GOOD" >"$T/mode$mode"
	chmod "$mode" "$T/mode$mode"
	refused "mode$mode" "store with mode $mode"
done
# Owner-only modes other than 0600 are fine.
store mode0400
printf '%s\n' "$GOOD" >"$T/mode0400"
chmod 0400 "$T/mode0400"
expect_rc 0 "store with mode 0400" -- run_pam mode0400 nurse1 auth -a "$next"

store symlink
ln -s "$T/good" "$T/symlink"
refused symlink "store is a symlink"
expect_log 'detail=.*symbolic link' "symlink named in the log"

store dir
mkdir -m 0700 "$T/dir"
t0=$(now_ms)
refused dir "store is a directory"
dir_ms=$(($(now_ms) - t0))

# Opening a FIFO for reading blocks until a writer comes: the module must
# not. Compared with the directory case just measured (same work, no
# wait), so a slow machine or valgrind does not matter; a hang would.
store fifo
mkfifo -m 0600 "$T/fifo"
t0=$(now_ms)
refused fifo "store is a FIFO"
fifo_ms=$(($(now_ms) - t0))
[ "$fifo_ms" -lt $((dir_ms * 3 + 1000)) ] ||
	fail "a FIFO store made the login wait ($fifo_ms ms vs $dir_ms ms)"

# Bad lines around a good one: skipped and counted, the good one works.
at_time $((NOW + 60))
store mixed
cat >"$T/mixed" <<LINES
# comment
this line is not a token
nurse1 SHA3 6 30 $SECRET
nurse1 SHA1 9 30 $SECRET
nurse1 SHA1 6 30 NOT-BASE32-1111
nurse1 SHA1 6 30
nurse1 SHA1 6 5 $SECRET
$GOOD

nurse1 SHA1 6 30 $SECRET bad/label
LINES
chmod 0600 "$T/mixed"
expect_rc 0 "good line among bad ones" -- run_pam mixed nurse1 auth -a "$(totp_code "$SECRET" SHA1 6 $((NOW + 60)))"
expect_out '^auth: PAM_SUCCESS$' "good line among bad ones"
expect_log "^token store: 7 bad line\\(s\\) skipped; first: $T/mixed: line 2: " "bad lines counted, first one by number"
log_lines | grep -q 'not a token\|NOT-BASE32\|SHA3\|bad/label' &&
	fail "a bad line's content reached the log"
log_lines | grep -q "$SECRET" && fail "the secret reached the log"
# Another user's bad lines do not lock anyone out either.
expect_rc 1 "other user with only bad lines" -- run_pam mixed nurse2 auth -a "$code"
expect_log 'user=nurse2; .*reason=no-token$' "only bad lines means no token"

# A last line cut short (no newline, or mid-field).
at_time $((NOW + 90))
store trunc
printf '%s' "$GOOD" >"$T/trunc"
chmod 0600 "$T/trunc"
expect_rc 0 "last line without a newline" -- run_pam trunc nurse1 auth -a "$(totp_code "$SECRET" SHA1 6 $((NOW + 90)))"
at_time $((NOW + 120))
printf '%s\nnurse1 SHA1 6 3' "$GOOD" >"$T/trunc"
expect_rc 0 "last line cut mid-field" -- run_pam trunc nurse1 auth -a "$(totp_code "$SECRET" SHA1 6 $((NOW + 120)))"
expect_log "^token store: 1 bad line\\(s\\) skipped; first: $T/trunc: line 2: " "cut line counted"

# An empty store: nobody has a token, the prompt still comes.
store empty
: >"$T/empty"
chmod 0600 "$T/empty"
expect_rc 1 "empty store" -- run_pam empty nurse1 auth -a "$code"
expect_out '^prompt: ' "empty store: prompted"
expect_log 'reason=no-token$' "empty store"

finish
