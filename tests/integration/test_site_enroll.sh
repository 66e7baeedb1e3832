#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Site mode, enrollment once for the whole site: phiguardctl with
# [tokens] store = ldap writes OATH-LDAP entries into a real slapd (--oath:
# the otp module's schema and the sample ACL contrib/ldap/oath-acl.conf).
# Checked: the entries as the spec lays them out, the sample ACL (and its
# cn=config twin), interop with slapd's own otp overlay both ways (and a
# phiguard login with either token through the daemon's ldap store), the
# overlay's non-atomic bind (measured and printed), remove, import, RFC
# 4514 specials in a name, a world-readable admin password file refused,
# and sealed secrets in the directory.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/slapd.sh"

need ldapwhoami

PEOPLE="ou=people,$SLAPD_BASE"
NURSE1_DN="uid=nurse1,$PEOPLE"
PARAMS_SHA1="cn=totp-sha1-6-30,$SLAPD_TOKEN_BASE"
ANY='(objectClass=*)' # ldapsearch's filter, before a list of attributes

# site_config URI [FILE]: the test's config (or FILE) with the directory at
# URI as the token store, written by the token admin.
site_config() {
	write_ldap_config "$1" "[tokens]
store = ldap
admin_bind_dn = $SLAPD_TOKEN_ADMIN_DN
admin_password_file = $SLAPD_ADMINPW"
	[ -z "${2:-}" ] || cp "$CONF" "$2"
}

# ctl_out ARGS... / ctl_b ARGS...: phiguardctl with the config of server a
# (b), its output in $OUT.
ctl_out() { ctl "$@" >"$OUT" 2>&1; }
ctl_b() { "$PHIGUARDCTL" --config "$T/conf-b" "$@" >"$OUT" 2>&1; }

# secret_of OUT: the Base32 secret of the otpauth URI phiguardctl printed.
secret_of() {
	sed -n 's/^otpauth:.*[?&]secret=\([A-Z2-7]*\).*/\1/p' "$1"
}

# b32_to_b64 B32: the same bytes in Base64, as ldapsearch shows octets.
b32_to_b64() {
	python3 -c 'import base64,sys
s=sys.argv[1]; s+="="*(-len(s)%8)
print(base64.b64encode(base64.b32decode(s)).decode())' "$1"
}

# hex_to_b64 HEX
hex_to_b64() {
	python3 -c 'import base64,sys
print(base64.b64encode(bytes.fromhex(sys.argv[1])).decode())' "$1"
}

# expect_value ATTR B64 WHAT: $OUT (unwrapped LDIF) has ATTR with the
# value whose Base64 is B64, whether ldapsearch printed it as text or as
# Base64.
expect_value() {
	python3 -c 'import base64,sys
want=base64.b64decode(sys.argv[2]); attr=sys.argv[1].lower()
for line in open(sys.argv[3], "rb").read().decode("latin-1").splitlines():
    k,_,v=line.partition(":")
    if k.lower()!=attr: continue
    got=base64.b64decode(v[1:].strip()) if v.startswith(":") else v.strip().encode("latin-1")
    if got==want: sys.exit(0)
sys.exit(1)' "$1" "$2" "$OUT" || fail "$3: no $1 with those bytes in: $(cat "$OUT")"
}

# as_dn NAME DN PWFILE ARGS...: ldapsearch -LLL bound as DN on server NAME.
as_dn() {
	_n=$1 _dn=$2 _pw=$3
	shift 3
	ldapsearch -LLL -o ldif-wrap=no -x -H "$(_slapd_get SLAPD_URI "$_n")" \
		-D "$_dn" -y "$_pw" "$@"
}

start_slapd a --oath
site_config "$SLAPD_URI_a"

# ------------------------------------------------------------ enroll
ctl enroll nurse1 --no-qr >"$OUT" 2>&1 || fail "enroll nurse1: $(cat "$OUT")"
expect_out "in cn=nurse1,$SLAPD_TOKEN_BASE " "enroll names the token entry"
SECRET1=$(secret_of "$OUT")
[ -n "$SECRET1" ] || fail "no otpauth secret shown: $(cat "$OUT")"

ldap_search a -o ldif-wrap=no -b "cn=nurse1,$SLAPD_TOKEN_BASE" -s base \
	>"$OUT" 2>&1 || fail "token entry missing: $(cat "$OUT")"
expect_out '^objectClass: device$' "token entry is a device"
expect_out '^objectClass: oathTOTPToken$' "token entry is an oathTOTPToken"
expect_out "^oathTOTPParams: $PARAMS_SHA1\$" "token names its params"
expect_value oathSecret "$(b32_to_b64 "$SECRET1")" \
	"oathSecret holds the raw key bytes of the URI's secret"
grep -q '^oathTOTPLastTimeStep' "$OUT" && fail "a new token has a last step"

ldap_search a -o ldif-wrap=no -b "$PARAMS_SHA1" -s base >"$OUT" 2>&1 ||
	fail "params entry missing: $(cat "$OUT")"
expect_out '^objectClass: oathTOTPParams$' "params entry class"
expect_out '^oathOTPLength: 6$' "params: digits"
expect_out '^oathHMACAlgorithm: 1.2.840.113549.2.7$' "params: SHA1 OID"
expect_out '^oathTOTPTimeStepPeriod: 30$' "params: period"
expect_out "^oathTOTPTimeStepWindow: $PG_WINDOW\$" "params: [totp] window"

ldap_search a -o ldif-wrap=no -b "$NURSE1_DN" -s base "$ANY" objectClass \
	oathTOTPToken >"$OUT" 2>&1 || fail "user entry: $(cat "$OUT")"
expect_out '^objectClass: oathTOTPUser$' "user linked: oathTOTPUser"
expect_out "^oathTOTPToken: cn=nurse1,$SLAPD_TOKEN_BASE\$" \
	"user linked: oathTOTPToken"

expect_rc 1 "a second enroll without --force is refused" -- \
	ctl_out enroll nurse1 --no-qr
expect_out 'already has a token.*--force' "refusal says --force replaces"
ctl enroll nurse1 --no-qr --force --algorithm SHA256 --digits 8 \
	--label phone >"$OUT" 2>&1 || fail "enroll --force: $(cat "$OUT")"
SECRET1=$(secret_of "$OUT")
ctl list nurse1 >"$OUT" 2>&1 || fail "list nurse1: $(cat "$OUT")"
expect_out '^nurse1 +SHA256 +8 +30 +1 +- +0 +no +phone ' \
	"list: the replacement's params, no step, no failures, not sealed"
grep -q "$SECRET1" "$OUT" && fail "list printed a secret"
ldap_search a -o ldif-wrap=no -b "cn=nurse1,$SLAPD_TOKEN_BASE" -s base \
	"$ANY" oathSecret description >"$OUT" 2>&1 || fail "replaced token missing"
expect_value oathSecret "$(b32_to_b64 "$SECRET1")" "--force replaced the secret"
expect_out '^description: phone$' "label kept as description"
ctl enroll nurse1 --no-qr --force >"$OUT" 2>&1 || fail "re-enroll SHA1"
SECRET1=$(secret_of "$OUT")

# ------------------------------------------------------------ the sample ACL
TOKEN1="cn=nurse1,$SLAPD_TOKEN_BASE"
ldapsearch -LLL -x -H "$SLAPD_URI_a" -b "$TOKEN1" -s base "$ANY" oathSecret \
	>"$OUT" 2>&1
grep -q '^oathSecret' "$OUT" && fail "anonymous read oathSecret"
ldapwhoami -x -H "$SLAPD_URI_a" -D "uid=nurse2,$PEOPLE" -y "$SLAPD_USERPW" \
	>"$OUT" 2>&1 || fail "nurse2 cannot bind: $(cat "$OUT")"
as_dn a "uid=nurse2,$PEOPLE" "$SLAPD_USERPW" -b "$TOKEN1" -s base \
	"$ANY" oathSecret >"$OUT" 2>&1 || true
grep -q '^oathSecret' "$OUT" && fail "an ordinary user read oathSecret"
as_dn a "$SLAPD_SERVICE_DN" "$SLAPD_BINDPW" -b "$TOKEN1" -s base \
	"$ANY" oathSecret >"$OUT" 2>&1 || fail "service DN search: $(cat "$OUT")"
expect_out '^oathSecret::? ' "the daemon's service DN reads oathSecret"
printf 'dn: %s\nchangetype: modify\nreplace: oathSecret\noathSecret: stolen\n' \
	"$TOKEN1" >"$T/steal.ldif"
ldapmodify -x -H "$SLAPD_URI_a" -D "$SLAPD_SERVICE_DN" -y "$SLAPD_BINDPW" \
	-f "$T/steal.ldif" >"$OUT" 2>&1 && fail "the service DN wrote oathSecret"
expect_out 'Insufficient access' "service DN's write of oathSecret refused"
printf 'dn: %s\nchangetype: modify\nreplace: oathTOTPLastTimeStep\noathTOTPLastTimeStep: 1\n' \
	"$TOKEN1" >"$T/step.ldif"
ldapmodify -x -H "$SLAPD_URI_a" -D "$SLAPD_SERVICE_DN" -y "$SLAPD_BINDPW" \
	-f "$T/step.ldif" >"$OUT" 2>&1 ||
	fail "the service DN may write the last step: $(cat "$OUT")"

# The cn=config twin oath-acl.ldif holds the same rules: a database
# converted from a slapd.conf that includes oath-acl.conf, and one
# converted without it and then given the LDIF, end up with the same
# olcAccess values (slaptest writes dn.exact as dn.base), ahead of the
# database's own rule.
SLAPTOOLS=${SLAPADD_BIN%/*} # slaptest, slapcat, slapmodify
acl_db() {
	mkdir -p "$T/acl/$1" "$T/acl/db"
	{
		for _s in core cosine inetorgperson; do
			echo "include $SLAPD_SCHEMA_DIR/$_s.schema"
		done
		echo "modulepath $SLAPD_MODULE_DIR"
		echo "moduleload back_mdb"
		echo "moduleload otp"
		echo "database mdb"
		echo "suffix \"$SLAPD_BASE\""
		echo "directory $T/acl/db"
		[ "$1" = conf ] && echo "include $SLAPD_LDIF_DIR/oath-acl.conf"
		echo "access to attrs=userPassword by anonymous auth by * none"
	} >"$T/acl/$1.conf"
	# It converts, then fails to open the (empty) database: no matter.
	"$SLAPTOOLS/slaptest" -f "$T/acl/$1.conf" -F "$T/acl/$1" \
		>"$T/acl/$1.log" 2>&1
	[ -f "$T/acl/$1/cn=config.ldif" ] ||
		fail "slaptest $1: no cn=config: $(cat "$T/acl/$1.log")"
}
acl_of() {
	"$SLAPTOOLS/slapcat" -n0 -F "$T/acl/$1" -o ldif-wrap=no |
		sed -n '/^dn: olcDatabase={1}mdb,cn=config$/,/^$/p' |
		sed -n 's/^olcAccess: //p' | sed 's/dn\.exact=/dn.base=/g; s/  */ /g'
}
acl_db conf
acl_db ldif
"$SLAPTOOLS/slapmodify" -n0 -F "$T/acl/ldif" -l "$SLAPD_LDIF_DIR/oath-acl.ldif" \
	>"$OUT" 2>&1 || fail "oath-acl.ldif does not apply: $(cat "$OUT")"
acl_of conf >"$T/acl/conf.acl"
acl_of ldif >"$T/acl/ldif.acl"
[ "$(wc -l <"$T/acl/conf.acl")" -eq 5 ] ||
	fail "oath-acl.conf: expected 4 rules and the database's own"
cmp -s "$T/acl/conf.acl" "$T/acl/ldif.acl" ||
	fail "oath-acl.ldif differs from oath-acl.conf: $(diff "$T/acl/conf.acl" "$T/acl/ldif.acl")"

# ------------------------------------------------------------ remove
ctl remove nurse1 >"$OUT" 2>&1 || fail "remove nurse1: $(cat "$OUT")"
ldap_search a -b "$TOKEN1" -s base "$ANY" 1.1 >"$OUT" 2>&1 &&
	fail "token entry still there after remove"
ldap_search a -o ldif-wrap=no -b "$NURSE1_DN" -s base "$ANY" objectClass \
	oathTOTPToken >"$OUT" 2>&1 || fail "user entry: $(cat "$OUT")"
grep -q 'oathTOTP' "$OUT" && fail "user still linked after remove: $(cat "$OUT")"
expect_rc 1 "remove of a user without a token" -- ctl remove nurse1
expect_rc 1 "list of a user without a token" -- ctl list nurse1

# ------------------------------------------------------------ import
HEX1=3132333435363738393031323334353637383930
HEX2=48656c6c6f21deadbeef48656c6c6f21deadbeef
cat >"$T/users.oath" <<USERS
HOTP/T30	nurse2	-	$HEX1
HOTP/T30/8	nurse2	-	$HEX2
HOTP/T60	billing1	-	$HEX2
HOTP/T30	nosuchuser	-	$HEX1
USERS
chmod 0600 "$T/users.oath"
ctl import --from pam_oath "$T/users.oath" >"$OUT" 2>&1 ||
	fail "import pam_oath: $(cat "$OUT")"
expect_out 'imported 2' "pam_oath: nurse2 and billing1 imported"
expect_out 'line 2.*one token per user.*line 1' \
	"pam_oath: nurse2's second token reported, the first imported"
expect_out 'line 4.*nosuchuser' "pam_oath: a user not in the directory skipped"
ldap_search a -o ldif-wrap=no -b "cn=nurse2,$SLAPD_TOKEN_BASE" -s base \
	"$ANY" oathSecret >"$OUT" 2>&1 || fail "nurse2's token missing"
expect_value oathSecret "$(hex_to_b64 "$HEX1")" "nurse2 got line 1's key"
ctl list billing1 >"$OUT" 2>&1 || fail "list billing1: $(cat "$OUT")"
expect_out '^billing1 +SHA1 +6 +60 ' "billing1: a 60 s token"

GA=PDLSICMBWLV4I5N4WTU25F7XNA
printf '%s\n" TOTP_AUTH\n12345678\n' "$GA" >"$T/ga"
chmod 0600 "$T/ga"
ctl import --from google-authenticator "$T/ga" frontdesk1 >"$OUT" 2>&1 ||
	fail "import google-authenticator: $(cat "$OUT")"
expect_out 'imported 1' "google-authenticator imported"
ldap_search a -o ldif-wrap=no -b "cn=frontdesk1,$SLAPD_TOKEN_BASE" -s base \
	"$ANY" oathSecret >"$OUT" 2>&1 || fail "frontdesk1's token missing"
expect_value oathSecret "$(b32_to_b64 "$GA")" "frontdesk1 got the GA key"

# The file store, into the directory; a user who has one already is
# skipped unless --force.
printf 'super1 SHA512 8 30 %s desk\nfrontdesk1 SHA1 6 30 %s\n' \
	"$(python3 -c 'import base64; print(base64.b32encode(bytes(range(64))).decode())')" \
	"$GA" >"$T/tokens.file"
chmod 0600 "$T/tokens.file"
ctl import --from phiguard "$T/tokens.file" >"$OUT" 2>&1 ||
	fail "import phiguard: $(cat "$OUT")"
expect_out 'imported 1' "file store: super1 imported"
expect_out 'line 2.*frontdesk1 already has a token' "file store: existing token kept"
ctl list super1 >"$OUT" 2>&1 || fail "list super1"
expect_out '^super1 +SHA512 +8 +30 ' "super1: the file store's params"
ctl list >"$OUT" 2>&1 || fail "list"
[ "$(grep -c ' cn=' "$OUT")" -eq 4 ] ||
	fail "list: expected nurse2, billing1, frontdesk1, super1: $(cat "$OUT")"

# ------------------------------------------------------------ RFC 4514
# A name with every character a DN escapes, and one a filter does.
ODD='a,b+c"d\e;<f>#(g)*'
cat >"$T/odd.ldif" <<LDIF
dn: uid=a\,b\+c\"d\\\\e\;\<f\>#(g)*,$PEOPLE
changetype: add
objectClass: inetOrgPerson
uid: $ODD
cn: odd
sn: odd
LDIF
ldap_modify a <"$T/odd.ldif" >"$OUT" 2>&1 || fail "add odd user: $(cat "$OUT")"
ctl enroll "$ODD" --no-qr >"$OUT" 2>&1 || fail "enroll odd name: $(cat "$OUT")"
ODD_TOKEN=$(sed -n 's/^Enrolled token for .* in \(cn=.*\) (SHA1.*/\1/p' "$OUT")
[ -n "$ODD_TOKEN" ] || fail "no token DN for the odd name: $(cat "$OUT")"
ldap_search a -o ldif-wrap=no -b "$ODD_TOKEN" -s base "$ANY" cn >"$OUT" 2>&1 ||
	fail "odd token entry $ODD_TOKEN: $(cat "$OUT")"
grep -qxF "cn: $ODD" "$OUT" ||
	fail "the odd name does not round-trip as the cn: $(cat "$OUT")"
[ "$(grep -c '^dn: ' "$OUT")" -eq 1 ] || fail "odd token: one entry expected"
ctl list "$ODD" >"$OUT" 2>&1 || fail "list odd: $(cat "$OUT")"
grep -qF "$ODD " "$OUT" || fail "list does not show the odd name: $(cat "$OUT")"
ctl remove "$ODD" >"$OUT" 2>&1 || fail "remove odd: $(cat "$OUT")"
ldap_search a -b "$ODD_TOKEN" -s base "$ANY" 1.1 >/dev/null 2>&1 &&
	fail "odd token still there"

# ------------------------------------------------------------ admin password
chmod 0644 "$SLAPD_ADMINPW"
expect_rc 1 "a world-readable admin password file is refused" -- ctl_out list
expect_out 'admin_password_file' "the refusal names admin_password_file"
chmod 0600 "$SLAPD_ADMINPW"

# ------------------------------------------------------------ TLS, failover
# The admin's connection is the daemon's: [ldap] URIs in failover order,
# TLS as configured. A dead first URI, then ldaps:// with the test CA: the
# token is written; with a CA that did not sign the server: refused.
start_slapd t --oath --tls
tls_config() {
	site_config "ldap://127.0.0.1:$(free_port)/ $SLAPD_LDAPS_t" "$T/conf-tls"
	sed -i "s|^uri = .*|&\ntls_cacert = $1|" "$T/conf-tls"
}
tls_config "$SLAPD_TLS_DIR/ca.pem"
"$PHIGUARDCTL" --config "$T/conf-tls" enroll nurse1 --no-qr >"$OUT" 2>&1 ||
	fail "enroll over ldaps:// after a dead URI: $(cat "$OUT")"
ldap_search t -b "cn=nurse1,$SLAPD_TOKEN_BASE" -s base "$ANY" 1.1 \
	>/dev/null 2>&1 || fail "no token written over ldaps://"
tls_config "$SLAPD_TLS_DIR/other-ca.pem"
expect_rc 1 "a server certificate of another CA is refused" -- \
	"$PHIGUARDCTL" --config "$T/conf-tls" list
stop_slapd t
site_config "$SLAPD_URI_a"

# ------------------------------------------------------------ sealed
# With a site key the directory gets the sealed text, bound to the user,
# never the key bytes.
ctl keygen --key-file "$T/site.key" >"$OUT" 2>&1 || fail "keygen: $(cat "$OUT")"
sed "s|^store = ldap\$|store = ldap\nkey_file = $T/site.key|" "$CONF" \
	>"$T/conf-sealed"
"$PHIGUARDCTL" --config "$T/conf-sealed" enroll nurse1 --no-qr >"$OUT" 2>&1 ||
	fail "sealed enroll: $(cat "$OUT")"
SECRET_S=$(secret_of "$OUT")
ldap_search a -o ldif-wrap=no -b "cn=nurse1,$SLAPD_TOKEN_BASE" -s base \
	"$ANY" oathSecret >"$OUT" 2>&1 || fail "sealed token missing"
expect_out '^oathSecret: pgseal1:[0-9a-f]{16}:[A-Za-z0-9+/]+=*$' \
	"oathSecret holds the sealed text"
python3 -c 'import base64,sys
s=sys.argv[1]; s+="="*(-len(s)%8)
sys.exit(base64.b32decode(s) in open(sys.argv[2],"rb").read())' \
	"$SECRET_S" "$OUT" || fail "the key bytes are in the directory"
ctl list nurse1 >"$OUT" 2>&1 || fail "list sealed: $(cat "$OUT")"
expect_out '^nurse1 +SHA1 +6 +30 +1 +- +0 +yes ' "list: sealed yes"

# reseal on the directory: a new key first, every secret (billing1's plain
# one, enrolled above, too) under it; then the old key can go.
# seal_of USER: the key id oathSecret is sealed under, or "plain".
seal_of() {
	ldap_search a -o ldif-wrap=no -b "cn=$1,$SLAPD_TOKEN_BASE" -s base \
		"$ANY" oathSecret | sed -n 's/^oathSecret: pgseal1:\([0-9a-f]*\):.*/\1/p
		s/^oathSecret:: .*/plain/p'
}
[ "$(seal_of billing1)" = plain ] || fail "billing1's secret is not plain"
old_id=$(seal_of nurse1)
ctl keygen --key-file "$T/site.key" >"$OUT" 2>&1 || fail "keygen 2: $(cat "$OUT")"
new_id=$(awk '!/^#/ && NF { print $1; exit }' "$T/site.key")
[ -n "$new_id" ] && [ "$new_id" != "$old_id" ] || fail "keygen: no new first key"
# A key file with only an unrelated key opens nothing: refused, unchanged.
ctl keygen --key-file "$T/other.key" >/dev/null 2>&1 || fail "keygen other"
expect_rc 1 "reseal with no key that opens nurse1's secret" -- \
	"$PHIGUARDCTL" --config "$T/conf-sealed" reseal --key-file "$T/other.key"
[ "$(seal_of nurse1)" = "$old_id" ] && [ "$(seal_of billing1)" = plain ] ||
	fail "a failed reseal changed the directory"
"$PHIGUARDCTL" --config "$T/conf-sealed" reseal >"$OUT" 2>&1 ||
	fail "reseal: $(cat "$OUT")"
ntok=$(ldap_search a '(objectClass=oathTOTPUser)' 1.1 | grep -c '^dn:')
expect_out "^Resealed $ntok tokens in the directory under key $new_id\.\$" \
	"reseal: every token ($ntok), under the new key"
[ "$(seal_of nurse1)" = "$new_id" ] && [ "$(seal_of billing1)" = "$new_id" ] ||
	fail "reseal: not every secret is under $new_id"
# The old key line goes; every secret still opens (reseal opens them all).
grep -v "^$old_id " "$T/site.key" >"$T/site.key.new" &&
	chmod 0600 "$T/site.key.new" && mv "$T/site.key.new" "$T/site.key"
"$PHIGUARDCTL" --config "$T/conf-sealed" reseal >"$OUT" 2>&1 ||
	fail "reseal with the new key only: $(cat "$OUT")"
ctl remove nurse1 >"$OUT" 2>&1 || fail "remove sealed: $(cat "$OUT")"

# ------------------------------------------------------------ interop
# Against slapd's own otp overlay (bind with password + code).
start_slapd b --otp-overlay
site_config "$SLAPD_URI_b" "$T/conf-b"
USERPW=$(cat "$SLAPD_USERPW")

# A: a token phiguardctl enrolled verifies at the overlay.
ctl_b enroll nurse1 --no-qr ||
	fail "enroll on b: $(cat "$OUT")"
SECRET_B=$(secret_of "$OUT")
CODE=$(oathtool --totp -b "$SECRET_B")
WRONG=$(printf '%06d' $(((1${CODE} - 1000000 + 500000) % 1000000)))
ldapwhoami -x -H "$SLAPD_URI_b" -D "$NURSE1_DN" -w "$USERPW$WRONG" \
	>"$OUT" 2>&1 && fail "the overlay accepted a wrong code"
ldapwhoami -x -H "$SLAPD_URI_b" -D "$NURSE1_DN" -w "$USERPW$CODE" \
	>"$OUT" 2>&1 ||
	fail "the overlay refused phiguardctl's token: $(cat "$OUT")"
expect_out "^dn:$NURSE1_DN\$" "interop A: bind with password + code"

# B: a token enrolled the slapo-otp way (its own examples keep the token in
# the user entry and the params on an OU) is listed by phiguardctl.
HEXB=0102030405060708090a0b0c0d0e0f1011121314
cat >"$T/slapo.ldif" <<LDIF
dn: $PEOPLE
changetype: modify
add: objectClass
objectClass: oathTOTPParams
-
add: oathOTPLength
oathOTPLength: 6
-
add: oathHMACAlgorithm
oathHMACAlgorithm: 1.2.840.113549.2.7
-
add: oathTOTPTimeStepPeriod
oathTOTPTimeStepPeriod: 30
-
add: oathTOTPTimeStepWindow
oathTOTPTimeStepWindow: 3

dn: uid=nurse2,$PEOPLE
changetype: modify
add: objectClass
objectClass: oathTOTPToken
-
add: oathTOTPParams
oathTOTPParams: $PEOPLE
-
add: oathSecret
oathSecret:: $(hex_to_b64 "$HEXB")
-
add: objectClass
objectClass: oathTOTPUser
-
add: oathTOTPToken
oathTOTPToken: uid=nurse2,$PEOPLE
LDIF
ldap_modify b <"$T/slapo.ldif" >"$OUT" 2>&1 ||
	fail "slapo-otp enrollment: $(cat "$OUT")"
ldapwhoami -x -H "$SLAPD_URI_b" -D "uid=nurse2,$PEOPLE" \
	-w "$USERPW$(oathtool --totp "$HEXB")" >"$OUT" 2>&1 ||
	fail "the overlay refused its own enrollment: $(cat "$OUT")"
ctl_b list nurse2 ||
	fail "list of a slapo-otp token: $(cat "$OUT")"
expect_out "^nurse2 +SHA1 +6 +30 +3 +[0-9]+ +0 +no +- +uid=nurse2,$PEOPLE\$" \
	"interop B: params, the overlay's last step, unsealed, the token DN"
expect_rc 1 "remove never deletes a user entry holding its token" -- \
	ctl_b remove nurse2
expect_out 'never deletes user entries' "the refusal says why"
ldap_search b -b "uid=nurse2,$PEOPLE" -s base "$ANY" 1.1 >/dev/null 2>&1 ||
	fail "nurse2's entry is gone"

# ... and phiguard logs in with it: a daemon with the ldap store on b
# serves it to the module, which verifies a code of the next step (the
# overlay has used this one).
pam_service login
start_daemon
HEXB_B32=$(python3 -c 'import base64,sys
print(base64.b32encode(bytes.fromhex(sys.argv[1])).decode())' "$HEXB")
wait_fresh_step
expect_rc 0 "phiguard login with the slapo-otp token" -- \
	run_pam login nurse2 auth -a "$(totp_code "$HEXB_B32" SHA1 6 $(($(date +%s) + 30)))"
expect_out '^auth: PAM_SUCCESS$' "interop B: phiguard verifies a slapo-otp token"

# The overlay is not atomic: two binds with one code, started together,
# both succeed. Each round resets the token's last step (as the rootdn),
# so that the same step may be used once more.
ROUNDS=20 both=0 one=0 none=0 round=0
printf 'dn: %s\nchangetype: modify\nreplace: oathTOTPLastTimeStep\noathTOTPLastTimeStep: 0\n' \
	"cn=nurse1,$SLAPD_TOKEN_BASE" >"$T/reset.ldif"
while [ "$round" -lt "$ROUNDS" ]; do
	round=$((round + 1))
	ldap_modify b <"$T/reset.ldif" >/dev/null 2>&1 || fail "reset step"
	CODE=$(oathtool --totp -b "$SECRET_B")
	pids=
	for i in 1 2; do
		(ldapwhoami -x -H "$SLAPD_URI_b" -D "$NURSE1_DN" \
			-w "$USERPW$CODE" >/dev/null 2>&1
		echo $? >"$T/race.$i") &
		pids="$pids $!"
	done
	# Not a bare wait: the slapd servers are children too.
	wait $pids
	ok=0
	for i in 1 2; do
		[ "$(cat "$T/race.$i")" = 0 ] && ok=$((ok + 1))
	done
	case $ok in
	2) both=$((both + 1)) ;;
	1) one=$((one + 1)) ;;
	*) none=$((none + 1)) ;;
	esac
done
log "slapd otp overlay, one code bound twice at once: both accepted in $both of $ROUNDS rounds (one: $one, none: $none)"
[ "$round" -ge 1 ] || fail "no race round ran"
[ $((both + one + none)) -eq "$ROUNDS" ] || fail "race counts do not add up"
[ "$none" -eq 0 ] || log "note: $none rounds had no success (a step boundary?)"

# A: and the token phiguardctl enrolled logs in through phiguard too.
wait_fresh_step
expect_rc 0 "phiguard login with phiguardctl's token" -- \
	run_pam login nurse1 auth -a "$(totp_code "$SECRET_B" SHA1 6 $(($(date +%s) + 30)))"
expect_out '^auth: PAM_SUCCESS$' "phiguardctl's token logs in through phiguard"

finish
