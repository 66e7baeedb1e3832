#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# The directory client (daemon/authz/directory.c, driven by dirtest) against real
# slapd servers: groups per role, nesting and cycles, memberOf, RFC 2307,
# filter injection, TLS, failover and fail-back, SASL EXTERNAL, password file.
# shellcheck disable=SC2154 # SLAPD_*_NAME are set by start_slapd (eval)
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/slapd.sh"

LC_ALL=C
export LC_ALL
DIRTEST="$top_builddir/tests/integration/dirtest"
need "$DIRTEST"

NET_MS=1000
SEARCH_MS=1500
# One server may cost network_timeout + search_timeout; allow twice that
# for a loaded CI machine, but no more: an unbounded wait fails. A lookup
# that should not wait for a dead server at all must take under FAST_MS.
BOUND_MS=$((2 * (NET_MS + SEARCH_MS)))
FAST_MS=$((SEARCH_MS / 2))

start_slapd a --tls
start_slapd b --tls
start_slapd mo --memberof-only

# run_dirtest ARGS...: dirtest, stdout to $OUT, log lines to
# $T/dirtest.log. Returns its status: 0, or 2 for a refused configuration;
# anything else (a crash, a sanitizer report, a hang ended by timeout)
# fails the test.
run_dirtest() {
	timeout -k 5 60 "$DIRTEST" "$@" >"$OUT" 2>>"$T/dirtest.log"
	_st=$?
	case $_st in
	0 | 2) ;;
	*) fail "dirtest $* exited with status $_st (see $T/dirtest.log)" ;;
	esac
	return $_st
}

# dt ARGS...: run_dirtest with the service-account bind, short timeouts.
dt() {
	run_dirtest -c "base_dn=$SLAPD_BASE" -c "bind_dn=$SLAPD_SERVICE_DN" \
		-c "bind_password_file=$SLAPD_BINDPW" \
		-c "network_timeout_ms=$NET_MS" \
		-c "search_timeout_ms=$SEARCH_MS" \
		-c retry_min_ms=200 -c retry_max_ms=400 "$@"
}

# field USER N [NTH]: column N of the NTH (default: last) "lookup USER"
# line of $OUT.
field() {
	awk -F'\t' -v u="$1" -v n="$2" -v k="${3:-0}" '
		$1 == "lookup" && $2 == u { i++; if (k == 0 || i == k) v = $n }
		END { print v }' "$OUT"
}

# value USER KEY [NTH]: the number or text after KEY= on that line.
value() {
	awk -F'\t' -v u="$1" -v key="$2=" -v k="${3:-0}" '
		$1 == "lookup" && $2 == u { i++
			if (k == 0 || i == k)
				for (f = 4; f <= NF; f++)
					if (index($f, key) == 1)
						v = substr($f, length(key) + 1) }
		END { print v }' "$OUT"
}

# groups USER [NTH]: sorted cns found by that lookup, joined with "|".
groups() {
	awk -F'\t' -v u="$1" -v k="${2:-0}" '
		$1 == "lookup" { cur = ($2 == u); if (cur) i++ }
		$1 == "group" && cur && (k == 0 || i == k) { print $3 }' "$OUT" |
		sort | paste -sd'|' -
}

# check_groups USER WANT DIRTEST-ARGS...: one lookup that must succeed
# with exactly the groups WANT (sorted cns joined with "|").
check_groups() {
	_u=$1 _want=$2
	shift 2
	dt "$@" lookup "$_u"
	_rc=$(field "$_u" 3)
	if [ "$_rc" != ok ]; then
		fail "$_u [$*]: lookup gave '$_rc', want ok"
		return
	fi
	_got=$(groups "$_u")
	[ "$_got" = "$_want" ] ||
		fail "$_u [$*]: groups '$_got', want '$_want'"
}

expect_searches() {
	_got=$(value "$1" searches)
	[ "$_got" = "$2" ] || fail "$1 [$3]: $_got searches, want $2"
}

# Expected group sets of the sample directory (contrib/ldap/README.md).
TEMP='temp(7)*\'
cat >"$T/roles" <<'ROLES'
frontdesk1	all-agents|frontdesk
frontdesk2	all-agents|frontdesk|records
nurse1	all-agents|clinical-staff|nurses
nurse2	all-agents|clinical-staff|cycle-a|cycle-b|lab-techs|nurses
billing1	all-agents|billing|lab-techs
super1	all-agents|breakglass|clinical-staff|nurses|supervisors
norole1
temp(7)*\	all-agents|frontdesk|lab-techs|triage (night)*
ROLES

# --- groups per role, nested and cyclic, member/uniqueMember/memberUid,
# on the directory that stores membership on the groups and on the one
# that shows it only through memberOf.
for srv in a mo; do
	uri=$(_slapd_get SLAPD_URI "$srv")
	while IFS='	' read -r user want; do
		check_groups "$user" "$want" -c "uri=$uri"
	done <"$T/roles"
done

# Depth is reported; super1 reaches all-agents through three groups.
dt -c "uri=$SLAPD_URI_a" lookup super1
grep -q "^group	3	all-agents	cn=all-agents,ou=groups,$SLAPD_BASE\$" "$OUT" ||
	fail "super1: all-agents not reported at depth 3"
grep -q "^user	uid=super1,ou=people,$SLAPD_BASE\$" "$OUT" ||
	fail "super1: user DN not reported"

# --- searches issued: user, direct groups, one per level until a level
# finds nothing new.
dt -c "uri=$SLAPD_URI_a" lookup nurse1 lookup norole1 lookup billing1
expect_searches nurse1 5 "depth 3"
expect_searches norole1 2 "no groups: no parent search"
expect_searches billing1 4 "depth 3"
# memberOf directory, membership=memberof: the user's memberOf values,
# then one base read of memberOf per group and level, no group search.
dt -c "uri=$SLAPD_URI_mo" -c membership=memberof lookup nurse1
expect_searches nurse1 4 "memberOf"
# auto takes memberOf and searches groups too (an overlay tracks only one
# attribute), per level both the member search and the memberOf reads.
dt -c "uri=$SLAPD_URI_mo" lookup nurse1
expect_searches nurse1 8 "memberOf, auto"

# nesting_depth bounds the walk; 0 means no parent search.
check_groups nurse1 'nurses' -c "uri=$SLAPD_URI_a" -c nesting_depth=0
expect_searches nurse1 2 "nesting_depth=0"
check_groups super1 'breakglass|supervisors' -c "uri=$SLAPD_URI_a" \
	-c nesting_depth=0
expect_searches super1 2 "nesting_depth=0"
check_groups super1 'breakglass|clinical-staff|nurses|supervisors' \
	-c "uri=$SLAPD_URI_a" -c nesting_depth=2
expect_searches super1 4 "nesting_depth=2"
check_groups nurse1 'nurses' -c "uri=$SLAPD_URI_mo" -c nesting_depth=0 \
	-c membership=memberof
expect_searches nurse1 1 "memberOf, nesting_depth=0"
# The cycle ends at the visited set, not at the depth limit.
check_groups nurse2 'all-agents|clinical-staff|cycle-a|cycle-b|lab-techs|nurses' \
	-c "uri=$SLAPD_URI_a" -c nesting_depth=10
expect_searches nurse2 5 "cycle, nesting_depth=10"

# --- membership modes
check_groups nurse2 'all-agents|clinical-staff|cycle-a|cycle-b|nurses' \
	-c "uri=$SLAPD_URI_a" -c membership=member
check_groups billing1 'all-agents|billing' -c "uri=$SLAPD_URI_a" \
	-c membership=member
check_groups nurse2 'lab-techs' -c "uri=$SLAPD_URI_a" -c membership=memberuid
check_groups "$TEMP" 'lab-techs' -c "uri=$SLAPD_URI_a" -c membership=memberuid
# Membership shows only through memberOf there: a member search finds none.
check_groups nurse1 '' -c "uri=$SLAPD_URI_mo" -c membership=member
# Nesting through the groups' own memberOf values: with member searches
# alone the memberOf directory loses clinical-staff and all-agents.
check_groups nurse1 'all-agents|clinical-staff|nurses' -c "uri=$SLAPD_URI_mo" \
	-c membership=memberof
check_groups super1 'all-agents|breakglass|clinical-staff|nurses|supervisors' \
	-c "uri=$SLAPD_URI_mo" -c membership=memberof
check_groups nurse2 'all-agents|clinical-staff|cycle-a|cycle-b|lab-techs|nurses' \
	-c "uri=$SLAPD_URI_mo" -c membership=memberof -c nesting_depth=10
check_groups nurse1 '' -c "uri=$SLAPD_URI_a" -c membership=memberof
# An overlay records one membership attribute: auto adds what memberOf
# cannot show (here a posixGroup listing nurse1 by memberUid).
ldap_modify mo <<LDIF || die "ldapmodify lab-techs failed"
dn: cn=lab-techs,ou=groups,$SLAPD_BASE
changetype: modify
add: memberUid
memberUid: nurse1
LDIF
check_groups nurse1 'all-agents|clinical-staff|lab-techs|nurses' \
	-c "uri=$SLAPD_URI_mo" -c membership=auto
check_groups nurse1 'all-agents|clinical-staff|nurses' -c "uri=$SLAPD_URI_mo" \
	-c membership=memberof

# --- unknown user and filter injection: nothing found, no group matched.
dt -c "uri=$SLAPD_URI_a" lookup ghost
[ "$(field ghost 3)" = not-found ] || fail "ghost: $(field ghost 3), want not-found"
expect_searches ghost 1 "unknown user"
# Unescaped, super* and bill*1 would each match exactly one user.
for u in '*' 'nurse*' 'super*' 'bill*1' '\' 'n*1' '*)(|(uid' 'nurse1)(cn' \
	'nurse1)(uid=*' '*)(uid=*))(|(uid=*'; do
	dt -c "uri=$SLAPD_URI_a" lookup "$u"
	case "$(field "$u" 3)" in
	not-found | bad-user) ;;
	*) fail "injection '$u': $(field "$u" 3), want not-found or bad-user" ;;
	esac
	! grep -q '^group' "$OUT" || fail "injection '$u': matched a group"
	[ "$(value "$u" searches)" -le 1 ] ||
		fail "injection '$u': went on to search groups"
done
# The real user whose name holds ( ) * \ is found by its exact name (a
# second match would make it ambiguous, hence not found).
dt -c "uri=$SLAPD_URI_a" lookup "$TEMP"
grep -q '^user	uid=temp(7)\*\\5C,ou=people,' "$OUT" ||
	fail "$TEMP: not found by its exact name"

# --- a change in the directory shows at the next lookup (no caching here)
ldap_modify a <<LDIF || fail "ldap_modify failed"
dn: cn=breakglass,ou=groups,$SLAPD_BASE
changetype: modify
add: member
member: uid=nurse1,ou=people,$SLAPD_BASE
LDIF
check_groups nurse1 'all-agents|breakglass|clinical-staff|nurses' \
	-c "uri=$SLAPD_URI_a"
ldap_modify a <<LDIF || fail "ldap_modify failed"
dn: cn=breakglass,ou=groups,$SLAPD_BASE
changetype: modify
delete: member
member: uid=nurse1,ou=people,$SLAPD_BASE
LDIF

# --- TLS: StartTLS and ldaps with the test CA; the wrong CA is refused.
CA="$SLAPD_TLS_DIR/ca.pem"
OTHER="$SLAPD_TLS_DIR/other-ca.pem"
check_groups nurse1 'all-agents|clinical-staff|nurses' \
	-c "uri=$SLAPD_URI_a" -c starttls=yes -c "tls_cacert=$CA"
check_groups nurse1 'all-agents|clinical-staff|nurses' \
	-c "uri=$SLAPD_LDAPS_a" -c "tls_cacert=$CA"
dt -c "uri=$SLAPD_URI_a" -c starttls=yes -c "tls_cacert=$OTHER" lookup nurse1
[ "$(field nurse1 3)" = unavailable ] ||
	fail "StartTLS, wrong CA: $(field nurse1 3), want unavailable"
dt -c "uri=$SLAPD_LDAPS_a" -c "tls_cacert=$OTHER" lookup nurse1
[ "$(field nurse1 3)" = unavailable ] ||
	fail "ldaps, wrong CA: $(field nurse1 3), want unavailable"
! grep -q '^group' "$OUT" || fail "wrong CA: groups returned"

# --- SASL EXTERNAL over ldapi (root maps to the rootdn); anonymous binds
# see nothing in this directory, so a successful lookup proves the bind.
run_dirtest -c "base_dn=$SLAPD_BASE" -c sasl_external=yes \
	-c "uri=$SLAPD_LDAPI_a" lookup nurse1
[ "$(groups nurse1)" = 'all-agents|clinical-staff|nurses' ] ||
	fail "SASL EXTERNAL: groups '$(groups nurse1)'"
run_dirtest -c "base_dn=$SLAPD_BASE" -c "uri=$SLAPD_URI_a" lookup nurse1
[ "$(field nurse1 3)" = not-found ] ||
	fail "anonymous: $(field nurse1 3), want not-found (ACL)"

# --- the bind password file
pwcopy="$T/pw-copy"
cp "$SLAPD_BINDPW" "$pwcopy"
echo >>"$pwcopy" # a trailing newline, as editors leave it, is ignored
chmod 0600 "$pwcopy"
check_groups nurse1 'all-agents|clinical-staff|nurses' -c "uri=$SLAPD_URI_a" \
	-c "bind_password_file=$pwcopy"
chmod 0644 "$pwcopy"
if dt -c "uri=$SLAPD_URI_a" -c "bind_password_file=$pwcopy" lookup nurse1; then
	fail "a world-readable password file was accepted"
fi
tail -n 1 "$T/dirtest.log" | grep -q 'bind_password_file' ||
	fail "world-readable password file: reason not given"
chmod 0600 "$pwcopy"
ln -s "$pwcopy" "$T/pw-link"
if dt -c "uri=$SLAPD_URI_a" -c "bind_password_file=$T/pw-link" lookup nurse1; then
	fail "a password file reached through a symlink was accepted"
fi
printf 'wrong\n' >"$T/pw-wrong"
chmod 0600 "$T/pw-wrong"
dt -c "uri=$SLAPD_URI_a" -c "bind_password_file=$T/pw-wrong" lookup nurse1
[ "$(field nurse1 3)" = config ] ||
	fail "wrong password: $(field nurse1 3), want config"
# An empty password would make the simple bind an anonymous one.
printf '\n' >"$T/pw-empty"
chmod 0600 "$T/pw-empty"
if dt -c "uri=$SLAPD_URI_a" -c "bind_password_file=$T/pw-empty" lookup nurse1; then
	fail "an empty password file was accepted"
fi

# --- configuration refused before any connection
for bad in "uri=http://127.0.0.1/" "nesting_depth=11" "no_such_key=1" \
	"membership=groups" "network_timeout_ms=0"; do
	if dt -c "uri=$SLAPD_URI_a" -c "$bad" lookup nurse1; then
		fail "config '$bad' accepted"
	fi
done
if dt -c "uri=$SLAPD_URI_a" -c sasl_external=yes -c bind_dn= \
	-c bind_password_file= lookup nurse1; then
	fail "sasl_external over ldap:// accepted"
fi

# --- a simple bind over ldap:// without StartTLS is warned about, except
# on loopback (192.0.2.1 is TEST-NET-1: never answers, fails over to a)
: >"$T/dirtest.log"
dt -c "uri=ldap://192.0.2.1/ $SLAPD_URI_a" lookup nurse1
grep -q 'ldap://192.0.2.1/: simple bind without TLS' "$T/dirtest.log" ||
	fail "no warning for a clear-text simple bind"
grep -q "$SLAPD_URI_a: simple bind without TLS" "$T/dirtest.log" &&
	fail "a loopback server was warned about"

# --- failover: the first URI refuses connections
closed=$(free_port)
dt -c "uri=ldap://127.0.0.1:$closed/ $SLAPD_URI_b" lookup nurse1
[ "$(value nurse1 server)" = "$SLAPD_URI_b" ] ||
	fail "refused first server: answered by '$(value nurse1 server)'"
ms=$(value nurse1 ms)
log "failover past a refusing server: $ms ms"
[ "${ms:-99999}" -lt "$FAST_MS" ] || fail "refused first server cost $ms ms"

# --- failover: the first server hangs (SIGSTOP), then fail-back through
# the probe once it answers again, without dropping the working
# connection before.
freeze_slapd a
rm -f "$T/go"
dt -c "uri=$SLAPD_URI_a $SLAPD_URI_b" lookup nurse1 lookup nurse1 probe \
	status wait "$T/go" sleep 500 probe status lookup nurse1 status &
dtpid=$!
# Wait for the first probe to give up on the frozen server.
wait_for 15 grep -qs '^probe' "$OUT"
thaw_slapd a
touch "$T/go"
wait "$dtpid" || fail "dirtest failed in the fail-back run"
ms1=$(value nurse1 ms 1)
ms2=$(value nurse1 ms 2)
log "failover past a frozen server: first lookup $ms1 ms, next $ms2 ms"
[ "$(value nurse1 server 1)" = "$SLAPD_URI_b" ] ||
	fail "frozen first server: answered by '$(value nurse1 server 1)'"
[ "$(groups nurse1 1)" = 'all-agents|clinical-staff|nurses' ] ||
	fail "frozen first server: groups '$(groups nurse1 1)'"
# At least the bind's timeout was spent on the frozen server, and at most
# the bound.
[ "${ms1:-0}" -ge $((SEARCH_MS * 9 / 10)) ] && [ "$ms1" -lt "$BOUND_MS" ] ||
	fail "frozen first server: lookup took $ms1 ms (want ~$SEARCH_MS, < $BOUND_MS)"
[ "${ms2:-99999}" -lt "$FAST_MS" ] ||
	fail "second lookup retried the frozen server ($ms2 ms)"
awk -F'\t' '$1 == "probe" { n++; if (n == 1) print $2 }' "$OUT" |
	grep -qx unavailable || fail "probe of a frozen server did not fail"
# After the failed probe the working connection to b is still open.
awk -F'\t' '$1 == "server" && $3 == u { n++; if (n == 1) print $4 }' \
	u="$SLAPD_URI_b" "$OUT" | grep -qx connected=1 ||
	fail "failed probe dropped the connection to the working server"
awk -F'\t' '$1 == "probe" { n++; if (n == 2) print $2 }' "$OUT" |
	grep -qx ok || fail "probe did not fail back after the thaw"
[ "$(value nurse1 server 3)" = "$SLAPD_URI_a" ] ||
	fail "after fail-back: answered by '$(value nurse1 server 3)'"
awk -F'\t' '$1 == "server" && $3 == u { print $4 }' u="$SLAPD_URI_b" \
	"$OUT" | tail -n 1 | grep -qx connected=0 ||
	fail "old server's connection kept after fail-back"

# --- the same with a server that is down (refusing) and then restarted
stop_slapd a
rm -f "$T/go"
dt -c "uri=$SLAPD_URI_a $SLAPD_URI_b" lookup nurse1 probe wait "$T/go" \
	sleep 500 probe lookup nurse1 &
dtpid=$!
wait_for 15 grep -qs '^probe' "$OUT"
restart_slapd a
touch "$T/go"
wait "$dtpid" || fail "dirtest failed in the restart run"
[ "$(value nurse1 server 1)" = "$SLAPD_URI_b" ] ||
	fail "stopped first server: answered by '$(value nurse1 server 1)'"
awk -F'\t' '$1 == "probe" { print $2 }' "$OUT" | paste -sd' ' - |
	grep -qx 'unavailable ok' || fail "probe before/after restart: $(
		awk -F'\t' '$1 == "probe" { print $2 }' "$OUT" | paste -sd' ' -)"
[ "$(value nurse1 server 2)" = "$SLAPD_URI_a" ] ||
	fail "after restart: answered by '$(value nurse1 server 2)'"

# --- a frozen ldaps:// server: the TLS handshake is bounded too
freeze_slapd a
dt -c "uri=$SLAPD_LDAPS_a $SLAPD_LDAPS_b" -c "tls_cacert=$CA" lookup nurse1
thaw_slapd a
ms=$(value nurse1 ms)
log "failover past a frozen ldaps server: $ms ms"
[ "$(value nurse1 server)" = "$SLAPD_LDAPS_b" ] ||
	fail "frozen ldaps server: answered by '$(value nurse1 server)'"
[ "${ms:-0}" -ge $((NET_MS * 9 / 10)) ] && [ "$ms" -lt "$BOUND_MS" ] ||
	fail "frozen ldaps server: lookup took $ms ms (want ~$NET_MS, < $BOUND_MS)"

# --- the only server hangs: a timeout within the bound, then backoff
# answers at once instead of waiting again.
freeze_slapd a
dt -c "uri=$SLAPD_URI_a" lookup nurse1 lookup nurse1
thaw_slapd a
ms1=$(value nurse1 ms 1)
ms2=$(value nurse1 ms 2)
log "only server frozen: $ms1 ms (timeout), then $ms2 ms (backoff)"
[ "$(field nurse1 3 1)" = timeout ] ||
	fail "frozen only server: $(field nurse1 3 1), want timeout"
[ "${ms1:-99999}" -lt "$BOUND_MS" ] ||
	fail "frozen only server: took $ms1 ms (bound $BOUND_MS)"
[ "$(field nurse1 3 2)" = unavailable ] && [ "${ms2:-99999}" -lt "$FAST_MS" ] ||
	fail "server in backoff: $(field nurse1 3 2) after $ms2 ms"

finish
