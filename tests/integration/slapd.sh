# SPDX-License-Identifier: BSD-3-Clause
# Throwaway OpenLDAP servers for the integration tests: each runs from a
# slapd.conf in $T/slapd-NAME on free loopback ports, loaded with the sample
# call-center directory (contrib/ldap). Sourced after lib.sh (uses $T, log,
# die, top_srcdir); never touches the system slapd or /etc/ldap/slapd.d.
#
#   make_test_ca                  CA, server cert (localhost, 127.0.0.1) and
#                                 an unrelated CA, in $T/tls
#   start_slapd [NAME] [--tls] [--memberof-only] [--ldif FILE]
#               [--oath] [--otp-overlay]
#                                 --ldif loads FILE instead of the sample
#                                 (it must hold $SLAPD_BASE and
#                                 ou=services under it)
#                                 --oath: site mode's token store: the
#                                 OATH-LDAP schema (moduleload otp), the
#                                 sample ACL contrib/ldap/oath-acl.conf,
#                                 ou=tokens, the admin account
#                                 $SLAPD_TOKEN_ADMIN_DN (password in
#                                 $SLAPD_ADMINPW) and every uid= entry
#                                 given the password in $SLAPD_USERPW
#                                 --otp-overlay: --oath, and slapd's own
#                                 otp overlay on the database (bind with
#                                 password + code)
#   mirror_slapd A B              make two running servers (started with
#                                 the same options and data) replicate to
#                                 each other: mirror mode, syncrepl
#                                 refreshAndPersist both ways (restarts
#                                 both on their ports; waits until a change
#                                 made on A is seen on B)
#   stop_slapd NAME               SIGTERM, bounded wait
#   restart_slapd NAME            start again on the same ports and data
#   freeze_slapd NAME / thaw_slapd NAME   SIGSTOP / SIGCONT
#   ldap_modify NAME < LDIF       ldapmodify as the rootdn (SASL EXTERNAL
#                                 over ldapi, mapped by authz-regexp)
#   ldap_search NAME ARGS...      ldapsearch -LLL as the rootdn, same way
#   slapd_gen_ldif KIND USERS TEAM  a generated directory on stdout, for
#                                 start_slapd --ldif (see the function)
#   free_port                     a loopback TCP port nothing listens on
#   slapd_cleanup                 stop every slapd started here (call it
#                                 from lib.sh's cleanup, before rm -rf $T)
#
# After start_slapd NAME (default NAME: a; letters, digits, _):
#   SLAPD_URI_NAME     ldap://127.0.0.1:PORT/ (StartTLS offered with --tls)
#   SLAPD_LDAPS_NAME   ldaps://127.0.0.1:PORT2/ (--tls only, else empty)
#   SLAPD_LDAPI_NAME   ldapi://<url-encoded socket in $T/slapd-NAME>/
#   SLAPD_PID_NAME     slapd's own pid (it runs in the foreground)
#   SLAPD_DIR_NAME     its directory (slapd.conf, db/, log)
# Constants: SLAPD_BASE, SLAPD_ROOTDN, SLAPD_SERVICE_DN, SLAPD_TLS_DIR,
#   SLAPD_TOKEN_ADMIN_DN, SLAPD_TOKEN_BASE, and
#   SLAPD_BINDPW       file holding the service account's password (0600),
#                      the same on every server of a test, as on replicas
#   SLAPD_ADMINPW      the same for the token admin (--oath)
#   SLAPD_USERPW       the password of every person entry (--oath)
# The service account may read the whole tree; anonymous users may read
# only the root DSE and the schema. SLAPD_DEBUG=LEVEL (e.g. stats) makes
# slapd log to $T/slapd-NAME/log. Indexes are Debian's defaults
# (objectClass, cn, uid, uidNumber, gidNumber, member, memberUid);
# SLAPD_EXTRA_INDEX="ATTRS eq" adds one line when start_slapd runs.

SLAPD_BIN="${SLAPD_BIN:-/usr/sbin/slapd}"
SLAPADD_BIN="${SLAPADD_BIN:-/usr/sbin/slapadd}"
SLAPD_SCHEMA_DIR="${SLAPD_SCHEMA_DIR:-/etc/ldap/schema}"
SLAPD_MODULE_DIR="${SLAPD_MODULE_DIR:-/usr/lib/ldap}"
SLAPD_LDIF_DIR="$top_srcdir/contrib/ldap"
SLAPD_BASE="dc=mercy,dc=example"
SLAPD_ROOTDN="cn=admin,$SLAPD_BASE"
SLAPD_SERVICE_DN="cn=phiguard,ou=services,$SLAPD_BASE"
SLAPD_TOKEN_ADMIN_DN="cn=phiguard-admin,ou=services,$SLAPD_BASE"
SLAPD_TOKEN_BASE="ou=tokens,$SLAPD_BASE"
SLAPD_ADMINPW="$T/ldap-adminpw"
SLAPD_USERPW="$T/ldap-userpw"
SLAPD_TLS_DIR="$T/tls"
SLAPD_BINDPW="$T/ldap-bindpw"
SLAPD_STARTED="" # names, for slapd_cleanup

for _c in "$SLAPD_BIN" "$SLAPADD_BIN" slappasswd ldapsearch ldapmodify \
	openssl python3; do
	command -v "$_c" >/dev/null 2>&1 ||
		die "$_c not found: run contrib/install-deps.sh (slapd, ldap-utils, openssl, python3)"
done

# _slapd_get VAR NAME: value of ${VAR_NAME}.
_slapd_get() {
	eval "printf '%s' \"\${$1_$2:-}\""
}

_slapd_set() {
	eval "$1_$2=\$3"
}

_slapd_name_ok() {
	case "$1" in
	'' | *[!A-Za-z0-9_]*) die "slapd name '$1': use letters, digits and _" ;;
	esac
}

# slapd_gen_ldif KIND USERS TEAM: a directory of USERS agents (agent0...) in
# teams of TEAM, every team in "dept", dept in "all-agents" (nested two
# levels), plus "loner" in no group. KIND: names (groupOfNames/member),
# unique (groupOfUniqueNames/uniqueMember), posix (posixGroup/memberUid:
# teams only, RFC 2307 does not nest).
slapd_gen_ldif() {
	awk -v kind="$1" -v n="$2" -v team="$3" -v base="$SLAPD_BASE" '
	function group(cn, class, attr) {
		printf "dn: cn=%s,ou=groups,%s\nobjectClass: %s\ncn: %s\n", cn, base, class, cn
	}
	BEGIN {
		printf "dn: %s\nobjectClass: dcObject\nobjectClass: organization\ndc: mercy\no: Mercy\n\n", base
		for (i = 0; i < 3; i++) {
			split("people groups services", ou, " ")
			printf "dn: ou=%s,%s\nobjectClass: organizationalUnit\nou: %s\n\n", ou[i + 1], base, ou[i + 1]
		}
		for (i = 0; i < n; i++)
			printf "dn: uid=agent%d,ou=people,%s\nobjectClass: inetOrgPerson\nuid: agent%d\ncn: Agent %d\nsn: %d\n\n", i, base, i, i, i
		printf "dn: uid=loner,ou=people,%s\nobjectClass: inetOrgPerson\nuid: loner\ncn: Loner\nsn: Loner\n\n", base
		class = kind == "names" ? "groupOfNames" : kind == "unique" ? "groupOfUniqueNames" : "posixGroup"
		attr = kind == "names" ? "member" : kind == "unique" ? "uniqueMember" : "memberUid"
		nteams = int((n + team - 1) / team)
		for (t = 0; t < nteams; t++) {
			group("team-" t, class)
			if (kind == "posix")
				printf "gidNumber: %d\n", 5000 + t
			for (i = t * team; i < n && i < (t + 1) * team; i++)
				if (kind == "posix")
					printf "memberUid: agent%d\n", i
				else
					printf "%s: uid=agent%d,ou=people,%s\n", attr, i, base
			printf "\n"
		}
		if (kind == "posix")
			exit
		group("dept", class)
		for (t = 0; t < nteams; t++)
			printf "%s: cn=team-%d,ou=groups,%s\n", attr, t, base
		printf "\n"
		group("all-agents", class)
		printf "%s: cn=dept,ou=groups,%s\n\n", attr, base
	}'
}

# Ask the kernel for a free port (bind to port 0), then release it. Another
# process may take it before slapd binds; start_slapd retries on that.
free_port() {
	python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# Percent-encode a socket path for an ldapi:// URL.
_slapd_urlenc() {
	python3 -c 'import sys, urllib.parse
print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"
}

# Test PKI, made once per test: an EC P-256 CA, a server certificate for
# localhost and 127.0.0.1 (as subjectAltName: libldap checks the SAN), and
# a second CA that signed nothing here, for wrong-CA tests.
make_test_ca() {
	[ -f "$SLAPD_TLS_DIR/server.pem" ] && return 0
	mkdir -p "$SLAPD_TLS_DIR" || die "mkdir $SLAPD_TLS_DIR"
	(
		cd "$SLAPD_TLS_DIR" || exit 1
		for ca in ca other-ca; do
			openssl req -x509 -new -newkey ec \
				-pkeyopt ec_paramgen_curve:P-256 -nodes \
				-keyout "$ca.key" -out "$ca.pem" -days 2 \
				-subj "/O=phiguard tests/CN=$ca" \
				-addext "basicConstraints=critical,CA:TRUE" \
				-addext "keyUsage=critical,keyCertSign,cRLSign" ||
				exit 1
		done
		openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
			-nodes -keyout server.key -out server.csr \
			-subj "/O=phiguard tests/CN=localhost" || exit 1
		printf '%s\n' "basicConstraints=CA:FALSE" \
			"keyUsage=critical,digitalSignature" \
			"extendedKeyUsage=serverAuth" \
			"subjectAltName=DNS:localhost,IP:127.0.0.1" >server.ext
		openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key \
			-CAcreateserial -days 2 -extfile server.ext \
			-out server.pem || exit 1
		chmod 0600 ./*.key
	) >"$T/tls.log" 2>&1 || die "make_test_ca failed: $(cat "$T/tls.log")"
}

# _slapd_write_conf NAME DIR TLS MEMBEROF OATH(no|yes|overlay)
_slapd_write_conf() {
	_wc_d=$2
	{
		echo "# generated by tests/integration/slapd.sh for $TESTNAME"
		# nis.schema as shipped: posixGroup is STRUCTURAL (RFC 2307),
		# as the sample's plain posixGroup needs.
		for _s in core cosine inetorgperson nis; do
			echo "include $SLAPD_SCHEMA_DIR/$_s.schema"
		done
		echo "modulepath $SLAPD_MODULE_DIR"
		echo "moduleload back_mdb"
		# The memberof module defines the memberOf attribute; no
		# overlay is configured, so the precomputed values in
		# memberof.ldif are all there is.
		[ "$4" = yes ] && echo "moduleload memberof"
		# The otp module registers the OATH-LDAP schema; its overlay
		# acts only on a database where it is configured.
		[ "$5" != no ] && echo "moduleload otp"
		# No syslog: with no /dev/log, glibc would write every line
		# to the console. SLAPD_DEBUG=stats (say) logs to the log file.
		echo "loglevel 0"
		echo "pidfile $_wc_d/slapd.pid"
		echo "argsfile $_wc_d/slapd.args"
		# printf, not echo: dash's echo would eat the backslash.
		printf 'authz-regexp "%s" "%s"\n' \
			"gidNumber=[0-9]+\\\\+uidNumber=$(id -u),cn=peercred,cn=external,cn=auth" \
			"$SLAPD_ROOTDN"
		if [ "$3" = yes ]; then
			echo "TLSCACertificateFile $SLAPD_TLS_DIR/ca.pem"
			echo "TLSCertificateFile $SLAPD_TLS_DIR/server.pem"
			echo "TLSCertificateKeyFile $SLAPD_TLS_DIR/server.key"
			echo "TLSVerifyClient never"
		fi
		echo 'access to dn.base="" by * read'
		echo 'access to dn.base="cn=Subschema" by * read'
		echo ""
		echo "database mdb"
		echo "suffix \"$SLAPD_BASE\""
		echo "rootdn \"$SLAPD_ROOTDN\""
		echo "directory $_wc_d/db"
		# A map size, not an allocation: room for the tests' larger
		# generated directories.
		echo "maxsize 268435456"
		# Indexed as sites do: Debian's default database
		# (/usr/share/slapd/slapd.init.ldif), like the OpenLDAP Admin
		# Guide's examples; no uniqueMember index, so a search by it
		# scans (tests that need one add it: SLAPD_EXTRA_INDEX).
		echo "index objectClass eq"
		echo "index cn,uid eq"
		echo "index uidNumber,gidNumber eq"
		echo "index member,memberUid eq"
		[ -n "${SLAPD_EXTRA_INDEX:-}" ] &&
			echo "index $SLAPD_EXTRA_INDEX"
		[ "$5" != no ] && echo "include $SLAPD_LDIF_DIR/oath-acl.conf"
		echo "access to attrs=userPassword by anonymous auth by * none"
		if [ "$5" = no ]; then
			echo "access to * by dn.exact=\"$SLAPD_SERVICE_DN\" read by * none"
		else
			# A bind needs auth access to the entry; the token
			# admin finds users as the daemon does.
			echo "access to * by dn.exact=\"$SLAPD_SERVICE_DN\" read" \
				"by dn.exact=\"$SLAPD_TOKEN_ADMIN_DN\" read" \
				"by anonymous auth by * none"
		fi
		[ "$5" = overlay ] && echo "overlay otp"
	} >"$_wc_d/slapd.conf"
}

# _slapd_launch NAME: run slapd on the ports recorded for NAME and wait,
# bounded, until it answers on ldapi. Returns 1 if slapd exited (a port
# taken meanwhile, usually), dies if it neither answers nor exits.
_slapd_launch() {
	_n=$1
	_d=$(_slapd_get SLAPD_DIR "$_n")
	_urls="$(_slapd_get SLAPD_URI "$_n") $(_slapd_get SLAPD_LDAPS "$_n") $(_slapd_get SLAPD_LDAPI "$_n")"
	"$SLAPD_BIN" -d "${SLAPD_DEBUG:-0}" -n "slapd-$_n" -f "$_d/slapd.conf" \
		-h "$_urls" >>"$_d/log" 2>&1 &
	_pid=$!
	_slapd_set SLAPD_PID "$_n" "$_pid"
	if ! wait_for 10 _slapd_answers_or_exited "$_n" "$_pid"; then
		kill -KILL "$_pid" 2>/dev/null
		die "slapd $_n did not answer within 10 s: $(tail -n 5 "$_d/log")"
	fi
	if exited "$_pid"; then
		wait "$_pid" 2>/dev/null
		_slapd_set SLAPD_PID "$_n" ""
		return 1
	fi
	return 0
}

# _slapd_answers_or_exited NAME PID: slapd NAME answers on ldapi, or its
# process PID is gone.
_slapd_answers_or_exited() {
	exited "$2" || ldapsearch -x -H "$(_slapd_get SLAPD_LDAPI "$1")" -b "" \
		-s base -LLL 1.1 >/dev/null 2>&1
}

# _slapd_secret_file FILE: a random password in a 0600 file, once per test
# (the same on every server, as on replicas).
_slapd_secret_file() {
	[ -s "$1" ] || (umask 077 &&
		od -An -N18 -tx1 /dev/urandom | tr -d ' \n' >"$1")
}

# _slapd_oath_ldif LDIF: LDIF with every uid= entry given $SLAPD_USERPW's
# password, then ou=tokens and the token admin account, on stdout.
_slapd_oath_ldif() {
	_slapd_secret_file "$SLAPD_USERPW"
	_slapd_secret_file "$SLAPD_ADMINPW"
	_uh=$(slappasswd -h '{SSHA}' -T "$SLAPD_USERPW") || die "slappasswd failed"
	_ah=$(slappasswd -h '{SSHA}' -T "$SLAPD_ADMINPW") || die "slappasswd failed"
	awk -v h="$_uh" '{ print } /^dn: uid=/ { print "userPassword: " h }' "$1"
	cat <<LDIF

dn: $SLAPD_TOKEN_BASE
objectClass: organizationalUnit
ou: tokens
description: OATH-LDAP token and parameter entries (phiguard site mode)

dn: $SLAPD_TOKEN_ADMIN_DN
objectClass: applicationProcess
objectClass: simpleSecurityObject
cn: phiguard-admin
description: phiguardctl's account: writes tokens
userPassword: $_ah
LDIF
}

start_slapd() {
	_name=a _tls=no _mo=no _own_ldif= _oath=no
	while [ $# -gt 0 ]; do
		_arg=$1
		shift
		case "$_arg" in
		--tls) _tls=yes ;;
		--memberof-only) _mo=yes ;;
		--oath) [ "$_oath" = no ] && _oath=yes ;;
		--otp-overlay) _oath=overlay ;;
		--ldif)
			_own_ldif=$1
			shift
			;;
		-*) die "start_slapd: unknown option $_arg" ;;
		*) _name=$_arg ;;
		esac
	done
	_slapd_name_ok "$_name"
	[ -z "$(_slapd_get SLAPD_PID "$_name")" ] ||
		die "start_slapd: $_name is already running"
	_dir="$T/slapd-$_name"
	rm -rf "$_dir"
	mkdir -p "$_dir/db" || die "mkdir $_dir"
	[ "$_tls" = yes ] && make_test_ca
	_slapd_write_conf "$_name" "$_dir" "$_tls" "$_mo" "$_oath"

	# The service account gets a random password, stored in a 0600 file
	# as phiguardd's bind_password_file would be.
	_slapd_secret_file "$SLAPD_BINDPW"
	_hash=$(slappasswd -h '{SSHA}' -T "$SLAPD_BINDPW") ||
		die "slappasswd failed"
	cat >"$_dir/service.ldif" <<LDIF
dn: $SLAPD_SERVICE_DN
objectClass: applicationProcess
objectClass: simpleSecurityObject
cn: phiguard
description: phiguardd's service account: reads users and groups
userPassword: $_hash
LDIF
	_ldif="$SLAPD_LDIF_DIR/callcenter.ldif"
	[ "$_mo" = yes ] && _ldif="$SLAPD_LDIF_DIR/memberof.ldif"
	[ -n "$_own_ldif" ] && _ldif=$_own_ldif
	if [ "$_oath" != no ]; then
		_slapd_oath_ldif "$_ldif" >"$_dir/oath.ldif"
		_ldif="$_dir/oath.ldif"
	fi
	"$SLAPADD_BIN" -q -f "$_dir/slapd.conf" -l "$_ldif" >>"$_dir/log" 2>&1 ||
		die "slapadd $_ldif failed: $(tail -n 5 "$_dir/log")"
	"$SLAPADD_BIN" -f "$_dir/slapd.conf" -l "$_dir/service.ldif" \
		>>"$_dir/log" 2>&1 || die "slapadd service account failed"

	_slapd_set SLAPD_DIR "$_name" "$_dir"
	_slapd_set SLAPD_LDAPI "$_name" "ldapi://$(_slapd_urlenc "$_dir/ldapi")/"
	_try=0
	while :; do
		_try=$((_try + 1))
		_slapd_set SLAPD_URI "$_name" "ldap://127.0.0.1:$(free_port)/"
		if [ "$_tls" = yes ]; then
			_slapd_set SLAPD_LDAPS "$_name" "ldaps://127.0.0.1:$(free_port)/"
		else
			_slapd_set SLAPD_LDAPS "$_name" ""
		fi
		_slapd_launch "$_name" && break
		[ "$_try" -lt 5 ] ||
			die "slapd $_name failed to start: $(tail -n 5 "$_dir/log")"
		log "slapd $_name exited at start (port taken?); retrying"
	done
	SLAPD_STARTED="$SLAPD_STARTED $_name"
}

# _slapd_add_sync NAME SID OTHER: NAME's config gains server ID SID and a
# syncrepl consumer of OTHER (over OTHER's ldapi, as its rootdn by SASL
# EXTERNAL: no password), in mirror mode.
_slapd_add_sync() {
	_sd=$(_slapd_get SLAPD_DIR "$1")
	sed -i "s/^database mdb\$/serverID $2\nmoduleload syncprov\n\ndatabase mdb/" \
		"$_sd/slapd.conf" || die "sed $_sd/slapd.conf"
	cat >>"$_sd/slapd.conf" <<CONF
overlay syncprov
syncprov-checkpoint 100 1
syncrepl rid=00$2 provider=$(_slapd_get SLAPD_LDAPI "$3")
	bindmethod=sasl saslmech=EXTERNAL
	searchbase="$SLAPD_BASE" type=refreshAndPersist retry="1 +"
	timeout=3 network-timeout=3
mirrormode on
CONF
}

mirror_slapd() {
	stop_slapd "$1"
	stop_slapd "$2"
	_slapd_add_sync "$1" 1 "$2"
	_slapd_add_sync "$2" 2 "$1"
	restart_slapd "$1"
	restart_slapd "$2"
	_probe="mirror-probe-$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')"
	printf 'dn: ou=services,%s\nchangetype: modify\nreplace: description\ndescription: %s\n' \
		"$SLAPD_BASE" "$_probe" | ldap_modify "$1" ||
		die "mirror_slapd: probe write on $1 failed"
	wait_for 20 _slapd_sees "$2" "$_probe" ||
		die "mirror_slapd: $2 did not replicate $1's change within 20 s"
}

# _slapd_sees NAME VALUE: ou=services on NAME has that description.
_slapd_sees() {
	ldap_search "$1" -s base -b "ou=services,$SLAPD_BASE" description |
		grep -q "^description: $2\$"
}

# Start a stopped server again with its data and ports (fail-back tests).
restart_slapd() {
	_slapd_name_ok "$1"
	[ -n "$(_slapd_get SLAPD_DIR "$1")" ] || die "restart_slapd: unknown $1"
	[ -z "$(_slapd_get SLAPD_PID "$1")" ] || die "restart_slapd: $1 runs"
	_slapd_launch "$1" || die "slapd $1 did not restart on its ports"
}

stop_slapd() {
	_slapd_name_ok "$1"
	_pid=$(_slapd_get SLAPD_PID "$1")
	[ -n "$_pid" ] || return 0
	_slapd_set SLAPD_PID "$1" ""
	# A stopped process holds SIGTERM until continued.
	kill -CONT "$_pid" 2>/dev/null
	kill -TERM "$_pid" 2>/dev/null || return 0
	if ! wait_for 10 exited "$_pid"; then
		kill -KILL "$_pid" 2>/dev/null
		log "slapd $1 ignored SIGTERM for 10 s; killed"
	fi
	wait "$_pid" 2>/dev/null
	return 0
}

freeze_slapd() {
	_pid=$(_slapd_get SLAPD_PID "$1")
	[ -n "$_pid" ] || die "freeze_slapd: $1 is not running"
	kill -STOP "$_pid" || die "kill -STOP $_pid"
}

thaw_slapd() {
	_pid=$(_slapd_get SLAPD_PID "$1")
	[ -n "$_pid" ] || die "thaw_slapd: $1 is not running"
	kill -CONT "$_pid" || die "kill -CONT $_pid"
}

ldap_modify() {
	ldapmodify -Q -Y EXTERNAL -H "$(_slapd_get SLAPD_LDAPI "$1")" \
		>>"$(_slapd_get SLAPD_DIR "$1")/modify.log" 2>&1
}

ldap_search() {
	_n=$1
	shift
	ldapsearch -Q -LLL -Y EXTERNAL -H "$(_slapd_get SLAPD_LDAPI "$_n")" \
		-b "$SLAPD_BASE" "$@"
}

slapd_cleanup() {
	for _n in $SLAPD_STARTED; do
		stop_slapd "$_n"
	done
	SLAPD_STARTED=""
}
