# SPDX-License-Identifier: BSD-3-Clause
# Shared harness for the integration tests: a real phiguardd in a temp dir,
# the built pam_phiguard.so driven through pam_wrapper + libpamtest
# (tests/integration/pamdrive), codes from oathtool. Sourced, not run.
#
# Never export PAM_WRAPPER* in a test: every process started with them
# copies the service dir (pwrap_release below); run_pam scopes them
# to the one command under test.

set -u

: "${top_builddir:?top_builddir must be set (make check sets it)}"
: "${top_srcdir:?top_srcdir must be set (make check sets it)}"

PHIGUARDD="$top_builddir/phiguardd"
PHIGUARDCTL="$top_builddir/phiguardctl"
PAMDRIVE="$top_builddir/tests/integration/pamdrive"
# The test build of the module (Makefile.am): it loads the build tree's
# push client.
PAM_MODULE="${PAM_MODULE:-$top_builddir/tests/integration/.libs/pam_phiguard.so}"
# pam_wrapper.pc names the library itself in Libs.
PAM_WRAPPER_LIB="$(pkg-config --libs pam_wrapper 2>/dev/null)"
[ -f "$PAM_WRAPPER_LIB" ] || PAM_WRAPPER_LIB=libpam_wrapper.so
FAKETIME_LIB=/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1
[ -f "$FAKETIME_LIB" ] || FAKETIME_LIB="$(dpkg -L libfaketime 2>/dev/null | grep '/libfaketime\.so' | head -n 1)"
FAKETIME_PRELOAD=""
# pam_wrapper's own test modules (pam_set_items.so sets PAM_AUTHTOK,
# PAM_RHOST, PAM_TTY ... from the environment variables of those names).
PAM_WRAPPER_MODULES="$(pkg-config --variable=modules pam_wrapper 2>/dev/null)"
[ -d "$PAM_WRAPPER_MODULES" ] || PAM_WRAPPER_MODULES=/usr/lib/x86_64-linux-gnu/pam_wrapper

TESTNAME="$(basename "$0" .sh)"
T="$(mktemp -d "${TMPDIR:-/tmp}/pg-$TESTNAME.XXXXXX")"
chmod 0755 "$T"
CONF="$T/phiguard.conf"
SOCK="$T/phiguardd.sock"
STATE_DIR="$T/state"
TOKENS="$T/tokens"
PAMD="$T/pam.d"
OUT="$T/out"
DAEMON_LOG="$T/daemon.log"
DAEMON_PID=""
FAILED=0
mkdir -p "$STATE_DIR" "$PAMD"
: >"$TOKENS"
chmod 0600 "$TOKENS"

# Tunables a test may set before write_config.
PG_WINDOW="${PG_WINDOW:-1}"
PG_MAX_FAILURES="${PG_MAX_FAILURES:-5}"
PG_FAILURE_WINDOW="${PG_FAILURE_WINDOW:-300}"
PG_LOCKOUT="${PG_LOCKOUT:-900}"
PG_CLIENT_TIMEOUT="${PG_CLIENT_TIMEOUT:-5}"
PG_MAX_CLIENTS="${PG_MAX_CLIENTS:-64}"
# The audit trail ([audit]); AUDIT_DIR may be a mount point a test sets.
AUDIT_DIR="${AUDIT_DIR:-$T/audit}"
AUDIT_FILE="$AUDIT_DIR/audit.log"
PG_AUDIT_SYNC="${PG_AUDIT_SYNC:-batch}"
PG_AUDIT_FAILURE="${PG_AUDIT_FAILURE:-deny}"
PG_AUDIT_CHECKS="${PG_AUDIT_CHECKS:-denied}"
PG_AUDIT_ROTATE_SIZE="${PG_AUDIT_ROTATE_SIZE:-67108864}"
mkdir -p "$AUDIT_DIR"

# Sanitizer builds: the ASan runtime must come first or be told not to care
# (pam_wrapper and faketime are preloaded in front of it).
if [ "${SANITIZERS:-no}" = yes ]; then
	export ASAN_OPTIONS="verify_asan_link_order=0:detect_leaks=1:abort_on_error=1"
	# A leak inside libldap, not ours (lsan.supp says which, and why
	# the valgrind stage checks what libldap allocates instead).
	export LSAN_OPTIONS="suppressions=$top_srcdir/tests/integration/lsan.supp:print_suppressions=0"
	export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
	# pam_wrapper dlopens libpam with RTLD_DEEPBIND, which the ASan
	# runtime refuses; this (oddly named) switch of pam_wrapper's turns
	# that off.
	export UID_WRAPPER_DISABLE_DEEPBIND=1
fi

log() { printf '%s: %s\n' "$TESTNAME" "$*" >&2; }

fail() {
	log "FAIL: $*"
	FAILED=$((FAILED + 1))
}

# Stop on the spot: the rest of the test cannot mean anything.
die() {
	log "FATAL: $*"
	exit 1
}

skip() {
	log "SKIP: $*"
	exit 77
}

# Names of functions a test adds to stop its own helper processes at exit.
CLEANUP_HOOKS=""

# mount_tmpfs NAME [SIZE]: mount a tmpfs of SIZE (default 64k, small
# enough to fill up), mode 0700, on $T/NAME; unmounted at exit. Skips the
# test where that is not possible. Sets MNT.
mount_tmpfs() {
	[ "$(id -u)" = 0 ] || skip "mounting a tmpfs needs root"
	MNT="$T/$1"
	mkdir -p "$MNT"
	mount -t tmpfs -o "size=${2:-64k},mode=0700" "pg$1" "$MNT" 2>/dev/null ||
		skip "mount -t tmpfs not permitted here (container without CAP_SYS_ADMIN?)"
	CLEANUP_HOOKS="$CLEANUP_HOOKS tmpfs_umount"
}

tmpfs_umount() {
	umount "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null
}

cleanup() {
	rc=$?
	# PG_KEEP=1 (contrib/demo.sh --keep): leave the daemon and the dir.
	[ "${PG_KEEP:-0}" = 1 ] && [ "$rc" -eq 0 ] && return 0
	# Before rm -rf $T: stop the test's slapd servers (slapd.sh).
	if type slapd_cleanup >/dev/null 2>&1; then
		slapd_cleanup
	fi
	for hook in $CLEANUP_HOOKS; do
		"$hook" >/dev/null 2>&1 || true
	done
	stop_daemon >/dev/null 2>&1 || true
	# 77 is a skip (skip()): nothing to inspect.
	if { [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; } || [ "$FAILED" -ne 0 ]; then
		log "kept $T for inspection; daemon log follows"
		sed 's/^/  daemon: /' "$DAEMON_LOG" 2>/dev/null | tail -n 40 >&2
		[ -f "$OUT" ] && sed 's/^/  last-out: /' "$OUT" >&2
	else
		rm -rf "$T"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Finish a test: exit 1 if any check failed.
finish() {
	stop_daemon
	check_valgrind
	if [ "$FAILED" -ne 0 ]; then
		log "$FAILED check(s) failed"
		exit 1
	fi
	log "ok"
	exit 0
}

need() {
	for cmd in "$@"; do
		command -v "$cmd" >/dev/null 2>&1 ||
			die "$cmd not found: run contrib/install-deps.sh"
	done
}

write_config() {
	cat >"$CONF" <<CONF
# generated by tests/integration/lib.sh for $TESTNAME
[daemon]
socket = $SOCK
state_dir = $STATE_DIR
pidfile = $T/phiguardd.pid
max_clients = $PG_MAX_CLIENTS
client_timeout = $PG_CLIENT_TIMEOUT
log_level = 2

[totp]
tokens = $TOKENS
window = $PG_WINDOW
max_failures = $PG_MAX_FAILURES
failure_window = $PG_FAILURE_WINDOW
lockout = $PG_LOCKOUT

[audit]
audit_file = $AUDIT_FILE
audit_sync = $PG_AUDIT_SYNC
audit_failure = $PG_AUDIT_FAILURE
audit_checks = $PG_AUDIT_CHECKS
audit_rotate_size = $PG_AUDIT_ROTATE_SIZE
CONF
	chmod 0644 "$CONF"
}

# write_ldap_config URI [TEXT]: write_config plus a directory at URI (a
# server of slapd.sh, bound as its service DN), this host named ws1, one
# role mapping the sample directory's nurses, and TEXT appended.
write_ldap_config() {
	write_config
	sed -i 's/^\[daemon\]$/[daemon]\nhostname = ws1/' "$CONF"
	cat >>"$CONF" <<CONF
[ldap]
uri = $1
base = $SLAPD_BASE
bind_dn = $SLAPD_SERVICE_DN
bind_password_file = $SLAPD_BINDPW
[role nurse]
group = cn=nurses, ou=groups, $SLAPD_BASE
scopes = phi.read phi.clinical
${2:-}
CONF
}

# expect_lines WHAT PATTERN...: line i of $OUT matches pattern i, a shell
# glob ("*" alone: any line; a pattern without * ? [ must match exactly).
expect_lines() {
	what=$1
	shift
	i=0
	for want in "$@"; do
		i=$((i + 1))
		got=$(sed -n "${i}p" "$OUT")
		case "$got" in
		$want) ;;
		*) fail "$what: reply $i is '$got', want '$want'" ;;
		esac
	done
}

# wait_for [-i INTERVAL] SECONDS COMMAND...: run COMMAND until it
# succeeds, every INTERVAL seconds (0.05 unless given), for SECONDS at
# most (at least once). 0 once it succeeded; else 1, and the log names the
# command. The caller says what a timeout means: wait_for ... || fail ...
wait_for() {
	_wf_every=0.05
	if [ "$1" = -i ]; then
		_wf_every=$2
		shift 2
	fi
	_wf_end=$(($(now_ms) + $1 * 1000))
	shift
	until "$@"; do
		if [ "$(now_ms)" -ge "$_wf_end" ]; then
			log "gave up waiting for: $*"
			return 1
		fi
		sleep "$_wf_every"
	done
	return 0
}

# exited PID: the process PID is gone.
exited() {
	! kill -0 "$1" 2>/dev/null
}

# wait_socket PATH PID WHAT: wait (10 s at most) for the process PID to
# create the Unix socket PATH; die if it exits or takes longer.
wait_socket() {
	wait_for 10 socket_made "$@" || die "$3 did not create $1 within 10 s"
}

socket_made() {
	[ -S "$1" ] && return 0
	kill -0 "$2" 2>/dev/null || die "$3 exited at start"
	return 1
}

# stop_pid PID: SIGTERM a helper process this test started and reap it.
stop_pid() {
	[ -n "$1" ] || return 0
	kill "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	return 0
}

# Validate the config first (sshd -t style), then start the daemon in the
# foreground in the background, and wait (bounded) for its socket.
# VALGRIND=1 runs it under memcheck; stop_daemon fails on its report.
start_daemon() {
	[ -f "$CONF" ] || write_config
	"$PHIGUARDD" --check-config --config "$CONF" >>"$DAEMON_LOG" 2>&1 ||
		die "phiguardd --check-config rejected $CONF"
	rm -f "$SOCK"
	# PG_DAEMON_TIME=EPOCH: the daemon's clock starts there (faketime),
	# for tests that log in at far-future times (it refuses claims of
	# steps more than PG_PROTO_MAX_SKEW ahead of its own clock).
	set --
	if [ -n "${PG_DAEMON_TIME:-}" ]; then
		[ -f "$FAKETIME_LIB" ] || die "libfaketime not found: run contrib/install-deps.sh"
		set -- env LD_PRELOAD="$FAKETIME_LIB" FAKETIME_DONT_FAKE_MONOTONIC=1 \
			FAKETIME="@$(date -u -d "@$PG_DAEMON_TIME" '+%Y-%m-%d %H:%M:%S')"
	fi
	if [ -n "${VALGRIND:-}" ]; then
		"$@" valgrind -q --vgdb=no --error-exitcode=99 --leak-check=full \
			--suppressions="$top_srcdir/tests/integration/valgrind.supp" \
			--log-file="$T/valgrind.%p" \
			"$PHIGUARDD" -f --config "$CONF" >>"$DAEMON_LOG" 2>&1 &
	else
		"$@" "$PHIGUARDD" -f --config "$CONF" >>"$DAEMON_LOG" 2>&1 &
	fi
	DAEMON_PID=$!
	wait_socket "$SOCK" "$DAEMON_PID" phiguardd
}

# SIGTERM and wait; a daemon that does not exit 0 within 10 s is a failure.
stop_daemon() {
	[ -n "$DAEMON_PID" ] || return 0
	pid=$DAEMON_PID
	DAEMON_PID=""
	kill -TERM "$pid" 2>/dev/null || return 0
	if ! wait_for 10 exited "$pid"; then
		kill -KILL "$pid" 2>/dev/null
		fail "phiguardd did not stop within 10 s of SIGTERM"
		return 1
	fi
	wait "$pid" 2>/dev/null
	drc=$?
	[ "$drc" -eq 0 ] || fail "phiguardd exited with status $drc"
	check_valgrind
	return 0
}

# Every non-empty memcheck report (daemon or module) is a failure; each is
# reported once.
check_valgrind() {
	for f in "$T"/valgrind.*; do
		[ -s "$f" ] || continue
		fail "valgrind report in $f"
		sed 's/^/  valgrind: /' "$f" >&2
		mv "$f" "$T/reported-${f##*/}"
	done
}

restart_daemon() {
	stop_daemon
	start_daemon
}

# add_token USER ALG DIGITS PERIOD BASE32 [LABEL]
add_token() {
	printf '%s\n' "$*" >>"$TOKENS"
	chmod 0600 "$TOKENS"
}

# pam_service NAME [MODULE ARGS...]: a service whose auth stage is
# pam_phiguard (the built .so by absolute path) and whose other stages
# permit. Always also writes "other" (pam_deny) so libpam stays quiet.
pam_service() {
	name=$1
	shift
	set -- "$@" $(valgrind_timeout_arg "$@")
	{
		echo "auth     required $PAM_MODULE config=$CONF $*"
		echo "account  required pam_permit.so"
		echo "session  required pam_permit.so"
	} >"$PAMD/$name"
	printf 'auth required pam_deny.so\naccount required pam_deny.so\n' \
		>"$PAMD/other"
}

# valgrind_timeout_arg ARGS...: under VALGRIND, "daemon_timeout=30" (the
# module's maximum) unless the module arguments already set one: a daemon
# and a module both under memcheck, two such tests at once on two CPUs,
# once took more than 10 s for a request in CI. Else nothing.
valgrind_timeout_arg() {
	[ -n "${VALGRIND:-}" ] || return 0
	case " $* " in
	*" daemon_timeout="*) ;;
	*) echo daemon_timeout=30 ;;
	esac
}

# pam_service_stages NAME [MODULE ARGS...]: like pam_service, but the
# account and session stages run pam_phiguard too, each followed by
# pam_permit, so a PAM_IGNORE from the module leaves the decision to it.
pam_service_stages() {
	name=$1
	shift
	set -- "$@" $(valgrind_timeout_arg "$@")
	pam_service "$name" "$@"
	{
		echo "auth     required $PAM_MODULE config=$CONF $*"
		for stage in account session; do
			echo "$stage  required $PAM_MODULE config=$CONF $*"
			echo "$stage  required pam_permit.so"
		done
	} >"$PAMD/$name"
}

# A scripted stand-in daemon (fakedaemon.py) on $FAKE_SOCK, run by the
# test's uid: fake_answers sets its replies ("VERB REPLY" lines, read at
# every request), $FAKE_LINES collects the requests it received.
FAKE_SOCK="$T/fake.sock"
FAKE_SCRIPT="$T/fake.script"
FAKE_LINES="$T/fake.lines"
FAKE_DAEMON_PID=""

fake_answers() {
	printf '%s\n' "$@" >"$FAKE_SCRIPT"
}

fake_start() {
	need python3
	[ -f "$FAKE_SCRIPT" ] || fake_answers
	: >"$FAKE_LINES"
	rm -f "$FAKE_SOCK"
	python3 "$top_srcdir/tests/integration/fakedaemon.py" "$FAKE_SOCK" \
		"$FAKE_SCRIPT" "$FAKE_LINES" >>"$T/fake.log" 2>&1 &
	FAKE_DAEMON_PID=$!
	CLEANUP_HOOKS="$CLEANUP_HOOKS fake_stop"
	wait_socket "$FAKE_SOCK" "$FAKE_DAEMON_PID" "fake daemon"
}

fake_stop() {
	stop_pid "$FAKE_DAEMON_PID"
	FAKE_DAEMON_PID=""
}

# at_time EPOCH: make the next run_pam calls see this fixed UTC time
# (libfaketime, preloaded after pam_wrapper); at_time "" goes back to the
# real clock. Only the PAM side is shifted; the daemon keeps real time.
at_time() {
	if [ -z "$1" ]; then
		FAKETIME_PRELOAD=""
		unset FAKETIME
	else
		[ -f "$FAKETIME_LIB" ] || die "libfaketime not found: run contrib/install-deps.sh"
		FAKETIME_PRELOAD="$FAKETIME_LIB"
		FAKETIME="@$(date -u -d "@$1" '+%Y-%m-%d %H:%M:%S')"
		export FAKETIME
	fi
}

# pam_wrapper (1.1.4) copies the service files into /tmp/pam.X in a
# library constructor, at every exec, taking the first X whose directory
# does not exist and going on if its mkdir fails: two processes of two
# tests starting at once can take the same directory, and one then runs
# the other's services, or loses them when the other's copy is removed
# (seen in CI as a login that was never prompted). Every process the suite
# starts under pam_wrapper therefore starts holding this lock: pamdrive
# lets go of it at once (PG_PWRAP_LOCK_FD), others (pwrap_locked) when
# they end.
PWRAP_LOCK=/tmp/pg-pwrap.lock
: >>"$PWRAP_LOCK" 2>/dev/null || true

# pwrap_locked CMD...: CMD, started under pam_wrapper, holding PWRAP_LOCK.
pwrap_locked() {
	flock -w 60 "$PWRAP_LOCK" "$@"
}

# run_pam SERVICE USER OPS [pamdrive options...]: run pamdrive under
# pam_wrapper with the variables scoped to this one command. stdout+stderr
# go to $OUT; returns pamdrive's exit code. pam_wrapper turns the module's
# pam_syslog() calls into "PWRAP_...] - SYSLOG(prio): line" on stderr at
# PAM_WRAPPER_DEBUGLEVEL 2, which log_lines/expect_log read back. The
# faked clock (at_time) is read as UTC and leaves CLOCK_MONOTONIC alone,
# so the module's timeouts still run on real time.
run_pam() {
	svc=$1 user=$2 ops=$3
	shift 3
	# VALGRIND=1 also runs the module (inside pamdrive) under memcheck;
	# its reports land next to the daemon's and fail the test the same way.
	if [ -n "${VALGRIND:-}" ]; then
		set -- valgrind -q --vgdb=no --error-exitcode=99 --leak-check=full \
			--suppressions="$top_srcdir/tests/integration/valgrind.supp" \
			--log-file="$T/valgrind.%p" "$PAMDRIVE" \
			-s "$svc" -u "$user" "$@" "$ops"
	else
		set -- "$PAMDRIVE" -s "$svc" -u "$user" "$@" "$ops"
	fi
	# Started holding PWRAP_LOCK (fd 9), which pamdrive lets go of once
	# pam_wrapper has made its copy of the services.
	(
		flock -w 60 9 &&
			exec env LD_PRELOAD="$PAM_WRAPPER_LIB${FAKETIME_PRELOAD:+ $FAKETIME_PRELOAD}" \
				PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$PAMD" \
				PAM_WRAPPER_DEBUGLEVEL=2 TZ=UTC FAKETIME_DONT_FAKE_MONOTONIC=1 \
				PG_PWRAP_LOCK_FD=9 "$@"
	) 9<"$PWRAP_LOCK" <&0 >"$OUT" 2>&1 &
	_rp_pid=$!
	wait "$_rp_pid"
	_rp_rc=$?
	pwrap_release "$_rp_pid"
	return "$_rp_rc"
}

# pwrap_release PID: remove the /tmp/pam.X copies pam_wrapper made for the
# finished process PID: one for each exec in it (env, valgrind, pamdrive).
pwrap_release() {
	for _pw_dir in /tmp/pam.?; do
		[ "$(cat "$_pw_dir/pid" 2>/dev/null)" = "$1" ] && rm -rf "$_pw_dir"
	done
	return 0
}

# The module's log lines from the last run_pam, without pam_wrapper's prefix.
log_lines() {
	sed -n 's/^PWRAP_[A-Z]*\[[^]]*\] - SYSLOG([0-9]*): //p' "$OUT"
}

# expect_log PATTERN DESCRIPTION: a log line of the last run matches grep -E.
expect_log() {
	log_lines | grep -Eq -- "$1" || fail "$2: no log line matching '$1'"
}

expect_no_log() {
	! log_lines | grep -Eq -- "$1" || fail "$2: unexpected log line '$1'"
}

# Milliseconds since the epoch, for bounding how long a denial took.
now_ms() {
	date +%s%3N
}

# local_accounts NAME[:GROUP,...] ...: real local accounts (uid >= 1000, no
# home, password $ACCOUNT_PW) in the groups given, for stacks that ask the
# name service (pam_unix, pam_succeed_if, sudo). The group phiguard-exempt
# is made if missing. Accounts and group are machine-wide and other
# checkouts run these tests too: the first call holds a machine-wide lock
# until the test exits, and everything made is removed at exit.
ACCOUNT_PW='Pg-test-pw-9'
ACCOUNTS=""
MADE_EXEMPT=""
local_accounts() {
	need useradd userdel groupadd groupdel chpasswd flock
	if [ -z "$ACCOUNTS" ]; then
		exec 9>/run/lock/phiguard-test-accounts.lock
		flock -w 600 9 || die "/run/lock/phiguard-test-accounts.lock held for 10 minutes"
		CLEANUP_HOOKS="$CLEANUP_HOOKS accounts_cleanup"
		if ! getent group phiguard-exempt >/dev/null; then
			groupadd --system phiguard-exempt || die "groupadd phiguard-exempt"
			MADE_EXEMPT=1
		fi
	fi
	for spec in "$@"; do
		name=${spec%%:*} groups=""
		[ "$name" = "$spec" ] || groups=${spec#*:}
		useradd -M -N -s /bin/sh ${groups:+-G "$groups"} "$name" || die "useradd $name"
		ACCOUNTS="$ACCOUNTS $name"
		printf '%s:%s\n' "$name" "$ACCOUNT_PW" | chpasswd || die "chpasswd $name"
		[ "$(id -u "$name")" -ge 1000 ] || die "$name got a uid below 1000"
	done
}

accounts_cleanup() {
	for name in $ACCOUNTS; do
		userdel "$name"
		rm -f "/run/sudo/ts/$name"
	done
	[ -z "$MADE_EXEMPT" ] || groupdel phiguard-exempt
}

# pgclient CMD ARGS...: tests/integration/pgclient.py (the raw protocol
# client, for what no phiguardctl command sends; its header lists the
# commands) on this test's socket. PY is the system's python3, which
# every user may run (pyenv shims live in root's home).
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3)
PGCLIENT="$top_srcdir/tests/integration/pgclient.py"
pgclient() {
	"$PY" "$PGCLIENT" "$SOCK" "$@"
}

# pgclient_as USER CMD ARGS...: pgclient as another user (a peer the
# daemon does not trust), in USER's primary group and no other.
pgclient_as() {
	_u=$1
	shift
	setpriv --reuid="$_u" --regid="$(id -g "$_u")" --clear-groups \
		"$PY" "$PGCLIENT" "$SOCK" "$@"
}

# pgreq LINE...: the daemon's answer to each request line, in order, on one
# connection; pgreq_as USER LINE...: the same as USER.
pgreq() {
	pgclient req "$@"
}

# pgreq_timed LINE: pgreq LINE into $OUT, its time in ms in $PGREQ_MS.
pgreq_timed() {
	_pt0=$(now_ms)
	pgreq "$1" >"$OUT"
	PGREQ_MS=$(($(now_ms) - _pt0))
}

pgreq_as() {
	_u=$1
	shift
	pgclient_as "$_u" req "$@"
}

# ctl ARGS...: phiguardctl against this test's config and daemon.
ctl() {
	"$PHIGUARDCTL" --config "$CONF" "$@"
}

# totp_code BASE32 [ALG] [DIGITS] [EPOCH]: the current (or given) code
# from oathtool, an independent implementation.
totp_code() {
	secret=$1 alg=${2:-SHA1} digits=${3:-6} when=${4:-}
	if [ -n "$when" ]; then
		oathtool --totp="$alg" -d "$digits" -b -N "@$when" "$secret"
	else
		oathtool --totp="$alg" -d "$digits" -b "$secret"
	fi
}

# A test on the real clock must not straddle a step boundary: if fewer
# than 6 s remain in the current 30 s step, wait for the next one.
wait_fresh_step() {
	left=$((30 - $(date +%s) % 30))
	[ "$left" -ge 6 ] || sleep "$left"
}

# expect_rc WANT DESCRIPTION -- COMMAND...: run and compare the exit code.
expect_rc() {
	want=$1 what=$2
	shift 3
	"$@"
	got=$?
	[ "$got" -eq "$want" ] || fail "$what: exit $got, want $want"
	return 0
}

# The line a person gets when the second factor cannot be checked at all
# (daemon, configuration, token store), as pamdrive prints it.
MSG_UNAVAIL='^error: The second-factor service is not available on this terminal\. Call the help desk\.$'

# expect_out PATTERN DESCRIPTION: $OUT must match the grep -E pattern.
expect_out() {
	grep -Eq -- "$1" "$OUT" || fail "$2: no line matching '$1' in output"
}

expect_no_out() {
	! grep -Eq -- "$1" "$OUT" || fail "$2: unexpected '$1' in output"
}

need oathtool "$PHIGUARDD" "$PAMDRIVE"
[ -f "$PAM_MODULE" ] || die "$PAM_MODULE not built"
