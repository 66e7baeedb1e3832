#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Authorization in the audit trail, against a real slapd: AUTHZ allows and
# denies with scopes, rule and source; break-glass is recorded loudly and
# whatever audit_checks says; CHECK answers under audit_checks = denied,
# all and none (changed by RELOAD); reloads accepted and refused, SIGHUP,
# and cache flushes with the admin's uid.
. "${top_srcdir:?}/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/slapd.sh"
need python3

start_slapd a
ROLES="
[role breakglass]
group = breakglass
scopes = phi.all
breakglass = yes"
write_ldap_config "$SLAPD_URI_a" "$ROLES"
start_daemon

# show_n PATTERN: how many records audit show (table) has matching PATTERN.
show_n() {
	ctl audit show 2>/dev/null | grep -Ec -- "$1"
}

# wait_show N PATTERN: the trail holds N records matching (the writer is a
# thread; 5 s at most).
wait_show() {
	wait_for 5 show_is "$1" "$2" ||
		fail "want $1 records matching '$2', have $(show_n "$2")"
}

show_is() {
	[ "$(show_n "$2")" -eq "$1" ]
}

set_checks() {
	sed -i "s/^audit_checks = .*/audit_checks = $1/" "$CONF"
	pgreq "v1 RELOAD" | grep -q 'reloaded=yes' || fail "reload to audit_checks=$1"
}

# --- AUTHZ ------------------------------------------------------------
pgreq "v1 AUTHZ user=nurse1 service=login tty=tty3" \
	"v1 AUTHZ user=billing1 service=login" \
	"v1 AUTHZ user=super1 service=login" >"$OUT"
expect_out '^v1 OK allowed=yes scopes=phi.read%20phi.clinical role=nurse rule=nurse source=fresh age=0$' "nurse allowed"
expect_out 'breakglass=phi.all' "super1's answer names its break-glass scope"
wait_show 2 ' authz-allow '
ctl audit show --user nurse1 >"$OUT" 2>&1
expect_out 'authz-allow +nurse1 +allow +scopes=phi.read phi.clinical .*service=login tty=tty3 source=fresh rule=nurse' \
	"authz-allow with scopes, items, source and rule"
ctl audit show --user billing1 >"$OUT" 2>&1
expect_out 'authz-deny +billing1 +deny +reason=no-rule .*source=fresh' "authz-deny with its reason"
ctl audit show --event break-glass >"$OUT" 2>&1
expect_out 'break-glass +super1 +allow +scopes=phi.all reason=login' "break-glass recorded"
grep -Eq 'audit event=break-glass user=super1 .*scopes=phi.all' "$DAEMON_LOG" ||
	fail "break-glass not mirrored to the log"

# --- CHECK and audit_checks --------------------------------------------
C_OK="v1 CHECK user=nurse1 scope=phi.read"
C_NO="v1 CHECK user=nurse1 scope=phi.billing"
C_BG="v1 CHECK user=super1 scope=phi.all"
pgreq "$C_OK" "$C_NO" "$C_BG" >/dev/null # denied (the default)
wait_show 1 ' check-deny '
wait_show 2 ' break-glass '
[ "$(show_n ' check-allow ')" -eq 0 ] || fail "denied: an allow was recorded"
set_checks all
pgreq "$C_OK" "$C_NO" "$C_BG" >/dev/null
wait_show 2 ' check-deny '
wait_show 2 ' check-allow ' # nurse1, and super1's phi.all
wait_show 3 ' break-glass '
set_checks none
pgreq "$C_OK" "$C_NO" "$C_BG" >/dev/null
wait_show 4 ' break-glass ' # always
[ "$(show_n ' check-deny ')" -eq 2 ] || fail "none: a denial was recorded"
[ "$(show_n ' check-allow ')" -eq 2 ] || fail "none: an allow was recorded"
ctl audit show --event check-deny >"$OUT" 2>&1
expect_out 'check-deny +nurse1 +deny +scopes=phi.billing reason=no-rule source=cache' "check-deny fields"

# --- admin actions ------------------------------------------------------
pgreq "v1 FLUSH user=nurse1" >/dev/null
printf '[cache]\nbogus = 1\n' >>"$CONF"
pgreq "v1 RELOAD" | grep -q 'code=config' || fail "a bad config was not refused"
sed -i '/^bogus = 1$/d; /^\[cache\]$/d' "$CONF"
kill -HUP "$DAEMON_PID"
wait_show 4 ' reload '
ctl audit show --event reload >"$OUT" 2>&1
expect_out 'reload +- +deny .*reason=.*bogus.*uid=0' "refused reload with the parser's reason"
expect_out 'reload +- +allow +reason=sighup' "SIGHUP reload"
ctl audit show --event cache-flush >"$OUT" 2>&1
expect_out 'cache-flush +nurse1 +allow +reason=flushed=1 uid=0' "flush with the admin's uid"
ctl audit verify >"$OUT" 2>&1 || fail "verify: $(cat "$OUT")"
echo "--- audit show excerpt" >&2
ctl audit show 2>/dev/null | head -n 12 >&2
finish
