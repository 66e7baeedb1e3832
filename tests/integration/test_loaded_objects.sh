#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# What a login loads into the process: a TOTP login at a site without
# [push] maps no HTTP/TLS stack (no libcurl, TLS library, krb5, libldap,
# jansson, nor the push client), and the module itself needs libpam,
# liboath, libcrypto (sealed secrets, common/seal.c) and libc only; a push
# login at a site with [push] loads
# the push client, and libcurl with it. pamdrive -M lists every shared
# object mapped during the transaction; the counts are logged. A missing
# push client is a provider that cannot be used: failmode=secure denies
# naming it, failmode=safe falls back to a code, never to no factor.
. "${top_srcdir:?}/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/push_lib.sh"

SECRET=JBSWY3DPEHPK3PXP
# What only the push client brings; pam_wrapper, libpamtest, libfaketime
# and pamdrive itself link none of these. libcrypto is not among them: the
# module opens sealed token secrets with it (no TLS: that is libssl).
HTTP_STACK='/(libcurl|libgnutls|libssl|libnettle|libhogweed|libkrb5|libgssapi|libk5crypto|libldap|liblber|libnghttp2|libssh|libpsl|libidn2|librtmp|libjansson|libzstd|libbrotli)[^/]*\.so|/push\.so$'

# objects_of NAME OPS...: run_pam with -M, the list in $T/NAME.objects.
objects_of() {
	name=$1
	shift
	run_pam "$@" -M "$T/$name.objects"
}

need readelf

count() { wc -l <"$1" | tr -d ' '; }

write_config
start_daemon
add_token nurse1 SHA1 6 30 "$SECRET"
for u in nurse2 nurse3 nurse4; do
	add_token "$u" SHA1 6 30 "$SECRET"
done
pam_service login

# TOTP only, no [push]: auth and account, as a login runs them.
expect_rc 0 "totp login without push" -- \
	objects_of totp login nurse1 auth,acct -a "$(totp_code "$SECRET")"
[ -s "$T/totp.objects" ] || fail "pamdrive -M listed nothing"
grep -q '/pam_phiguard[^/]*\.so$' "$T/totp.objects" ||
	fail "the module is not among the objects listed: $(cat "$T/totp.objects")"
# The module's own dependencies: nothing beyond these four (and the
# dynamic loader; and in the --enable-sanitizers build, their runtimes).
needed=$(readelf -d "$PAM_MODULE" | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p' |
	grep -Ev '^(libpam\.so\.0|liboath\.so\.0|libcrypto\.so\.[0-9]+|libc\.so\.6|ld-linux[^/]*\.so\.[0-9]+|lib(a|ub)san\.so\.[0-9]+)$')
[ -z "$needed" ] || fail "the module needs more than libpam, liboath, libcrypto and libc: $needed"
if grep -Eq "$HTTP_STACK" "$T/totp.objects"; then
	fail "a TOTP login without push loaded: $(grep -E "$HTTP_STACK" "$T/totp.objects" | tr '\n' ' ')"
fi
log "TOTP login without [push]: $(count "$T/totp.objects") shared objects mapped"

# The same site with [push]: a typed code still loads nothing of push...
stop_daemon
push_script '{"users": {"nurse1": {"push": "approve", "delay": 0.1}}}'
start_emulator duo
write_push_config duo "push_timeout = $(push_limit 5)"
start_daemon
expect_rc 0 "typed code with push configured" -- \
	objects_of typed login nurse2 auth,acct -a "$(totp_code "$SECRET")"
if grep -Eq "$HTTP_STACK" "$T/typed.objects"; then
	fail "a typed code with push configured loaded: $(grep -E "$HTTP_STACK" "$T/typed.objects" | tr '\n' ' ')"
fi
log "TOTP login with [push] configured: $(count "$T/typed.objects") shared objects mapped"

# ...and a push login loads the push client, and libcurl through it.
expect_rc 0 "push login" -- objects_of push login nurse1 auth,acct -a ""
expect_out '^auth: PAM_SUCCESS$' "push approved"
grep -q '/push\.so$' "$T/push.objects" ||
	fail "a push login did not load the push client: $(cat "$T/push.objects")"
grep -q '/libcurl[^/]*\.so' "$T/push.objects" ||
	fail "a push login did not load libcurl"
log "push login: $(count "$T/push.objects") shared objects mapped"

# A module whose push client is missing (Makefile.am:
# pam_phiguard_nopush.so looks in a directory that does not exist).
PAM_MODULE="$top_builddir/tests/integration/.libs/pam_phiguard_nopush.so"
pam_service nopush
pam_service nopush_safe failmode=safe
expect_rc 1 "push client missing (secure)" -- run_pam nopush nurse3 auth -a ""
expect_out '^auth: PAM_AUTHINFO_UNAVAIL$' "push client missing (secure): result"
expect_out '^error: The push service is not available: access denied' \
	"push client missing (secure): message"
expect_log '^push; user=nurse3; .*result=error; reason=push-client; .*no-such-dir/push\.so' \
	"push client missing (secure): log names it"
expect_no_out '^prompt: Verification code: $' "push client missing (secure): no TOTP prompt"
expect_rc 0 "push client missing (safe)" -- \
	run_pam nopush_safe nurse4 auth -a "" -a "$(totp_code "$SECRET")"
expect_out '^prompt: Verification code: $' "push client missing (safe): TOTP prompt"
expect_log '^push; user=nurse4; .*result=error; reason=push-client; ' \
	"push client missing (safe): log"
expect_log "failmode=safe: prompting for a verification code" \
	"push client missing (safe): fallback logged"
expect_rc 1 "push client missing (safe, wrong code)" -- \
	run_pam nopush_safe nurse4 auth -a "" -a 000000

finish
