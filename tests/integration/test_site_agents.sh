#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Site mode ([tokens] store = ldap) at a terminal that sees hundreds of
# agents: the daemon keeps each agent's link to their token (and the
# token's parameters) between logins, so an agent seen before costs one
# read of the token entry (slapd's stats log counts the searches), and
# every agent gets their own token.
# shellcheck disable=SC2154 # SLAPD_*_NAME are set by start_slapd (eval)
. "${top_srcdir:?}/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/slapd.sh"
. "$top_srcdir/tests/integration/site_lib.sh"

AGENTS=${AGENTS:-300}
SECRET=JBSWY3DPEHPK3PXP

SLAPD_DEBUG=stats start_slapd a --oath
site_params a
# The agents and their tokens, as one LDIF (enroll() would run an
# ldapmodify per agent).
i=1
while [ "$i" -le "$AGENTS" ]; do
	cat <<LDIF
dn: uid=agent$i,$PEOPLE
changetype: add
objectClass: inetOrgPerson
objectClass: oathTOTPUser
uid: agent$i
cn: agent$i
sn: agent$i
oathTOTPToken: cn=agent$i,$SLAPD_TOKEN_BASE

dn: cn=agent$i,$SLAPD_TOKEN_BASE
changetype: add
objectClass: device
objectClass: oathTOTPToken
cn: agent$i
oathTOTPParams: $PARAMS
oathSecret:: $(b64raw "$SECRET")
description: agent$i-phone

LDIF
	i=$((i + 1))
done >"$T/agents.ldif"
ldap_modify a <"$T/agents.ldif" || die "the agents' entries"
site_config "$SLAPD_URI_a"
start_daemon

# searches: how many searches slapd has logged so far.
searches() {
	grep -c ' SRCH base=' "$(_slapd_get SLAPD_DIR a)/log"
}

# preauth_all: a PREAUTH of every agent; each must carry that agent's own
# token (its label), else the test fails.
preauth_all() {
	i=1
	while [ "$i" -le "$AGENTS" ]; do
		echo "v1 PREAUTH user=agent$i"
		i=$((i + 1))
	done | pgclient stream >"$OUT"
	[ "$(grep -c '^v1 OK .*tokens=1 ' "$OUT")" -eq "$AGENTS" ] ||
		fail "not every agent got a token: $(grep -v 'tokens=1' "$OUT" | head -3)"
	i=1
	while [ "$i" -le "$AGENTS" ]; do
		sed -n "${i}p" "$OUT" | grep -q "token0=agent$i%20.*%20agent$i-phone\$" ||
			fail "agent$i got another token: $(sed -n "${i}p" "$OUT")"
		i=$((i + 1))
	done
}

preauth_all
s0=$(searches)
preauth_all
s1=$(searches)
log "$AGENTS agents seen before: $((s1 - s0)) searches for $AGENTS PREAUTHs"
# One read each; a few agents may have lost their place in a full set of
# the cache (3 searches each then): with 300 agents, rarely more than one.
[ $((s1 - s0)) -ge "$AGENTS" ] ||
	fail "$((s1 - s0)) searches for $AGENTS PREAUTHs: the token entry is read at each"
[ $((s1 - s0)) -le $((AGENTS + 12)) ] ||
	fail "$((s1 - s0)) searches for $AGENTS PREAUTHs of agents seen before (at most $((AGENTS + 12)) expected)"
stop_daemon
finish
