#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Secrets sealed at rest: phiguardctl keygen makes a site key, enroll and
# import store only sealed secrets, and logins open them with the key.
# A wrong, unknown or missing key, a key file anyone could read, or a
# sealed secret copied to another user's line is a refusal before the
# prompt (reason token-sealed, no secret logged), never a plain fallback.
# Rotation: keygen again, reseal (plain secrets sealed too), drop the old
# key line, and logins still work.
. "${top_srcdir:?}/tests/integration/lib.sh"

KEY="$T/site.key"
NOW=1700000015

write_config
printf '\n[tokens]\nkey_file = %s\n' "$KEY" >>"$CONF"
pam_service login
start_daemon

# next_step: the next 30 s step on the module's (faked) clock, so every
# login has a code no earlier login used.
next_step() {
	NOW=$((NOW + 30))
	at_time $NOW
}

# secret_of FILE: the Base32 secret of the otpauth URI enroll printed.
secret_of() {
	sed -n 's/.*otpauth:.*[?&]secret=\([A-Z2-7]*\).*/\1/p' "$1" | head -n 1
}

# login_ok USER SECRET WHAT
login_ok() {
	next_step
	expect_rc 0 "$3" -- run_pam login "$1" auth -a "$(totp_code "$2" SHA1 6 $NOW)"
	expect_out '^auth: PAM_SUCCESS$' "$3: result"
}

# sealed_refused USER SECRET WHAT DETAIL: refused before the prompt,
# logged as token-sealed with DETAIL (grep -E), nothing secret in it.
sealed_refused() {
	next_step
	expect_rc 1 "$3" -- run_pam login "$1" auth -a "$(totp_code "$2" SHA1 6 $NOW)"
	expect_out '^auth: PAM_AUTHINFO_UNAVAIL$' "$3: result"
	expect_no_out '^prompt:' "$3: prompted"
	expect_out "$MSG_UNAVAIL" "$3: message"
	expect_log "^auth; user=$1; .*result=failure; reason=token-sealed; detail=.*$4" \
		"$3: log line"
	no_secret_in "$OUT" "$3"
}

# no_secret_in FILE WHAT: no enrolled secret and no key in FILE.
no_secret_in() {
	for s in "$S1" "$S2" "${S3:-}" "$(cut -s -d' ' -f2 "$KEY" 2>/dev/null)"; do
		[ -n "$s" ] || continue
		grep -qF -- "$s" "$1" && fail "$2: a secret or key in $1"
	done
	return 0
}

# use_key FILE: point [tokens] key_file at FILE.
use_key() {
	sed -i "s|^key_file = .*|key_file = $1|" "$CONF"
}

# keygen: a new site key, printed by id only, root-owned and 0600.
ctl keygen >"$T/keygen.out" 2>&1 || die "keygen failed: $(cat "$T/keygen.out")"
KID1=$(sed -n 's/^Key \([0-9a-f]\{16\}\) added to .*/\1/p' "$T/keygen.out")
[ -n "$KID1" ] || fail "keygen printed no key id: $(cat "$T/keygen.out")"
[ "$(stat -c '%a %u' "$KEY")" = "600 0" ] || fail "key file: $(stat -c '%a %u' "$KEY"), want 600 0"
[ "$(wc -l <"$KEY")" -eq 1 ] || fail "key file has $(wc -l <"$KEY") lines, want 1"
grep -q "^$KID1 " "$KEY" || fail "key id $KID1 not in the key file"
grep -qF -- "$(cut -d' ' -f2 "$KEY")" "$T/keygen.out" && fail "keygen printed the key"

# enroll: the store holds the sealed secret, not its Base32.
ctl enroll nurse1 --no-qr >"$T/enroll1.out" 2>&1 || die "enroll failed: $(cat "$T/enroll1.out")"
S1=$(secret_of "$T/enroll1.out")
[ -n "$S1" ] || die "no secret in the otpauth URI"
ctl enroll nurse2 --no-qr >"$T/enroll2.out" 2>&1 || die "enroll nurse2 failed"
S2=$(secret_of "$T/enroll2.out")
grep -q "^nurse1 SHA1 6 30 pgseal1:$KID1:[A-Za-z0-9+/=]* token1$" "$TOKENS" ||
	fail "nurse1's line is not sealed under $KID1: $(grep '^nurse1 ' "$TOKENS")"
no_secret_in "$TOKENS" "token store"
login_ok nurse1 "$S1" "login with a sealed secret"

# import seals too.
GA=PDLSICMBWLV4I5N4WTU25F7XNA
printf '%s\n" TOTP_AUTH\n' "$GA" >"$T/ga"
chmod 0600 "$T/ga"
ctl import --from google-authenticator "$T/ga" frontdesk1 >"$OUT" 2>&1 ||
	fail "import failed: $(cat "$OUT")"
grep -q "$GA" "$TOKENS" && fail "import stored the Base32 secret"
grep -q "^frontdesk1 SHA1 6 30 pgseal1:$KID1:" "$TOKENS" || fail "imported secret not sealed"
login_ok frontdesk1 "$GA" "login with an imported sealed secret"

# list never shows a secret, sealed or not.
ctl list >"$OUT" 2>&1 || fail "list failed"
grep -q 'pgseal1' "$OUT" && fail "list printed a sealed secret"
no_secret_in "$OUT" "list"

# Another key of the same id: the tag does not match.
printf '%s %s\n' "$KID1" "$(head -c 32 /dev/urandom | base64)" >"$T/wrong.key"
chmod 0600 "$T/wrong.key"
use_key "$T/wrong.key"
sealed_refused nurse1 "$S1" "wrong key" "does not open with key $KID1"
# A key file without that key: named by id.
ctl keygen --key-file "$T/other.key" >/dev/null 2>&1 || die "keygen --key-file failed"
use_key "$T/other.key"
sealed_refused nurse1 "$S1" "unknown key" "sealed with key $KID1, not in key_file"
# The right key, in a file others may read: not used.
use_key "$KEY"
chmod 0644 "$KEY"
sealed_refused nurse1 "$S1" "key file mode 0644" "mode 0644"
chmod 0600 "$KEY"
kill -0 "$(cat "$T/phiguardd.pid")" || fail "the daemon died"
login_ok nurse1 "$S1" "the right key again"

# nurse1's sealed secret on nurse2's line does not open for nurse2.
sealed1=$(sed -n 's/^nurse1 SHA1 6 30 \(pgseal1:[^ ]*\) .*/\1/p' "$TOKENS")
cp "$TOKENS" "$T/tokens.before-copy"
sed -i "s|^nurse2 SHA1 6 30 [^ ]*|nurse2 SHA1 6 30 $sealed1|" "$TOKENS"
sealed_refused nurse2 "$S1" "sealed secret moved to another user" "does not open with key $KID1"
# reseal refuses a store it cannot open entirely, and writes nothing.
before=$(md5sum <"$TOKENS")
ctl reseal >"$OUT" 2>&1 && fail "reseal accepted a secret it cannot open"
expect_out 'line [0-9]+ \(nurse2\): .*does not open' "reseal names the line"
[ "$(md5sum <"$TOKENS")" = "$before" ] || fail "a failed reseal changed the store"
cp "$T/tokens.before-copy" "$TOKENS"
login_ok nurse2 "$S2" "nurse2's own line again"

# Rotation: a second key first in the file; reseal moves every secret,
# plain ones too; the old key line goes; logins go on.
S3=JBSWY3DPEHPK3PXP
add_token nurse3 SHA1 6 30 "$S3" phone
ctl keygen >"$T/keygen2.out" 2>&1 || die "second keygen failed"
KID2=$(sed -n 's/^Key \([0-9a-f]\{16\}\) added to .*/\1/p' "$T/keygen2.out")
[ "$(head -n 1 "$KEY" | cut -d' ' -f1)" = "$KID2" ] || fail "the new key is not first"
grep -q "^$KID1 " "$KEY" || fail "keygen dropped the old key"
[ "$(stat -c '%a %u' "$KEY")" = "600 0" ] || fail "key file after keygen: $(stat -c '%a %u' "$KEY")"
ctl reseal >"$OUT" 2>&1 || fail "reseal failed: $(cat "$OUT")"
expect_out "^Resealed 4 tokens in .* under key $KID2\.$" "reseal summary"
grep -q "pgseal1:$KID1:" "$TOKENS" && fail "a secret still sealed under the old key"
[ "$(grep -c " pgseal1:$KID2:" "$TOKENS")" -eq 4 ] || fail "not every token sealed under $KID2"
no_secret_in "$TOKENS" "token store after reseal"
[ "$(stat -c '%a %u' "$TOKENS")" = "600 0" ] || fail "store after reseal: $(stat -c '%a %u' "$TOKENS")"
sed -i "/^$KID1 /d" "$KEY"
login_ok nurse1 "$S1" "login after rotation"
login_ok nurse3 "$S3" "a plain secret, resealed"

# No key_file with a sealed store: refused, never read as plain.
sed -i '/^key_file = /d' "$CONF"
sealed_refused nurse1 "$S1" "no key_file" "sealed secret and no key_file"

no_secret_in "$DAEMON_LOG" "daemon log"
no_secret_in "$AUDIT_FILE" "audit trail"
finish
