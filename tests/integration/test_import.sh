#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Migration: import a pam_oath usersfile and a google-authenticator secret
# file with phiguardctl, then log in with codes oathtool computes.
. "$top_srcdir/tests/integration/lib.sh"

write_config
pam_service login
start_daemon

# pam_oath: hex secrets; a TOTP line, an 8-digit TOTP line, an event-based
# HOTP line (skipped: phiguard is TOTP only), a static password (not
# migrated, said so) and a comment.
HEX1=3132333435363738393031323334353637383930
HEX2=48656c6c6f21deadbeef48656c6c6f21deadbeef
cat >"$T/users.oath" <<USERS
# pam_oath usersfile
HOTP/T30	nurse2	-	$HEX1
HOTP/T30/8	billing1	-	$HEX2	0	12345678	2026-01-01T00:00:00L
HOTP	hotpuser	-	$HEX1
HOTP/T30	pwuser	secret123	$HEX1
USERS
chmod 0600 "$T/users.oath"
ctl import --from pam_oath "$T/users.oath" >"$OUT" 2>&1 || fail "import pam_oath failed"
expect_out 'imported 3' "three TOTP lines imported"
expect_out 'line 4.*(HOTP|event)' "event-based line reported as skipped"
expect_out 'line 5.*static password' "static password reported"
grep -q secret123 "$OUT" && fail "import printed a static password"
grep -q "$HEX1" "$OUT" && fail "import printed a secret"
grep -q '^hotpuser ' "$TOKENS" && fail "an HOTP line was imported"

wait_fresh_step
expect_rc 0 "login with imported pam_oath token" -- \
	run_pam login nurse2 auth -a "$(oathtool --totp "$HEX1")"
expect_out '^auth: PAM_SUCCESS$' "pam_oath token works"
expect_rc 0 "login with imported 8-digit token" -- \
	run_pam login billing1 auth -a "$(oathtool --totp -d 8 "$HEX2")"
expect_out '^auth: PAM_SUCCESS$' "8-digit pam_oath token works"

# google-authenticator: Base32 secret, options and scratch codes.
GA=PDLSICMBWLV4I5N4WTU25F7XNA
printf '%s\n" RATE_LIMIT 3 30\n" WINDOW_SIZE 17\n" DISALLOW_REUSE\n" TOTP_AUTH\n12345678\n87654321\n' \
	"$GA" >"$T/ga"
chmod 0600 "$T/ga"
ctl import --from google-authenticator "$T/ga" frontdesk1 >"$OUT" 2>&1 ||
	fail "import google-authenticator failed"
expect_out 'scratch' "scratch codes reported as not migrated"
grep -q 12345678 "$OUT" && fail "import printed a scratch code"
expect_rc 0 "login with imported google-authenticator token" -- \
	run_pam login frontdesk1 auth -a "$(totp_code "$GA")"
expect_out '^auth: PAM_SUCCESS$' "google-authenticator token works"

# Unsafe source files are refused.
chmod 0644 "$T/ga"
expect_rc 1 "world-readable source refused" -- \
	ctl import --from google-authenticator "$T/ga" frontdesk2
ln -s "$T/users.oath" "$T/link.oath"
expect_rc 1 "symlinked source refused" -- ctl import --from pam_oath "$T/link.oath"
printf '%s\n" HOTP_COUNTER 1\n' "$GA" >"$T/ga-hotp"
chmod 0600 "$T/ga-hotp"
expect_rc 1 "HOTP google-authenticator file refused" -- \
	ctl import --from google-authenticator "$T/ga-hotp" frontdesk3
finish
