#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# sudo with the pam-auth-update profile enabled, through the real PAM
# stack: Debian's own /etc/pam.d/sudo, common-* files written by the real
# pam-auth-update from the system's unix profile and ours, real local
# accounts with real passwords (pam_unix), and the built module. sudo
# authenticates the *calling* user, so the uid < 1000 rule does not spare
# an admin; the phiguard-exempt group does. Checked twice: through pamdrive
# (the whole stack, with PAM_SILENT as sudo passes it) and through the real
# sudo binary, which uid_wrapper makes believe that a local user called it
# (a setuid program ignores LD_PRELOAD from anyone but root).
#  - an admin in phiguard-exempt: password only, no code, no daemon needed;
#  - an enrolled user with a role: password and a fresh code every time; the
#    same code again is refused with the reason;
#  - an enrolled user without a role: refused in the account stage with a
#    message that says what to do, which sudo prints;
#  - the daemon down: the person is told so.
. "${top_srcdir:?}/tests/integration/lib.sh"

need sudo pam-auth-update
[ -f /etc/pam.d/sudo ] || die "/etc/pam.d/sudo missing (Debian package sudo): run contrib/install-deps.sh"
[ -f /usr/share/pam-configs/unix ] || die "/usr/share/pam-configs/unix missing (libpam-runtime)"
UIDW_LIB="$(pkg-config --libs uid_wrapper 2>/dev/null | tr -d " ")"
[ -f "$UIDW_LIB" ] || die "uid_wrapper not found (Debian package libuid-wrapper): run contrib/install-deps.sh"

SECRET=JBSWY3DPEHPK3PXP
PW=$ACCOUNT_PW
# The installer's first user is in group sudo; so are these.
ADM="pgs$$adm" AGENT="pgs$$agt" NOROLE="pgs$$nor"
local_accounts "$ADM:sudo,phiguard-exempt" "$AGENT:sudo" "$NOROLE:sudo"
add_token "$AGENT" SHA1 6 30 "$SECRET"
add_token "$NOROLE" SHA1 6 30 "$SECRET"

# --- the stack: pam-auth-update --root, with its own debconf database so
# that the system's is never touched.
ROOT="$T/root"
mkdir -p "$ROOT/usr/share/pam-configs" "$ROOT/etc/pam.d" "$ROOT/var/lib/pam" "$T/debconf"
cp /usr/share/pam-configs/unix "$top_srcdir/contrib/pam-configs/phiguard" "$ROOT/usr/share/pam-configs/"
cat >"$T/debconf/debconf.conf" <<EOF
Config: configdb
Templates: templatedb

Name: configdb
Driver: File
Filename: $T/debconf/config.dat

Name: templatedb
Driver: File
Filename: $T/debconf/templates.dat
EOF
DEBCONF_SYSTEMRC="$T/debconf/debconf.conf" DEBIAN_FRONTEND=noninteractive \
	pam-auth-update --root "$ROOT" --force --enable phiguard >"$OUT" 2>&1 ||
	die "pam-auth-update: $(cat "$OUT")"
# The built module, with this test's config; account and session ask the
# stand-in daemon (it answers AUTHZ as each case needs).
ARGS="config=$CONF daemon_timeout=2 $(valgrind_timeout_arg daemon_timeout=2)"
for f in auth account session session-noninteractive; do
	sock=""
	[ "$f" = auth ] || sock="socket=$FAKE_SOCK"
	sed -i "s|pam_phiguard\\.so|$PAM_MODULE $ARGS $sock|" "$ROOT/etc/pam.d/common-$f"
done
grep -q "ingroup phiguard-exempt" "$ROOT/etc/pam.d/common-auth" ||
	fail "the profile has no phiguard-exempt rule in auth: $(grep -v '^#' "$ROOT/etc/pam.d/common-auth")"
sed "s|^@include[ 	]*|@include $ROOT/etc/pam.d/|" /etc/pam.d/sudo >"$PAMD/sudo"
printf 'auth required pam_deny.so\naccount required pam_deny.so\n' >"$PAMD/other"

ALLOW='AUTHZ v1 OK allowed=yes scopes=phi.read.clinical role=nurse rule=nurse source=cache age=1'
NO_ROLE_MSG='You have no PHI access role on this terminal, so phiguard refuses sudo\. Ask IT to add you to a role group, or use an administrator account in the group phiguard-exempt\.$'
write_config
start_daemon
fake_answers "$ALLOW" "SESSION v1 OK"
fake_start

# --- through pamdrive, as sudo drives PAM: PAM_SILENT on every call.
NOW=1700000015
at_time $NOW
code=$(totp_code "$SECRET" SHA1 6 $NOW)

# pam_unix's password check in a pamdrive built with ASan, under
# pam_wrapper with RTLD_DEEPBIND off (lib.sh), calls through a NULL
# pointer inside pam_unix.so (seen on Debian 12): not our code, and the
# real sudo below and every other test run the module under ASan.
if [ "${SANITIZERS:-no}" = yes ]; then
	log "sanitizer build: the pamdrive cases that check a password with pam_unix are skipped"
else
	# The admin: the password, nothing else, and the daemon not even running.
	stop_daemon
	: >"$FAKE_LINES"
	expect_rc 0 "exempt admin, daemon stopped" -- run_pam sudo "$ADM" auth,acct,open,close -S -a "$PW"
	expect_out '^prompt: Password: $' "exempt admin: password prompt"
	expect_no_out '^prompt: Verification' "exempt admin was asked for a code"
	expect_no_out '^error: ' "exempt admin got an error message"
	expect_out '^close: PAM_SUCCESS$' "exempt admin: the whole sudo"
	[ ! -s "$FAKE_LINES" ] || fail "exempt admin: the daemon was asked: $(cat "$FAKE_LINES")"
	expect_no_log 'user='"$ADM" "exempt admin: pam_phiguard ran"

	# Not exempt, with the daemon down: told so, and refused.
	expect_rc 1 "agent, daemon stopped" -- run_pam sudo "$AGENT" auth -S -a "$PW" -a "$code"
	expect_out '^auth: PAM_AUTHINFO_UNAVAIL$' "agent, daemon stopped"
	expect_out "$MSG_UNAVAIL" "agent, daemon stopped: message"
	start_daemon

	# An enrolled user with a role: the password, then a code.
	expect_rc 0 "agent with a role" -- run_pam sudo "$AGENT" auth,acct,open,close -S -a "$PW" -a "$code"
	expect_out '^prompt: Verification code: $' "agent: code prompt"
	expect_out '^close: PAM_SUCCESS$' "agent: the whole sudo"
	# A second sudo in the same step: refused, and told why.
	expect_rc 1 "agent, same code again" -- run_pam sudo "$AGENT" auth -S -a "$PW" -a "$code"
	expect_out '^auth: PAM_AUTH_ERR$' "agent, same code again"
	expect_out '^error: This code was already used\. Wait for the next code and try again\.$' "agent: replay message"
	# The next step's code is fresh.
	at_time $((NOW + 30))
	expect_rc 0 "agent, next code" -- run_pam sudo "$AGENT" auth,acct -S -a "$PW" -a "$(totp_code "$SECRET" SHA1 6 $((NOW + 30)))"
fi

# Enrolled, but no role: whether the directory does not know the account
# (a local admin) or knows it without a mapped group.
at_time $NOW
for reason in unknown-user no-rule; do
	fake_answers "AUTHZ v1 OK allowed=no reason=$reason source=fresh"
	expect_rc 1 "no role ($reason)" -- run_pam sudo "$NOROLE" acct -S
	expect_out '^acct: PAM_PERM_DENIED$' "no role ($reason)"
	expect_out "^error: $NO_ROLE_MSG" "no role ($reason): message"
done
# The same refusal at a login says what an agent can do.
fake_answers "AUTHZ v1 OK allowed=no reason=no-rule source=fresh"
printf 'account required %s config=%s socket=%s\n' "$PAM_MODULE" "$CONF" "$FAKE_SOCK" >"$PAMD/login"
expect_rc 1 "no role at login" -- run_pam login "$NOROLE" acct
expect_out '^error: Your account has no access to patient data on this terminal\.' "no role at login: message"
at_time ""

# --- the real sudo binary. uid_wrapper: the caller's uid and groups, with
# sudo's effective uid 0 (as its setuid bit would give it).
# real_sudo USER INPUT: sudo -S -k true, INPUT on stdin; $OUT gets what the
# person sees (sudo's prompts and messages go to stderr with -S).
real_sudo() {
	uid=$(id -u "$1") gid=$(id -g "$1")
	groups=$(id -G "$1" | tr ' ' ',')
	printf '%s' "$2" | pwrap_locked env LD_PRELOAD="$PAM_WRAPPER_LIB $UIDW_LIB" \
		UID_WRAPPER=1 UID_WRAPPER_INITIAL_RUID="$uid" \
		UID_WRAPPER_INITIAL_EUID=0 UID_WRAPPER_INITIAL_SUID=0 \
		UID_WRAPPER_INITIAL_RGID="$gid" UID_WRAPPER_INITIAL_EGID="$gid" \
		UID_WRAPPER_INITIAL_SGID="$gid" \
		UID_WRAPPER_INITIAL_GROUPS_COUNT="$(id -G "$1" | wc -w)" \
		UID_WRAPPER_INITIAL_GROUPS="$groups" \
		PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$PAMD" PAM_WRAPPER_DEBUGLEVEL=2 \
		sudo -S -k true >"$OUT" 2>&1
}

fake_answers "$ALLOW" "SESSION v1 OK"
expect_rc 0 "sudo: exempt admin" -- real_sudo "$ADM" "$PW
"
expect_no_out 'Verification code' "sudo: exempt admin was asked for a code"

wait_fresh_step
code=$(totp_code "$SECRET")
expect_rc 0 "sudo: agent with a role" -- real_sudo "$AGENT" "$PW
$code
"
expect_out 'Verification code: ' "sudo: agent's code prompt"
expect_rc 1 "sudo: agent, same code again" -- real_sudo "$AGENT" "$PW
$code
"
# With -S sudo ends no prompt line (no tty echoes the Enter), so what
# follows a prompt starts on its line.
expect_out '(^|: )This code was already used\. Wait for the next code and try again\.$' "sudo: replay message"

fake_answers "AUTHZ v1 OK allowed=no reason=unknown-user source=fresh"
expect_rc 1 "sudo: no role" -- real_sudo "$NOROLE" "$PW
$code
"
expect_out "(^|: )$NO_ROLE_MSG" "sudo: no-role message"
expect_out 'PAM account management error: Permission denied' "sudo: its own account error line"

stop_daemon
expect_rc 1 "sudo: daemon stopped" -- real_sudo "$AGENT" "$PW
"
expect_out '(^|: )The second-factor service is not available on this terminal\. Call the help desk\.$' "sudo: daemon stopped message"
expect_rc 0 "sudo: exempt admin, daemon stopped" -- real_sudo "$ADM" "$PW
"

finish
