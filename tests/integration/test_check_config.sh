#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# phiguardd --check-config tells the truth on a real site:
# - the bind password file is checked for the user the daemon runs as (a
#   [daemon] user, whom a root-started daemon becomes before any bind;
#   without one, root or the unit's phiguard user), and the output says
#   which user was assumed; a root-started daemon with a [daemon] user
#   starts with that user's file;
# - a missing, world-readable or foreign-owned push skey_file or
#   service_password_file is refused at check time, as the module would
#   refuse it at the first push login;
# - a missing directory is "does not exist", with how it is normally made.
. "${top_srcdir:?}/tests/integration/lib.sh"

need useradd userdel setpriv

# A system user of our own, and phiguard (phiguardd.service's user) if the
# machine has none; both removed at exit if made here.
CK_USER="pgck$$"
MADE_USERS=""
mkuser() {
	useradd --system --no-create-home --shell /usr/sbin/nologin "$1" ||
		die "useradd $1 failed"
	MADE_USERS="$MADE_USERS $1"
}
rmusers() {
	for u in $MADE_USERS; do userdel "$u"; done
}
CLEANUP_HOOKS="$CLEANUP_HOOKS rmusers"
mkuser "$CK_USER"
CK_UID=$(id -u "$CK_USER")
getent passwd phiguard >/dev/null || mkuser phiguard
PG_UID=$(id -u phiguard)

check() {
	"$PHIGUARDD" --check-config --config "$CONF" >"$OUT" 2>&1
}

PW="$T/ldap.pw"
printf 'secret\n' >"$PW"
chmod 0600 "$PW"
# ldap_config [DAEMON-USER]: the lib.sh config, [daemon] user if given,
# and a directory (never contacted by --check-config) bound with $PW.
ldap_config() {
	write_config
	[ -z "${1:-}" ] || sed -i "s/^\[daemon\]\$/[daemon]\nuser = $1/" "$CONF"
	cat >>"$CONF" <<CONF
[ldap]
uri = ldap://127.0.0.1:9/
base = dc=example,dc=org
bind_dn = cn=phiguard,dc=example,dc=org
bind_password_file = $PW
[role nurse]
group = cn=nurses,dc=example,dc=org
scopes = phi.read
CONF
}

# --- the bind password file, as root --------------------------------------
ldap_config "$CK_USER"
chown "$CK_USER:" "$PW"
expect_rc 0 "root's check, [daemon] user owns the password file" -- check
expect_out "checking bind_password_file for user $CK_USER \\(uid $CK_UID\\), the \\[daemon\\] user phiguardd switches to" \
	"the assumed user is named"
chown root: "$PW"
expect_rc 1 "[daemon] user set, root owns the password file" -- check
expect_out "bind_password_file: $PW: must be owned by uid $CK_UID \\(is 0\\)" "owner named"

# No [daemon] user: root or phiguard (the unit starts the daemon as that
# user, and its own check runs as it too), nobody else.
ldap_config
expect_rc 0 "no [daemon] user, root owns the password file" -- check
expect_out "for user phiguard \\(uid $PG_UID\\) or root, no \\[daemon\\] user" "root or phiguard"
chown phiguard: "$PW"
expect_rc 0 "no [daemon] user, phiguard owns the password file" -- check
chown "$CK_USER:" "$PW"
expect_rc 1 "no [daemon] user, someone else owns the password file" -- check
expect_out "must be owned by uid $PG_UID or root \\(is $CK_UID\\)" "both owners named"

# The unit's own check: run as the file's owner, without a [daemon] user.
as_ck() {
	setpriv --reuid="$CK_USER" --regid="$CK_USER" --clear-groups "$@"
}
expect_rc 0 "the service user's own check" -- as_ck "$PHIGUARDD" --check-config --config "$CONF"
as_ck "$PHIGUARDD" --check-config --config "$CONF" >"$OUT" 2>&1
expect_out "for uid $CK_UID, the user running this" "the service user's check says whom"

# A daemon root starts with a [daemon] user reads the file as that user:
# it must start with that user's file (it used to check it for root).
# The socket and pidfile are removed as $CK_USER at exit: a directory of
# its own for them ($T itself must stay root's: state_dir's parent).
RUN_SAVED=$SOCK
install -d -o "$CK_USER" -m 0755 "$T/run"
SOCK="$T/run/phiguardd.sock"
ldap_config "$CK_USER"
sed -i "s|^pidfile = .*|pidfile = $T/run/phiguardd.pid|" "$CONF"
chown "$CK_USER:" "$STATE_DIR" "$AUDIT_DIR"
# Not under valgrind: its vgdb FIFOs, made in /tmp as root, cannot be
# removed after the switch, and it reports that.
VALGRIND_SAVED=${VALGRIND:-}
VALGRIND=""
start_daemon
pgreq "v1 STATUS" >"$OUT"
expect_out '^v1 OK version=' "the daemon serves"
grep -q "running as $CK_USER (uid $CK_UID" "$DAEMON_LOG" || fail "no privilege drop logged"
! grep -q 'must be owned' "$DAEMON_LOG" || fail "password file refused: $(grep 'must be owned' "$DAEMON_LOG")"
stop_daemon
VALGRIND=$VALGRIND_SAVED
SOCK=$RUN_SAVED
chown root: "$STATE_DIR" "$AUDIT_DIR"

# --- push secret files ------------------------------------------------------
SKEY="$T/duo.skey"
push_config() {
	write_config
	printf '[push]\nprovider = %s\n' "$1" >>"$CONF"
	if [ "$1" = duo ]; then
		printf 'host = 127.0.0.1:9\nikey = DIXYZV6YM8IFYVWBINCA\nskey_file = %s\n' "$SKEY" >>"$CONF"
	else
		printf 'url = https://127.0.0.1:9/\nservice_user = svc\nservice_password_file = %s\n' "$SKEY" >>"$CONF"
	fi
}
for provider in duo privacyidea; do
	key=skey_file
	[ "$provider" = duo ] || key=service_password_file
	push_config $provider
	rm -f "$SKEY"
	expect_rc 1 "$provider: missing $key" -- check
	expect_out "\\[push\\] $key: $SKEY: No such file or directory" "$provider: missing $key named"
	printf 'a-secret\n' >"$SKEY"
	chmod 0644 "$SKEY"
	expect_rc 1 "$provider: world-readable $key" -- check
	expect_out "\\[push\\] $key: $SKEY: mode 0644 allows group/other access" "$provider: mode named"
	chmod 0600 "$SKEY"
	chown "$CK_USER:" "$SKEY"
	expect_rc 1 "$provider: $key not root's" -- check
	expect_out "\\[push\\] $key: $SKEY: must be owned by uid 0 \\(is $CK_UID\\)" "$provider: owner named"
	chown root: "$SKEY"
	expect_rc 0 "$provider: a good $key" -- check
done
# Only root can open it: the unit's check (as its user) says it did not.
expect_rc 0 "push files as non-root" -- as_ck "$PHIGUARDD" --check-config --config "$CONF"
as_ck "$PHIGUARDD" --check-config --config "$CONF" >"$OUT" 2>&1
expect_out "\\[push\\] service_password_file not checked: .*run phiguardd --check-config as root" "non-root says what it skipped"

# --- missing directories ------------------------------------------------------
write_config
sed -i "s|^audit_file = .*|audit_file = $T/no-such-dir/audit.log|" "$CONF"
expect_rc 1 "missing audit directory" -- check
expect_out "audit_file: $T/no-such-dir: does not exist\$" "missing audit directory"
expect_out "audit_file: create it: install -d -o .* -m 0700 $T/no-such-dir\$" "how to make it"
expect_no_out "not a directory" "missing audit directory"
: >"$T/a-file"
sed -i "s|^audit_file = .*|audit_file = $T/a-file/audit.log|" "$CONF"
expect_rc 1 "audit directory is a file" -- check
expect_out "audit_file: $T/a-file: not a directory\$" "a file is not a directory"
write_config
sed -i "s|^state_dir = .*|state_dir = $T/no-state|" "$CONF"
expect_rc 1 "missing state_dir" -- check
expect_out "state_dir: $T/no-state: does not exist\$" "missing state_dir"

# Only [daemon]: the built-in directories, and how they are normally made
# (if this machine lacks them).
printf '[daemon]\nsocket = %s\n' "$SOCK" >"$T/daemon-only.conf"
"$PHIGUARDD" --dump-config --config "$T/daemon-only.conf" >"$T/dump" 2>&1
sdir=$(sed -n 's/^state_dir = //p' "$T/dump")
afile=$(sed -n 's/^audit_file = //p' "$T/dump")
for d in "state_dir:$sdir" "audit_file:${afile%/*}"; do
	key=${d%%:*} dir=${d#*:}
	[ ! -e "$dir" ] || {
		log "$dir exists here: its message is not checked"
		continue
	}
	"$PHIGUARDD" --check-config --config "$T/daemon-only.conf" >"$OUT" 2>&1
	expect_out "$key: $dir: does not exist\$" "[daemon] only: $key"
	case "$dir" in
	/var/lib/phiguard | /var/log/phiguard)
		expect_out "$key: phiguardd.service creates it .*systemd-tmpfiles --create" "[daemon] only: $key: how it is made" ;;
	*)
		expect_out "$key: $dir is this build's default, but phiguardd.service and tmpfiles.d make /var/" "[daemon] only: $key: build default" ;;
	esac
done

finish
