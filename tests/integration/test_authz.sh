#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Authorization through phiguardd against a real slapd: scopes per role of
# the sample directory, nesting and cycles, unknown users, injection, CHECK,
# permissions, outages (stale answers, offline_grace, recovery), a frozen
# directory not delaying cached answers, RELOAD and SIGHUP, failover.
# shellcheck disable=SC2154 # SLAPD_*_NAME are set by start_slapd (eval)
. "${top_srcdir:?}/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/slapd.sh"

need "$PY" setpriv
NOBODY_UID=$(id -u nobody) || die "no user nobody"

start_slapd a
start_slapd b

req() { pgreq "$@" >"$OUT" 2>&1; }
race() { pgclient race "$@" >"$OUT" 2>&1; }
as_nobody() { pgreq_as "$NOBODY_UID" "$@" >"$OUT" 2>&1; }
# expect PATTERN [LINE]: line LINE (default 1) of $OUT matches the ERE.
expect() {
	_l=$(sed -n "${2:-1}p" "$OUT")
	printf '%s\n' "$_l" | grep -Eq -- "$1" ||
		fail "expected /$1/ on line ${2:-1}, got: $_l"
}
authz() { req "v1 AUTHZ user=$1"; }
# dlog PATTERN: a line of the daemon's log matches the ERE.
dlog() {
	grep -Eq -- "$1" "$DAEMON_LOG" || fail "no daemon log line matching '$1'"
}

OFFLINE_GRACE=300
LOGIN_REFRESH=60
URIS="$SLAPD_URI_a"
# write_authz_config [EXTRA ROLE TEXT]: lib.sh's config plus the directory
# and the sample policy.
write_authz_config() {
	write_config
	cat >>"$CONF" <<CONF
hostname = ws1

[ldap]
uri = $URIS
base = $SLAPD_BASE
bind_dn = $SLAPD_SERVICE_DN
bind_password_file = $SLAPD_BINDPW
network_timeout = 1
search_timeout = 2

[cache]
offline_grace = $OFFLINE_GRACE
login_refresh = $LOGIN_REFRESH

[role supervisor]
group = supervisors
scopes = phi.read phi.write phi.audit

[role nurse]
group = cn=nurses, ou=groups, $SLAPD_BASE
group = cycle-b
scopes = phi.read phi.clinical

[role frontdesk]
group = frontdesk
scopes = phi.demographics

[role billing]
group = billing
scopes = phi.billing

[role lab]
group = lab-techs
scopes = phi.lab
terminals = lab-* ws1

[role breakglass]
group = breakglass
scopes = phi.all
breakglass = yes
${1:-}
CONF
}

# The [daemon] hostname key sits right after lib.sh's [daemon] lines only
# if nothing else came between: write_config ends with [totp], so put it
# back under a [daemon] header of its own... which would be a duplicate
# section; sed it into place instead.
fix_hostname() {
	sed -i '/^hostname = ws1$/d' "$CONF"
	sed -i 's/^\[daemon\]$/[daemon]\nhostname = ws1/' "$CONF"
}

write_authz_config
fix_hostname
start_daemon

# --- scopes per role --------------------------------------------------
authz nurse1
expect '^v1 OK allowed=yes scopes=phi.read%20phi.clinical role=nurse rule=nurse source=fresh age=0$'
authz super1
expect 'allowed=yes scopes=phi.read%20phi.write%20phi.audit%20phi.clinical%20phi.all role=supervisor '
dlog "ALERT PG-ALERT-BREAKGLASS kind=breakglass .*user=super1 .*detail=\"break-glass grant: phi\.all\""
authz frontdesk1
expect 'allowed=yes scopes=phi.demographics role=frontdesk '
authz billing1
expect 'allowed=yes scopes=phi.billing%20phi.lab role=billing rule=billing%0Alab '
# nurse2: nurses, lab-techs by memberUid, and cycle-a/cycle-b (a cycle).
authz nurse2
expect 'allowed=yes scopes=phi.read%20phi.clinical%20phi.lab role=nurse '
authz 'temp(7)*\'
expect 'allowed=yes scopes=phi.demographics%20phi.lab role=frontdesk '
# A user in no mapped group, and a user that does not exist.
authz norole1
expect '^v1 OK allowed=no reason=no-rule source=fresh$'
authz ghost1
expect '^v1 OK allowed=no reason=unknown-user source=fresh$'
# Answered from the cache the second time.
authz ghost1
expect '^v1 OK allowed=no reason=unknown-user source=cache$'
authz nurse1
expect 'allowed=yes .* source=cache age=[0-9]+$'
# Filter injection finds nothing: never one of the real users.
for u in '*' 'nurse*' 'nurse1)(uid=*' '\2a'; do
	req "v1 AUTHZ user=$u"
	grep -q 'allowed=yes' "$OUT" && fail "injection $u was allowed"
done

# --- CHECK, EXPLAIN, SESSION, permissions ------------------------------
req "v1 CHECK user=nurse1 scope=phi.clinical" "v1 CHECK user=nurse1 scope=phi.write" \
	"v1 CHECK user=nurse1 scope=no.such"
expect '^v1 OK allowed=yes source=cache$' 1
expect '^v1 OK allowed=no reason=no-rule source=cache$' 2
expect '^v1 OK allowed=no reason=no-rule source=cache$' 3
req "v1 EXPLAIN user=nurse1"
expect 'found=yes dn=uid%3Dnurse1,ou%3Dpeople,dc%3Dmercy,dc%3Dexample groups=cn%3Dnurses,ou%3Dgroups,dc%3Dmercy,dc%3Dexample%0Acn%3Dclinical-staff,'
expect 'rules=phi.read%20nurse%0Aphi.clinical%20nurse source=cache age=[0-9]+ server=ldap://'
req "v1 SESSION user=nurse1 action=open service=login tty=tty1"
expect '^v1 OK$'
dlog "SESSION user=nurse1 .*action=open"
as_nobody "v1 AUTHZ user=nurse1" "v1 CHECK user=nurse1 scope=phi.read" \
	"v1 EXPLAIN user=nurse1" "v1 FLUSH" "v1 RELOAD"
expect 'ERR code=permission' 1
expect 'ERR code=permission' 2
expect 'ERR code=permission' 3
expect 'ERR code=permission' 4
expect 'ERR code=permission' 5
req "v1 STATUS"
expect 'directory=online server=ldap://[^ ]+ cache_entries=[0-9]+ cache_hits=[0-9]+ cache_misses=[0-9]+ refresh_queue=[0-9]+ verbs=[^ ]*$'

# --- a frozen directory does not delay cached users ---------------------
# With login_refresh = 0 every login refreshes first; a frozen directory
# makes it late, and the login gets the cached entry instead of waiting.
LOGIN_REFRESH=0
write_authz_config
fix_hostname
req "v1 RELOAD"
freeze_slapd a
authz nurse1
expect '^v1 OK allowed=yes .*source=cache '
dlog "login refresh of user=nurse1 late: answering from the cache"
race "v1 AUTHZ user=frontdesk2" "v1 CHECK user=nurse1 scope=phi.read"
thaw_slapd a
expect '^pending$' 1
# Stale once the refresh above has timed out: either way, not waiting.
expect '^v1 OK allowed=yes source=(cache|stale)$' 2
# The cold one ends one way or the other, within its bounds.
expect '^v1 OK allowed=' 3
LOGIN_REFRESH=60

# --- RELOAD, SIGHUP ---------------------------------------------------
write_authz_config "[role extra]
group = nurses
scopes = phi.extra"
fix_hostname
# The frozen lookup may have timed out: cached answers may be stale now.
req "v1 RELOAD" "v1 CHECK user=nurse1 scope=phi.extra"
expect '^v1 OK reloaded=yes$' 1
expect '^v1 OK allowed=yes source=(cache|stale)$' 2
echo "[role broken" >>"$CONF"
req "v1 RELOAD"
expect '^v1 ERR code=config msg=.*phiguard.conf:[0-9]+:'
kill -HUP "$DAEMON_PID"
sleep 0.3
dlog "bad config refused, old kept: .*phiguard.conf:[0-9]+: "
req "v1 CHECK user=nurse1 scope=phi.extra"
expect '^v1 OK allowed=yes '

# --- outage: stale within offline_grace, then denied; recovery ---------
write_authz_config
fix_hostname
req "v1 RELOAD" "v1 FLUSH user=nurse1" "v1 AUTHZ user=nurse1"
expect 'reloaded=yes' 1
expect '^v1 OK flushed=1$' 2
expect 'allowed=yes .*source=fresh' 3
stop_slapd a
# Cold: the directory cannot answer.
authz frontdesk1x
expect '^v1 OK allowed=no reason=directory-unreachable source=none$'
# Cached: served stale (once the daemon knows it is offline).
req "v1 CHECK user=nurse1 scope=phi.read"
expect '^v1 OK allowed=yes source=stale$'
dlog "directory unreachable"
# A group removal made during the outage applies after recovery.
restart_slapd a
ldap_modify a <<LDIF
dn: cn=nurses,ou=groups,$SLAPD_BASE
changetype: modify
delete: member
member: uid=nurse1,ou=people,$SLAPD_BASE
LDIF
# The client retries the server after its backoff: poll, bounded.
directory_back() {
	req "v1 FLUSH user=nurse1" "v1 AUTHZ user=nurse1"
	! grep -q 'directory-unreachable' "$OUT"
}
wait_for -i 0.2 10 directory_back
expect '^v1 OK allowed=no reason=no-rule source=fresh$' 2
dlog "directory reachable again"

# offline_grace: 5 s (short, but long enough for a loaded machine to
# ask within it), then denied.
OFFLINE_GRACE=5
write_authz_config
fix_hostname
req "v1 RELOAD" "v1 FLUSH user=frontdesk1" "v1 AUTHZ user=frontdesk1"
fetched=$(now_ms)
expect 'allowed=yes .*source=fresh' 3
stop_slapd a
authz ghost2
expect 'reason=directory-unreachable'
req "v1 CHECK user=frontdesk1 scope=phi.demographics"
expect 'allowed=yes source=stale'
left=$((fetched + OFFLINE_GRACE * 1000 + 500 - $(now_ms)))
[ "$left" -le 0 ] || sleep "$((left / 1000)).$(printf '%03d' $((left % 1000)))"
req "v1 CHECK user=frontdesk1 scope=phi.demographics"
expect '^v1 OK allowed=no reason=directory-unreachable source=stale$'

# --- failover and fail-back ---------------------------------------------
OFFLINE_GRACE=300
URIS="$SLAPD_URI_a $SLAPD_URI_b"
write_authz_config
fix_hostname
req "v1 RELOAD" "v1 FLUSH" "v1 AUTHZ user=super1" "v1 STATUS"
expect 'allowed=yes' 3
expect "server=$SLAPD_URI_b " 4
restart_slapd a
failed_back() {
	req "v1 STATUS"
	grep -q "server=$SLAPD_URI_a " "$OUT"
}
wait_for -i 0.2 30 failed_back || fail "no fail-back to $SLAPD_URI_a"

# --- without [ldap]: the verbs are unavailable, the rest works ----------
write_config
req "v1 RELOAD" "v1 AUTHZ user=nurse1" "v1 CHECK user=nurse1 scope=phi.read" \
	"v1 FLUSH" "v1 SESSION user=nurse1 action=close" "v1 STATUS"
expect '^v1 OK reloaded=yes$' 1
expect '^v1 ERR code=unavailable msg=no%20directory%20configured$' 2
expect '^v1 ERR code=unavailable msg=no%20directory%20configured$' 3
expect '^v1 ERR code=unavailable msg=no%20directory%20configured$' 4
expect '^v1 OK$' 5
# No directory fields after the audit trail's.
expect 'state=ok audit=ok audit_head=[0-9a-f]{64} audit_records=[0-9]+ audit_lost=0 audit_dropped=0 audit_aggregated=[0-9]+ audit_busy=0 verbs=[^ ]+$' 6

finish
