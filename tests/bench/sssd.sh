# SPDX-License-Identifier: BSD-3-Clause
# SSSD (Debian's sssd-ldap + libpam-sss) for the benchmark's comparison
# row, run in a mount namespace of its own: tmpfs or bind mounts over
# /etc/sssd, /var/lib/sss, /var/log/sssd and /run hide the host's, so the
# host's files and any SSSD of the host are neither read nor changed.
# Plain LDAP on loopback (no TLS): fine for a benchmark, said in the report.
# Sourced by run.sh after lib.sh and slapd.sh; not run alone.
#
#   sssd_available          0 if sssd and pam_sss.so are installed
#   start_sssd URI GROUP    sssd -i for the slapd at URI (service account,
#                           rfc2307bis, nesting 2 levels), access only for
#                           members of GROUP (access_provider = simple);
#                           sets SSSD_PID
#   in_sssd_ns CMD...       run CMD in sssd's mount namespace
#   stop_sssd

SSSD_PID=""
SSSD_DIR="$T/sssd"

sssd_available() {
	command -v sssd >/dev/null 2>&1 && command -v nsenter >/dev/null 2>&1 &&
		command -v unshare >/dev/null 2>&1 &&
		[ -e /lib/x86_64-linux-gnu/security/pam_sss.so ]
}

start_sssd() {
	mkdir -p "$SSSD_DIR/etc/conf.d" "$SSSD_DIR/log" \
		"$SSSD_DIR/lib/db" "$SSSD_DIR/lib/mc" "$SSSD_DIR/lib/pubconf" \
		"$SSSD_DIR/lib/pipes/private" "$SSSD_DIR/lib/keytabs" ||
		die "mkdir $SSSD_DIR"
	chmod 0700 "$SSSD_DIR/lib/pipes/private"
	(
		umask 077
		cat >"$SSSD_DIR/etc/sssd.conf" <<CONF
[sssd]
services = nss, pam
domains = bench

[pam]

[domain/bench]
id_provider = ldap
access_provider = simple
simple_allow_groups = $2
ldap_uri = $1
ldap_search_base = $SLAPD_BASE
ldap_default_bind_dn = $SLAPD_SERVICE_DN
ldap_default_authtok = $(cat "$SLAPD_BINDPW")
ldap_schema = rfc2307bis
ldap_group_nesting_level = 2
ldap_id_use_start_tls = false
cache_credentials = false
enumerate = false
CONF
	)
	# sssd refuses a config file others may read.
	chmod 0600 "$SSSD_DIR/etc/sssd.conf"
	# shellcheck disable=SC2016 # expanded by the namespace's shell
	unshare -m --propagation private sh -c '
		mount -t tmpfs -o mode=0755 pgbench-run /run &&
		mount --bind "$1/etc" /etc/sssd &&
		mount --bind "$1/lib" /var/lib/sss &&
		{ [ ! -d /var/log/sssd ] || mount --bind "$1/log" /var/log/sssd; } &&
		exec sssd -i --logger=files' sh "$SSSD_DIR" \
		>>"$SSSD_DIR/sssd.out" 2>&1 &
	SSSD_PID=$!
	CLEANUP_HOOKS="$CLEANUP_HOOKS stop_sssd"
	wait_for 20 sssd_ready ||
		die "sssd did not open its PAM socket within 20 s: $(tail -n 5 "$SSSD_DIR/sssd.out")"
}

sssd_ready() {
	exited "$SSSD_PID" && die "sssd exited at start: $(tail -n 5 "$SSSD_DIR/sssd.out") $(tail -n 5 "$SSSD_DIR"/log/*.log 2>/dev/null)"
	[ -S "$SSSD_DIR/lib/pipes/private/pam" ]
}

in_sssd_ns() {
	nsenter -t "$SSSD_PID" -m -- "$@"
}

stop_sssd() {
	stop_pid "$SSSD_PID"
	SSSD_PID=""
}
