# SPDX-License-Identifier: BSD-3-Clause
# The benchmark's directory, as a site runs it (tests/bench/run.sh): AGENTS
# agents (uid agentN, inetOrgPerson + posixAccount) in teams of 50, ten
# teams to a department, every department in cn=all-agents -- a member of
# all-agents through two levels of nesting. Groups are groupOfNames with
# posixGroup as an auxiliary class (RFC 2307bis, as SSSD reads them),
# cn=nurses (agent0) stands for tests/integration's role, and uid=outsider
# is in no group (the harness checks that both sides refuse it). Indexed as
# slapd.sh indexes every test server, as Debian's default database and the
# OpenLDAP admin guide's examples do: no uniqueMember index. Sourced after slapd.sh; not run alone.
#
#   start_site_slapd NAME AGENTS [BASE32]
#                                  a slapd.sh server NAME holding only
#                                  this directory and the service account;
#                                  with BASE32, site mode's token store
#                                  too (start_slapd --oath: OATH-LDAP
#                                  schema, sample ACL, ou=tokens) and
#                                  every agent enrolled there with that
#                                  secret (site_tokens_ldif)

# site_ldif AGENTS: the directory's LDIF on standard output.
site_ldif() {
	awk -v n="$1" -v base="$SLAPD_BASE" 'BEGIN {
		printf "dn: %s\nobjectClass: dcObject\nobjectClass: organization\ndc: mercy\no: Mercy Call Center\n\n", base
		split("people groups services", ou, " ")
		for (i = 1; i <= 3; i++)
			printf "dn: ou=%s,%s\nobjectClass: organizationalUnit\nou: %s\n\n", ou[i], base, ou[i]
		for (i = 0; i < n; i++)
			printf "dn: uid=agent%d,ou=people,%s\nobjectClass: inetOrgPerson\nobjectClass: posixAccount\nuid: agent%d\ncn: Agent %d\nsn: Agent\nuidNumber: %d\ngidNumber: 20000\nhomeDirectory: /home/agent%d\nloginShell: /bin/sh\n\n", i, base, i, i, 20000 + i, i
		printf "dn: uid=outsider,ou=people,%s\nobjectClass: inetOrgPerson\nobjectClass: posixAccount\nuid: outsider\ncn: Outsider\nsn: Outsider\nuidNumber: 19999\ngidNumber: 20000\nhomeDirectory: /home/outsider\n\n", base
		teams = int((n + 49) / 50)
		depts = int((teams + 9) / 10)
		for (t = 0; t < teams; t++) {
			group("team-" t, 30000 + t)
			for (i = t * 50; i < n && i < (t + 1) * 50; i++)
				printf "member: uid=agent%d,ou=people,%s\n", i, base
			printf "\n"
		}
		for (d = 0; d < depts; d++) {
			group("dept-" d, 29000 + d)
			for (t = d * 10; t < teams && t < (d + 1) * 10; t++)
				printf "member: cn=team-%d,ou=groups,%s\n", t, base
			printf "\n"
		}
		group("all-agents", 28000)
		for (d = 0; d < depts; d++)
			printf "member: cn=dept-%d,ou=groups,%s\n", d, base
		printf "\n"
		group("nurses", 28001)
		printf "member: uid=agent0,ou=people,%s\n\n", base
	}
	function group(cn, gid) {
		printf "dn: cn=%s,ou=groups,%s\nobjectClass: groupOfNames\nobjectClass: posixGroup\ncn: %s\ngidNumber: %d\n", cn, base, cn, gid
	}'
}

# site_tokens_ldif AGENTS BASE32: the OATH-LDAP side of enrolling every
# agent with the secret BASE32, on standard output: the parameters entry
# (SHA1, 6 digits, 30 s, window 1) and a token entry per agent (the raw
# key as oathSecret), as phiguardctl enroll lays them out. The agents'
# links (oathTOTPUser, oathTOTPToken) are added to site_ldif's entries by
# start_site_slapd.
site_tokens_ldif() {
	_key=$(python3 -c 'import base64, sys; print(base64.b64encode(base64.b32decode(sys.argv[1])).decode())' "$2") ||
		die "not Base32: $2"
	awk -v n="$1" -v key="$_key" -v tb="$SLAPD_TOKEN_BASE" 'BEGIN {
		params = "cn=totp-sha1-6-30," tb
		printf "\ndn: %s\nobjectClass: device\nobjectClass: oathTOTPParams\ncn: totp-sha1-6-30\noathOTPLength: 6\noathHMACAlgorithm: 1.2.840.113549.2.7\noathTOTPTimeStepPeriod: 30\noathTOTPTimeStepWindow: 1\n\n", params
		for (i = 0; i < n; i++)
			printf "dn: cn=agent%d,%s\nobjectClass: device\nobjectClass: oathTOTPToken\ncn: agent%d\noathSecret:: %s\noathTOTPParams: %s\ndescription: phone\n\n", i, tb, i, key, params
	}'
}

start_site_slapd() {
	_site_oath=""
	[ -n "${3:-}" ] && _site_oath=--oath
	# shellcheck disable=SC2086 # _site_oath: zero or one word
	start_slapd "$1" $_site_oath
	stop_slapd "$1"
	_sd=$(_slapd_get SLAPD_DIR "$1")
	# posixGroup auxiliary, so a groupOfNames can carry a gidNumber.
	sed '/NAME .posixGroup./,/MUST/ s/STRUCTURAL/AUXILIARY/' \
		"$SLAPD_SCHEMA_DIR/nis.schema" >"$_sd/nis-2307bis.schema"
	# slapd.sh indexes as sites do (Debian's default database).
	sed -i -e "s|^include .*/nis.schema\$|include $_sd/nis-2307bis.schema|" \
		-e 's/^maxsize .*/maxsize 4294967296/' "$_sd/slapd.conf"
	{ rm -rf "$_sd/db" && mkdir "$_sd/db"; } || die "cannot empty $_sd/db"
	site_ldif "$2" >"$_sd/site.ldif"
	if [ -n "$_site_oath" ]; then
		# Every agent linked to its token (after its other object
		# classes: slapadd -q wants them first); the people's
		# passwords, ou=tokens and the token admin (slapd.sh), then
		# the tokens.
		awk -v tb="$SLAPD_TOKEN_BASE" '{ print }
			/^dn: / { u = "" }
			/^dn: uid=agent[0-9]+,/ { u = $2; sub(/^uid=/, "", u); sub(/,.*/, "", u) }
			/^objectClass: posixAccount$/ && u != "" {
				print "objectClass: oathTOTPUser\noathTOTPToken: cn=" u "," tb }' \
			"$_sd/site.ldif" >"$_sd/linked.ldif"
		_slapd_oath_ldif "$_sd/linked.ldif" >"$_sd/site.ldif"
		site_tokens_ldif "$2" "$3" >>"$_sd/site.ldif"
	fi
	for _l in site.ldif service.ldif; do
		"$SLAPADD_BIN" -q -f "$_sd/slapd.conf" -l "$_sd/$_l" \
			>>"$_sd/log" 2>&1 || die "slapadd $_l failed: $(tail -n 5 "$_sd/log")"
	done
	restart_slapd "$1"
}
