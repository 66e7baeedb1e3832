#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# phiguardctl enroll writes a token an independent implementation agrees
# with: log in with a code oathtool computes from the printed URI's secret.
. "$top_srcdir/tests/integration/lib.sh"

write_config
pam_service login
start_daemon

# Enroll with the defaults (SHA1, 6 digits), QR code included.
ctl enroll nurse1 --issuer "Mercy Call Center" >"$T/enroll.out" 2>&1 ||
	die "enroll failed: $(cat "$T/enroll.out")"
uri=$(grep -o 'otpauth://totp/[^ ]*' "$T/enroll.out" | head -n 1)
[ -n "$uri" ] || die "no otpauth URI printed"
case "$uri" in
*issuer=Mercy%20Call%20Center*) ;;
*) fail "issuer not percent-encoded in $uri" ;;
esac
secret=$(printf '%s\n' "$uri" | sed -n 's/.*[?&]secret=\([A-Z2-7]*\).*/\1/p')
[ "${#secret}" -ge 32 ] || fail "secret '$secret' shorter than 160 bits"
grep -q '█\|▀\|▄' "$T/enroll.out" || fail "no QR code drawn"
grep -q 'Scan the QR code below or enter this URI' "$T/enroll.out" ||
	fail "no instruction for the QR code: $(cat "$T/enroll.out")"
grep -q "$secret" "$TOKENS" || fail "secret not in the token store"
mode=$(stat -c %a "$TOKENS")
[ "$mode" = 600 ] || fail "token store mode $mode, want 600"

wait_fresh_step
expect_rc 0 "login with oathtool code from the enrolled secret" -- \
	run_pam login nurse1 auth -a "$(totp_code "$secret")"
expect_out '^auth: PAM_SUCCESS$' "enrolled token works"

# An 8-digit SHA256 token, no QR: the URI says so and oathtool agrees.
ctl enroll clerk1 --algorithm SHA256 --digits 8 --label desk --no-qr \
	>"$T/enroll2.out" 2>&1 || die "enroll SHA256 failed"
grep -q '█\|▀\|▄' "$T/enroll2.out" && fail "--no-qr still drew a QR code"
grep -qi 'QR code' "$T/enroll2.out" && fail "--no-qr still speaks of a QR code: $(grep -i 'QR code' "$T/enroll2.out")"
grep -q 'Enter this URI in the authenticator app' "$T/enroll2.out" ||
	fail "--no-qr: no instruction for the URI: $(cat "$T/enroll2.out")"
uri=$(grep -o 'otpauth://totp/[^ ]*' "$T/enroll2.out" | head -n 1)
case "$uri" in
*algorithm=SHA256*digits=8*) ;;
*) fail "SHA256/8 not in $uri" ;;
esac
secret2=$(printf '%s\n' "$uri" | sed -n 's/.*[?&]secret=\([A-Z2-7]*\).*/\1/p')
expect_rc 0 "8-digit SHA256 login" -- \
	run_pam login clerk1 auth -a "$(totp_code "$secret2" SHA256 8)"
expect_out '^auth: PAM_SUCCESS$' "SHA256 token works"

# list never shows a secret; a duplicate label is refused; remove works.
ctl list >"$OUT" 2>&1 || fail "list failed"
expect_out 'clerk1.*SHA256.*8.*desk' "list shows the token"
grep -q "$secret" "$OUT" && fail "list printed a secret"
expect_rc 1 "duplicate label refused" -- ctl enroll clerk1 --label desk --no-qr
ctl remove clerk1 desk >/dev/null 2>&1 || fail "remove failed"
grep -q '^clerk1 ' "$TOKENS" && fail "removed token still in the store"
expect_rc 1 "removing nothing fails" -- ctl remove clerk1 desk

# Bad user names are refused before anything is written.
before=$(md5sum <"$TOKENS")
expect_rc 2 "user name with a slash" -- ctl enroll 'a/b' --no-qr
expect_rc 2 "user name with a space" -- ctl enroll 'a b' --no-qr
[ "$(md5sum <"$TOKENS")" = "$before" ] || fail "store changed by a refused enroll"

# Concurrent enrolls never corrupt the store.
pids=""
for i in 1 2 3 4 5 6 7 8; do
	ctl enroll "agent$i" --no-qr >/dev/null 2>&1 &
	pids="$pids $!"
done
# Only the enrolls: a bare wait would also wait for the daemon.
# shellcheck disable=SC2086
wait $pids
n=$(grep -c '^agent[1-8] ' "$TOKENS")
[ "$n" -eq 8 ] || fail "$n of 8 concurrent enrolls in the store"
grep -q '^nurse1 ' "$TOKENS" || fail "concurrent enrolls lost an existing token"
finish
