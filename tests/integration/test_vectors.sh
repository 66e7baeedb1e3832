#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# RFC 6238 Appendix B test vectors through the whole login, at the RFC's
# times (faketime): 8-digit SHA1, SHA256 and SHA512 tokens with the RFC
# seeds, and the 6-digit SHA1 code at t = 59. The expected codes are the
# RFC's; oathtool must agree with them too.
. "${top_srcdir:?}/tests/integration/lib.sh"

SEED1=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ
SEED256=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZA
SEED512=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNA

write_config
start_daemon
add_token rfc-sha1 SHA1 8 30 "$SEED1"
add_token rfc-sha256 SHA256 8 30 "$SEED256"
add_token rfc-sha512 SHA512 8 30 "$SEED512"
add_token rfc-six SHA1 6 30 "$SEED1"
add_token rfc-mixed SHA1 8 30 "$SEED1"
add_token rfc-wrongalg SHA1 8 30 "$SEED256"
pam_service login

# vector USER ALG SEED EPOCH CODE: the RFC code logs in at that time.
vector() {
	got=$(totp_code "$3" "$2" "${#5}" "$4")
	[ "$got" = "$5" ] || fail "oathtool $2 at $4: $got, RFC says $5"
	at_time "$4"
	expect_rc 0 "$2 at $4" -- run_pam login "$1" auth -a "$5"
	expect_out '^auth: PAM_SUCCESS$' "$2 at $4"
}

# Each user's times ascend, so every vector claims a later step.
vector rfc-sha1 SHA1 "$SEED1" 59 94287082
vector rfc-sha1 SHA1 "$SEED1" 1111111109 07081804
vector rfc-sha1 SHA1 "$SEED1" 1111111111 14050471
vector rfc-sha1 SHA1 "$SEED1" 1234567890 89005924
vector rfc-sha256 SHA256 "$SEED256" 59 46119246
vector rfc-sha256 SHA256 "$SEED256" 1111111109 68084774
vector rfc-sha256 SHA256 "$SEED256" 1111111111 67062674
vector rfc-sha256 SHA256 "$SEED256" 1234567890 91819424
vector rfc-sha512 SHA512 "$SEED512" 59 90693936
vector rfc-sha512 SHA512 "$SEED512" 1111111109 25091201
vector rfc-sha512 SHA512 "$SEED512" 1111111111 99943326
vector rfc-sha512 SHA512 "$SEED512" 1234567890 93441116
vector rfc-six SHA1 "$SEED1" 59 287082
vector rfc-six SHA1 "$SEED1" 1111111109 081804

# The daemon refuses steps far ahead of its clock (a claim of a future
# step would lock the user's codes out until then), so for the future
# vectors it runs at those times too.
for when in 2000000000 20000000000; do
	PG_DAEMON_TIME=$when
	restart_daemon
	case $when in
	2000000000) set -- 69279037 90698825 38618901 ;;
	*) set -- 65353130 77737706 47863826 ;;
	esac
	vector rfc-sha1 SHA1 "$SEED1" "$when" "$1"
	vector rfc-sha256 SHA256 "$SEED256" "$when" "$2"
	vector rfc-sha512 SHA512 "$SEED512" "$when" "$3"
done
PG_DAEMON_TIME=""
restart_daemon

# And a claim of a far-future step from a module with a wrong clock is
# refused by a daemon on the right one.
at_time 2000000000
expect_rc 1 "a step far ahead of the daemon's clock" -- \
	run_pam login rfc-six auth -a "$(totp_code "$SEED1" SHA1 6 2000000000)"
expect_out '^auth: PAM_AUTHINFO_UNAVAIL$' \
	"a step far ahead of the daemon's clock is refused"
expect_log 'user=rfc-six; .*reason=clock-skew' "the refusal names the clocks"

# An 8-digit token does not take the 6-digit tail of its code.
at_time 59
expect_rc 1 "6 digits for an 8-digit token" -- run_pam login rfc-mixed auth -a 287082
expect_log 'user=rfc-mixed; .*reason=bad-input$' "6 digits for an 8-digit token"
# The algorithm is the token's: the SHA256 code is wrong for a SHA1 token
# with the same seed.
expect_rc 1 "SHA256 code for a SHA1 token" -- run_pam login rfc-wrongalg auth -a 46119246
expect_log 'user=rfc-wrongalg; .*reason=bad-code$' "SHA256 code for a SHA1 token"

finish
