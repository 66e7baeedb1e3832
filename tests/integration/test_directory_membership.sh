#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# The directory as sites run it: indexed like Debian's default slapd
# database (no uniqueMember index). The daemon searches only the
# membership attributes the groups use, found from the directory's data
# (groupOfNames -> member, groupOfUniqueNames -> uniqueMember, posixGroup
# -> memberUid), so a groupOfNames site never pays an unindexed scan; and
# it warns at start when a search it will make looks unindexed.
# shellcheck disable=SC2154 # SLAPD_*_NAME are set by start_slapd (eval)
. "${top_srcdir:?}/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/slapd.sh"

LC_ALL=C
export LC_ALL
DIRTEST="$top_builddir/tests/integration/dirtest"
need "$DIRTEST" "$PY"

# dt NAME ARGS...: dirtest against slapd NAME, stdout to $OUT, log lines
# (debug: every filter) to $T/dirtest-NAME.log.
dt() {
	_n=$1
	shift
	timeout -k 5 60 "$DIRTEST" -v -c "uri=$(_slapd_get SLAPD_URI "$_n")" \
		-c "base_dn=$SLAPD_BASE" -c "bind_dn=$SLAPD_SERVICE_DN" \
		-c "bind_password_file=$SLAPD_BINDPW" \
		-c network_timeout_ms=2000 -c search_timeout_ms=5000 \
		"$@" >"$OUT" 2>>"$T/dirtest-$_n.log" ||
		fail "dirtest $_n $* exited with status $?"
}

# groups_of USER: sorted cns of USER's lookup in $OUT, joined with "|".
groups_of() {
	awk -F'\t' '$1 == "group" { print $3 }' "$OUT" | sort | paste -sd'|' -
}

# check NAME USER WANT [DIRTEST ARGS]: USER's groups on slapd NAME.
check() {
	_n=$1 _u=$2 _w=$3
	shift 3
	dt "$_n" "$@" lookup "$_u" status
	grep -q "^lookup	$_u	ok	" "$OUT" || fail "$_n: lookup $_u: $(head -n 1 "$OUT")"
	[ "$(groups_of)" = "$_w" ] || fail "$_n: $_u: groups '$(groups_of)', want '$_w'"
}

# membership_of: what the status line after a lookup says was discovered.
membership_of() {
	awk -F'\t' '$1 == "server" { for (i = 1; i <= NF; i++)
		if ($i ~ /^membership=/) print substr($i, 12) }' "$OUT"
}

# filters NAME: the search filters slapd NAME received (its stats log).
filters() {
	sed -n 's/.* SRCH base=.* filter="\([^"]*\)".*/\1/p' \
		"$(_slapd_get SLAPD_DIR "$1")/log"
}

slapd_gen_ldif names 30 10 >"$T/names.ldif"
slapd_gen_ldif unique 30 10 >"$T/unique.ldif"
slapd_gen_ldif posix 30 10 >"$T/posix.ldif"
SLAPD_DEBUG=stats start_slapd names --ldif "$T/names.ldif"
start_slapd unique --ldif "$T/unique.ldif"
start_slapd posix --ldif "$T/posix.ldif"

# --- (a) groupOfNames, no uniqueMember index: no uniqueMember term, ever.
check names agent5 'all-agents|dept|team-0'
[ "$(membership_of)" = member ] || fail "names: discovered '$(membership_of)', want member"
check names agent25 'all-agents|dept|team-2'
check names loner ''
grep -q "groups under .* use member; direct groups searched by member, nesting by member" \
	"$T/dirtest-names.log" || fail "names: discovery not logged"
for mode in auto member; do
	check names agent5 'all-agents|dept|team-0' -c membership=$mode
done
filters names >"$T/names.filters"
grep -q '(member=uid=agent5,' "$T/names.filters" ||
	fail "names: slapd's log shows no member search: $(head -n 5 "$T/names.filters")"
if grep -Eiq 'uniqueMember|memberUid' "$T/names.filters"; then
	fail "names: a search by an attribute no group uses: $(grep -Ei 'uniqueMember|memberUid' "$T/names.filters" | head -n 3)"
fi

# Decisions through the daemon on that directory, and its searches.
write_ldap_config "$SLAPD_URI_names" "[role agents]
group = all-agents
scopes = phi.read"
start_daemon
pgreq "v1 AUTHZ user=agent7" "v1 AUTHZ user=loner" "v1 AUTHZ user=agent29" >"$OUT" 2>&1
sed -n 1p "$OUT" | grep -q '^v1 OK allowed=yes scopes=phi.read role=agents ' ||
	fail "names: agent7: $(sed -n 1p "$OUT")"
sed -n 2p "$OUT" | grep -q '^v1 OK allowed=no reason=no-rule ' ||
	fail "names: loner: $(sed -n 2p "$OUT")"
sed -n 3p "$OUT" | grep -q '^v1 OK allowed=yes ' ||
	fail "names: agent29: $(sed -n 3p "$OUT")"
grep -q "groups under .* use member;" "$DAEMON_LOG" ||
	fail "daemon: discovery not logged"
stop_daemon
if filters names | grep -Eiq 'uniqueMember|memberUid'; then
	fail "names, daemon: a search by an attribute no group uses"
fi

# --- (b) groupOfUniqueNames only, and posixGroup only --------------------
check unique agent12 'all-agents|dept|team-1'
[ "$(membership_of)" = uniqueMember ] ||
	fail "unique: discovered '$(membership_of)', want uniqueMember"
check unique loner ''
check unique agent12 'all-agents|dept|team-1' -c membership=member
grep -Eq 'filter=.*[(]member=' "$T/dirtest-unique.log" &&
	fail "unique: a member search on a groupOfUniqueNames directory"
check posix agent12 'team-1'
[ "$(membership_of)" = memberUid ] ||
	fail "posix: discovered '$(membership_of)', want memberUid"
check posix loner ''
check posix agent12 'team-1' -c membership=memberuid
grep -Eq 'filter=.*(uniqueMember|[(]member)=' "$T/dirtest-posix.log" &&
	fail "posix: a member or uniqueMember search on a posixGroup directory"

write_ldap_config "$SLAPD_URI_unique" "[role agents]
group = all-agents
scopes = phi.read"
start_daemon
pgreq "v1 AUTHZ user=agent12" "v1 AUTHZ user=loner" >"$OUT" 2>&1
sed -n 1p "$OUT" | grep -q '^v1 OK allowed=yes scopes=phi.read ' ||
	fail "unique: agent12: $(sed -n 1p "$OUT")"
sed -n 2p "$OUT" | grep -q '^v1 OK allowed=no reason=no-rule ' ||
	fail "unique: loner: $(sed -n 2p "$OUT")"
stop_daemon
write_ldap_config "$SLAPD_URI_posix" "[role team1]
group = team-1
scopes = phi.lab"
start_daemon
pgreq "v1 AUTHZ user=agent12" "v1 AUTHZ user=agent2" >"$OUT" 2>&1
sed -n 1p "$OUT" | grep -q '^v1 OK allowed=yes scopes=phi.lab ' ||
	fail "posix: agent12: $(sed -n 1p "$OUT")"
sed -n 2p "$OUT" | grep -q '^v1 OK allowed=no reason=no-rule ' ||
	fail "posix: agent2: $(sed -n 2p "$OUT")"
stop_daemon

# --- nothing found: a directory with no group class at all --------------
# (group_base pointing where no group lives): no group search, a warning
# that says why, and every user denied.
check names agent5 '' -c group_base="ou=people,$SLAPD_BASE"
[ "$(membership_of)" = none ] || fail "empty: discovered '$(membership_of)', want none"
grep -q "no groupOfNames, groupOfUniqueNames or posixGroup entry under" \
	"$T/dirtest-names.log" || fail "empty: no warning"

# --- (c) the unindexed-search warning ------------------------------------
# 20,000 agents in groupOfUniqueNames teams, uniqueMember not indexed:
# each search by it scans every entry. The same with the index: quiet.
BIG=20000
slapd_gen_ldif unique "$BIG" 1000 >"$T/big.ldif"
t0=$(now_ms)
start_slapd bigu --ldif "$T/big.ldif"
SLAPD_EXTRA_INDEX="uniqueMember eq" start_slapd bigi --ldif "$T/big.ldif"
log "two slapd of $BIG agents loaded in $(($(now_ms) - t0)) ms"

dt bigu indexprobe
log "unindexed: $(cat "$OUT")"
grep -q '^indexprobe	ok	slow=1	' "$OUT" || fail "bigu: no slow search found: $(cat "$OUT")"
grep -q 'searches by uniqueMember look unindexed: .*"index uniqueMember eq"' \
	"$T/dirtest-bigu.log" || fail "bigu: no warning with the index line"
dt bigi indexprobe
log "indexed: $(cat "$OUT")"
grep -q '^indexprobe	ok	slow=0	' "$OUT" || fail "bigi: indexed, yet reported slow: $(cat "$OUT")"
grep -q 'look unindexed' "$T/dirtest-bigi.log" && fail "bigi: warned though indexed"
# The decisions are right either way.
check bigu agent19999 'all-agents|dept|team-19'
check bigi agent19999 'all-agents|dept|team-19'

# The daemon: the warning at start (off the loop: a decision is answered
# meanwhile), and again after a reload; none for the indexed directory.
write_ldap_config "$SLAPD_URI_bigu" "[role agents]
group = all-agents
scopes = phi.read"
start_daemon
pgreq "v1 AUTHZ user=agent3" >"$OUT" 2>&1
grep -q '^v1 OK allowed=yes ' "$OUT" || fail "bigu daemon: agent3: $(cat "$OUT")"
if [ -n "${VALGRIND:-}" ]; then
	# The probe compares timings taken by the daemon, and memcheck adds
	# the same few hundred microseconds to both sides of the ratio (it
	# measured 265 us against 410 us here): the thresholds are checked
	# natively (and by dirtest above); under valgrind, only that the
	# probe runs at start and after a reload.
	log "valgrind: the unindexed warning's thresholds are checked natively"
	wait_for 30 grep -q 'index probe: .*uniqueMember' "$DAEMON_LOG" ||
		fail "daemon: the probe did not run at start"
	pgreq "v1 RELOAD" >"$OUT" 2>&1
	wait_for 30 sh -c '[ "$(grep -c "index probe: .*uniqueMember" "$1")" -ge 2 ]' \
		sh "$DAEMON_LOG" || fail "daemon: the probe did not run after reload"
else
	wait_for 30 grep -q 'searches by uniqueMember look unindexed' "$DAEMON_LOG" ||
		fail "daemon: no unindexed warning at start"
	pgreq "v1 RELOAD" >"$OUT" 2>&1
	wait_for 30 sh -c '[ "$(grep -c "searches by uniqueMember look unindexed" "$1")" -ge 2 ]' \
		sh "$DAEMON_LOG" || fail "daemon: no unindexed warning after reload"
fi
stop_daemon
: >"$DAEMON_LOG"
write_ldap_config "$SLAPD_URI_bigi" "[role agents]
group = all-agents
scopes = phi.read"
start_daemon
wait_for 30 grep -q 'index probe: .*uniqueMember' "$DAEMON_LOG" ||
	fail "daemon, indexed: the probe did not report"
# Under valgrind the daemon's timings are not its own (see above): the
# absence of a warning is asserted natively only.
if [ -z "${VALGRIND:-}" ]; then
	grep -q 'look unindexed' "$DAEMON_LOG" && fail "daemon: warned though indexed"
fi
stop_daemon
finish
