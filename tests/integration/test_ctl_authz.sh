#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# phiguardctl check, explain, status, flush and reload against a scripted
# stand-in daemon (fakedaemon.py): the requests sent, the output, the exit
# codes (0 allowed/done, 1 denied/refused, 2 usage, 3 unreachable), and no
# daemon byte reaching the terminal unfiltered; then the same commands
# against phiguardd and a real slapd.
. "${top_srcdir:?}/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/slapd.sh"

write_config
fake_start
CTL_OUT="$T/ctl.out"
CTL_ERR="$T/ctl.err"

# c WANT_RC DESCRIPTION ARGS...: phiguardctl on the stand-in's socket.
c() {
	want=$1 what=$2
	shift 2
	: >"$FAKE_LINES"
	"$PHIGUARDCTL" --config "$CONF" --socket "$FAKE_SOCK" "$@" \
		>"$CTL_OUT" 2>"$CTL_ERR"
	got=$?
	[ "$got" -eq "$want" ] ||
		fail "$what: exit $got, want $want; stderr: $(cat "$CTL_ERR")"
}
out_has() { grep -Eq -- "$1" "$CTL_OUT" || fail "$2: no '$1' in: $(cat "$CTL_OUT")"; }
err_has() { grep -Eq -- "$1" "$CTL_ERR" || fail "$2: no '$1' in: $(cat "$CTL_ERR")"; }
sent() {
	[ "$(cat "$FAKE_LINES")" = "$1" ] || fail "$2: sent '$(cat "$FAKE_LINES")', want '$1'"
}

# --- check
fake_answers 'CHECK v1 OK allowed=yes source=cache'
c 0 "check allowed" check nurse1 phi.read.clinical
sent 'v1 CHECK user=nurse1 scope=phi.read.clinical' "check request"
out_has '^nurse1 phi\.read\.clinical: allowed, source cache$' "check allowed"
fake_answers 'CHECK v1 OK allowed=no reason=no-rule source=fresh'
c 1 "check denied" check nurse1 phi.billing
out_has '^nurse1 phi\.billing: denied \(no-rule\), source fresh$' "check denied"
fake_answers 'CHECK v1 OK allowed=maybe'
c 1 "check, allowed=maybe" check nurse1 phi.billing
err_has 'treated as denied' "check, allowed=maybe"
fake_answers 'CHECK v1 OK source=cache'
c 1 "check, no allowed=" check nurse1 phi.billing
fake_answers 'CHECK v1 ERR code=permission'
c 1 "check, not root" check nurse2 phi.billing
err_has 'needs root' "check, not root"
fake_answers 'CHECK hello'
c 1 "check, garbage" check nurse1 phi.billing
err_has 'sent a bad reply' "check, garbage"
fake_answers 'CHECK @big'
c 1 "check, oversized reply" check nurse1 phi.billing
fake_answers 'CHECK @hang'
c 3 "check, hung daemon" check nurse1 phi.billing
c 2 "check, one operand" check nurse1
c 2 "check, bad user" check 'nurse 1' phi.read
c 2 "check, empty scope" check nurse1 ''
[ ! -s "$FAKE_LINES" ] || fail "a usage error sent a request"
"$PHIGUARDCTL" --config "$CONF" --socket "$T/no-such.sock" check nurse1 phi.read \
	>/dev/null 2>&1
[ $? -eq 3 ] || fail "check without a daemon: want exit 3"

# --- explain: lists one item a line, rules as scope <- role, ages
# readable, escape sequences and controls from the daemon removed.
fake_answers 'EXPLAIN v1 OK found=yes dn=uid%3Dnurse1,ou%3Dpeople,dc%3Dexample groups=cn%3Dnurses,ou%3Dgroups,dc%3Dexample%0Acn%3Dstaff,ou%3Dgroups,dc%3Dexample role=nurse scopes=phi.read.demographics%20phi.read.clinical rules=phi.read.demographics%20nurse%0Aphi.read.clinical%20nurse source=cache age=75 server=ldap://127.0.0.1:3389 note=%1B[2Jsafe%C3%A9%E2%80%AE'
c 0 "explain" explain nurse1
sent 'v1 EXPLAIN user=nurse1' "explain request"
out_has '^nurse1:$' "explain header"
out_has '^  found +yes$' "explain found"
out_has '^  dn +uid=nurse1,ou=people,dc=example$' "explain dn"
out_has '^  groups:$' "explain groups"
out_has '^    cn=nurses,ou=groups,dc=example$' "explain first group"
out_has '^    cn=staff,ou=groups,dc=example$' "explain second group"
out_has '^  scopes +phi\.read\.demographics phi\.read\.clinical$' "explain scopes"
out_has '^    phi\.read\.clinical +<- nurse$' "explain rule"
out_has '^  age +0d 00:01:15 \(75 s\)$' "explain age"
out_has '^  server +ldap://127\.0\.0\.1:3389$' "explain server"
# The escape sequence and the bidi override go; UTF-8 text stays.
out_has "^  note +safe$(printf '\303\251')\$" "escape sequence removed, UTF-8 kept"
! grep -q "$(printf '\033')" "$CTL_OUT" || fail "explain printed an ESC byte"
fake_answers 'EXPLAIN v1 OK found=no groups= scopes= rules='
c 0 "explain, unknown user" explain ghost
out_has '^  found +no$' "explain unknown user"
out_has '^  groups: \(none\)$' "explain, no groups"
fake_answers 'EXPLAIN v1 ERR code=permission'
c 1 "explain, not root" explain nurse1
c 2 "explain, no user" explain

# --- status: the directory and cache fields, whatever their order.
fake_answers 'STATUS v1 OK version=0.2 uptime=93784 users=2 locked=0 clients=1 requests=9 errors=0 state=ok directory=offline server=ldap://127.0.0.1:3389 cache_entries=5 cache_hits=40 cache_misses=2 refresh_queue=1'
c 0 "status" status
out_has '^  uptime +1d 02:03:04 \(93784 s\)$' "status uptime"
out_has '^  directory +offline$' "status directory"
out_has '^  server +ldap://127\.0\.0\.1:3389$' "status server"
out_has '^  cache_entries +5$' "status cache entries"
out_has '^  refresh_queue +1$' "status refresh queue"

# --- flush
fake_answers 'FLUSH v1 OK flushed=3'
c 0 "flush all" flush
sent 'v1 FLUSH' "flush all request"
out_has '^3 cache entries flushed\.$' "flush all"
fake_answers 'FLUSH v1 OK flushed=1'
c 0 "flush one" flush nurse1
sent 'v1 FLUSH user=nurse1' "flush one request"
out_has '^1 cache entry flushed\.$' "flush one"
c 2 "flush, two users" flush nurse1 nurse2

# --- reload: the daemon's config error is shown, exit 1.
fake_answers 'RELOAD v1 OK reloaded=yes'
c 0 "reload" reload
sent 'v1 RELOAD' "reload request"
out_has '^configuration reloaded\.$' "reload"
fake_answers 'RELOAD v1 ERR code=config msg=/etc/phiguard/phiguard.conf:12:%20scopes:%20no%20group%20is%20mapped'
c 1 "reload refused" reload
err_has '/etc/phiguard/phiguard\.conf:12: scopes: no group is mapped' "reload error text"
err_has 'keeps its current configuration' "reload refused note"
fake_answers 'RELOAD @close'
c 3 "reload, connection dropped" reload
c 2 "reload, extra operand" reload now

fake_stop

# --- the real daemon and directory.
start_slapd a
write_ldap_config "$SLAPD_URI_a"
start_daemon
# r WANT_RC DESCRIPTION ARGS...: phiguardctl on the real daemon, with its
# own copy of the config (the daemon's is broken on purpose below).
cp "$CONF" "$T/ctl.conf"
r() {
	want=$1 what=$2
	shift 2
	"$PHIGUARDCTL" --config "$T/ctl.conf" "$@" >"$CTL_OUT" 2>"$CTL_ERR"
	got=$?
	[ "$got" -eq "$want" ] ||
		fail "$what: exit $got, want $want; stderr: $(cat "$CTL_ERR")"
}
r 0 "real: check allowed" check nurse1 phi.clinical
out_has '^nurse1 phi\.clinical: allowed, source (fresh|cache)$' "real: check allowed"
r 1 "real: check denied" check nurse1 phi.write
out_has '^nurse1 phi\.write: denied \(no-rule\)' "real: check denied"
r 0 "real: explain" explain nurse1
out_has '^  dn +uid=nurse1,ou=people,dc=mercy,dc=example$' "real: explain dn"
out_has '^    cn=nurses,ou=groups,dc=mercy,dc=example$' "real: explain group"
out_has '^    phi\.clinical +<- nurse$' "real: explain rule"
out_has "^  server +$SLAPD_URI_a" "real: explain server"
r 0 "real: status" status
out_has '^  directory +online$' "real: status directory"
out_has '^  cache_entries +1$' "real: status cache entries"
r 0 "real: flush nurse1" flush nurse1
out_has '^1 cache entry flushed\.$' "real: flush nurse1"
r 0 "real: flush all" flush
out_has '^0 cache entries flushed\.$' "real: flush all, cache empty"
r 0 "real: reload" reload
echo '[role broken' >>"$CONF"
r 1 "real: reload refused" reload
err_has 'phiguard\.conf:[0-9]+: ' "real: reload shows file:line"
err_has 'keeps its current configuration' "real: reload refused note"
r 0 "real: old policy kept" check nurse1 phi.clinical
stop_daemon
r 3 "real: check, daemon stopped" check nurse1 phi.clinical

finish
