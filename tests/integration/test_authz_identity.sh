#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# A directory as sites have it, through the real module's account stage, a
# real phiguardd and phiguardctl: a login name matches only the entry that
# carries it byte for byte (case variants, UTF-8, a local account beside a
# directory person of another case, memberUid), two entries with one name
# are refused as ambiguous, policy DNs written with RFC 4514 escapes match
# the server's spelling, and explain shows UTF-8 DNs as they are.
# shellcheck disable=SC2154 # SLAPD_*_NAME are set by start_slapd (eval)
. "${top_srcdir:?}/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/slapd.sh"

need setpriv
NOBODY_UID=$(id -u nobody) || die "no user nobody"
B=$SLAPD_BASE
ZOE=$(printf 'zo\303\253')       # zoë
ZOE_UP=$(printf 'ZO\303\213')    # ZOË
EQUIPE=$(printf '\303\211quipe de nuit') # Équipe de nuit

start_slapd a
ldap_modify a <<LDIF || die "adding the site's entries failed"
dn: ou=contractors,$B
changetype: add
objectClass: organizationalUnit
ou: contractors

dn: uid=$ZOE,ou=people,$B
changetype: add
objectClass: inetOrgPerson
uid: $ZOE
cn: $ZOE
sn: Z

dn: uid=Nobody,ou=people,$B
changetype: add
objectClass: inetOrgPerson
uid: Nobody
cn: A directory person who is not the local nobody
sn: N

dn: uid=dup1,ou=people,$B
changetype: add
objectClass: inetOrgPerson
uid: dup1
cn: dup1 (staff)
sn: D

dn: uid=dup1,ou=contractors,$B
changetype: add
objectClass: inetOrgPerson
uid: dup1
cn: dup1 (contractor)
sn: D

dn: uid=claims1,ou=people,$B
changetype: add
objectClass: inetOrgPerson
uid: claims1
cn: claims1
sn: C

dn: uid=lab9,ou=people,$B
changetype: add
objectClass: inetOrgPerson
uid: lab9
cn: lab9
sn: L

dn: cn=Billing\2C Claims & Co,ou=groups,$B
changetype: add
objectClass: groupOfNames
cn: Billing, Claims & Co
member: uid=claims1,ou=people,$B

dn: cn=Back\5Cslash Team,ou=groups,$B
changetype: add
objectClass: groupOfNames
cn: Back\\slash Team
member: uid=claims1,ou=people,$B

dn: cn=$EQUIPE,ou=groups,$B
changetype: add
objectClass: groupOfNames
cn: $EQUIPE
member: uid=$ZOE,ou=people,$B

dn: cn=nurses,ou=groups,$B
changetype: modify
add: member
member: uid=$ZOE,ou=people,$B
member: uid=Nobody,ou=people,$B
member: uid=dup1,ou=people,$B
member: uid=dup1,ou=contractors,$B

dn: cn=lab-techs,ou=groups,$B
changetype: modify
add: memberUid
memberUid: LAB9
LDIF

# Policy DNs as an admin writes them: "\," and "\\" escapes, upper-case
# attribute types, blanks after commas. slapd spells them \2C and \5C.
write_ldap_config "$SLAPD_URI_a" "[role claims]
group = cn=Billing\\, Claims & Co, ou=groups, $B
scopes = phi.claims
[role it]
group = CN=Back\\\\slash Team,OU=Groups,$B
scopes = phi.it
[role lab]
group = lab-techs
scopes = phi.lab
[role night]
group = cn=$EQUIPE,ou=groups,$B
scopes = phi.night"
start_daemon
pam_service_stages acct

UNKNOWN_MSG='^error: Your account was not found in the directory\.'

# login USER WANT_RC: the account stage for USER; its output is in $OUT.
login() {
	expect_rc "$2" "account stage of $1" -- run_pam acct "$1" acct -e
}

# --- 1. a name matches only its own entry ----------------------------------
login nurse1 0
expect_out '^env: PHIGUARD_SCOPES=phi\.read phi\.clinical$' "nurse1's scopes"
for who in NURSE1 Nurse1; do
	login "$who" 1
	expect_out '^acct: PAM_PERM_DENIED$' "$who (case variant of nurse1)"
	expect_out "$UNKNOWN_MSG" "$who: the agent's message"
	expect_no_out '^env: PHIGUARD_SCOPES=' "$who got no scopes"
	expect_rc 1 "check $who" -- ctl check "$who" phi.read
done
grep -q "uid=NURSE1: no entry with exactly this name (1 differ in case or spelling); treated as unknown" "$DAEMON_LOG" ||
	fail "no log line with the reason for NURSE1"
login "$ZOE" 0
expect_out '^env: PHIGUARD_SCOPES=phi\.read phi\.clinical phi\.night$' "zoë's scopes"
login "$ZOE_UP" 1
expect_out "$UNKNOWN_MSG" "ZOË (case variant of zoë)"

# The local account nobody, asking about itself, is not uid=Nobody.
pgreq_as "$NOBODY_UID" "v1 CHECK user=nobody scope=phi.read" >"$OUT" 2>&1 ||
	fail "nobody's CHECK: $(cat "$OUT")"
expect_out '^v1 OK allowed=no reason=unknown-user source=fresh$' \
	"local nobody is not the directory's Nobody"

# --- two entries carry one name: ambiguous, refused --------------------------
login dup1 1
expect_out '^acct: PAM_PERM_DENIED$' "dup1 (two entries)"
expect_out '^error: Your user name matches more than one account' "dup1: message"
grep -q "uid=dup1: 2 entries carry exactly this name; refused as ambiguous" \
	"$DAEMON_LOG" || fail "no log line with the reason for dup1"
ctl explain dup1 >"$OUT" 2>&1
expect_out 'reason +ambiguous-user' "explain dup1 says why"

# memberUid is matched exactly too: LAB9 in lab-techs is not lab9.
login lab9 1
expect_out '^acct: PAM_PERM_DENIED$' "lab9 is not memberUid LAB9"
login nurse2 0
expect_out '^env: PHIGUARD_SCOPES=phi\.read phi\.clinical phi\.lab$' \
	"nurse2's memberUid still counts"

# --- 2. DNs are compared as DNs ---------------------------------------------
login claims1 0
expect_out '^env: PHIGUARD_SCOPES=phi\.claims phi\.it$' \
	"escaped policy DNs match slapd's \\2C and \\5C"
expect_rc 0 "check claims1 phi.claims" -- ctl check claims1 phi.claims

# explain prints a UTF-8 DN as UTF-8, so an admin can copy it.
ctl explain "$ZOE" >"$OUT" 2>&1 || fail "explain zoë: $(cat "$OUT")"
grep -qF "cn=$EQUIPE,ou=groups,$B" "$OUT" || fail "explain mangles UTF-8: $(cat "$OUT")"
grep -qF "uid=$ZOE,ou=people,$B" "$OUT" || fail "explain mangles the user DN: $(cat "$OUT")"

stop_daemon
# --- the audit trail says why ------------------------------------------------
ctl audit show >"$T/audit.show" 2>&1 || fail "audit show: $(cat "$T/audit.show")"
grep -E "authz-deny +NURSE1 .*reason=unknown-user" "$T/audit.show" >/dev/null ||
	fail "no audit record for NURSE1: $(cat "$T/audit.show")"
grep -E "authz-deny +dup1 .*reason=ambiguous-user" "$T/audit.show" >/dev/null ||
	fail "no audit record for dup1: $(cat "$T/audit.show")"
grep -E "authz-allow +$ZOE " "$T/audit.show" >/dev/null ||
	fail "audit show mangles a UTF-8 user name: $(cat "$T/audit.show")"

finish
