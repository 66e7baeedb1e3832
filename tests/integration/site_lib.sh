# SPDX-License-Identifier: BSD-3-Clause
# Site mode's test harness ([tokens] store = ldap), sourced after lib.sh
# and slapd.sh by the site tests: tokens in the directory as the spec lays
# them out (written as LDIF by the rootdn, phiguardctl's job elsewhere), a
# sealed secret, terminal A's directory config and a terminal B (its own
# config, socket, state and audit trail).
# shellcheck disable=SC2154 # SLAPD_* are set by slapd.sh and start_slapd

PEOPLE="ou=people,$SLAPD_BASE"
PARAMS="cn=totp-sha1-6-30,$SLAPD_TOKEN_BASE"

# b64raw BASE32: the raw key, as oathSecret holds it, in base64.
b64raw() {
	"$PY" -c 'import base64,sys; print(base64.b64encode(base64.b32decode(sys.argv[1])).decode())' "$1"
}

# site_params SERVER: the parameters entry of SHA1, 6 digits, 30 s.
site_params() {
	ldap_modify "$1" >/dev/null <<LDIF || die "parameters on $1"
dn: $PARAMS
changetype: add
objectClass: device
objectClass: oathTOTPParams
cn: totp-sha1-6-30
oathOTPLength: 6
oathHMACAlgorithm: 1.2.840.113549.2.7
oathTOTPTimeStepPeriod: 30
oathTOTPTimeStepWindow: 1
LDIF
}

# enroll SERVER USER BASE32|SEALED [LABEL]: the token and its link; a
# sealed text (site_sealed) is stored as it is. LABEL: "phone" unless
# given, "-" for none.
enroll() {
	case "$3" in
	pgseal1:*) _en_secret="oathSecret: $3" ;;
	*) _en_secret="oathSecret:: $(b64raw "$3")" ;;
	esac
	[ "${4:-}" = - ] || _en_secret="$_en_secret
description: ${4:-phone}"
	ldap_modify "$1" >/dev/null <<LDIF || die "enroll $2 on $1"
dn: cn=$2,$SLAPD_TOKEN_BASE
changetype: add
objectClass: device
objectClass: oathTOTPToken
cn: $2
oathTOTPParams: $PARAMS
$_en_secret

dn: uid=$2,$PEOPLE
changetype: modify
add: objectClass
objectClass: oathTOTPUser
-
add: oathTOTPToken
oathTOTPToken: cn=$2,$SLAPD_TOKEN_BASE
LDIF
}

# token_attr SERVER USER ATTR: ATTR of USER's token on SERVER (rootdn).
token_attr() {
	ldap_search "$1" -b "cn=$2,$SLAPD_TOKEN_BASE" -s base "$3" |
		sed -n "s/^$3: //p"
}

# last_step SERVER USER: oathTOTPLastTimeStep of USER's token on SERVER.
last_step() {
	token_attr "$1" "$2" oathTOTPLastTimeStep
}

# site_config URIS [WRITE_URI]: the directory config of terminal A.
site_config() {
	write_ldap_config "$1" "[tokens]
store = ldap"
	for _kv in "search_timeout = 1" "network_timeout = 1" \
		${2:+"write_uri = $2"}; do
		sed -i "s|^\[ldap\]\$|[ldap]\n$_kv|" "$CONF"
	done
}

# site_sealed USER BASE32: a site key ($T/site.key, in $CONF's [tokens]
# key_file) made once, and USER's secret sealed with it by phiguardctl
# (through a file-store import), printed.
site_sealed() {
	if ! grep -q '^key_file = ' "$CONF"; then
		sed -i "s|^store = ldap\$|store = ldap\nkey_file = $T/site.key|" "$CONF"
		ctl keygen >"$OUT" 2>&1 || die "keygen: $(cat "$OUT")"
	fi
	sed 's/^store = ldap$/store = file/' "$CONF" >"$T/seal.conf"
	printf '%s\n" TOTP_AUTH\n' "$2" >"$T/ga"
	chmod 0600 "$T/ga"
	"$PHIGUARDCTL" --config "$T/seal.conf" import --from google-authenticator \
		"$T/ga" "$1" >"$OUT" 2>&1 || die "import: $(cat "$OUT")"
	_ss=$(awk -v u="$1" '$1 == u { print $5 }' "$TOKENS")
	case "$_ss" in pgseal1:*) ;; *) die "not sealed: $_ss" ;; esac
	printf '%s\n' "$_ss"
}

# Terminal B: A's config with its own socket, state and audit trail
# (terminal.sh).
. "$top_srcdir/tests/integration/terminal.sh"
start_b() { start_terminal B "$CONF"; }
stop_b() { stop_terminal B; }
pgreq_b() { pgreq_terminal B "$@"; }
