# SPDX-License-Identifier: BSD-3-Clause
# More terminals of one site: another phiguardd beside lib.sh's, each with
# its own socket, state dir, pidfile, audit trail and log, made from a
# config of the test's (site mode: the same directory and [tokens] for
# all). Sourced after lib.sh; every terminal started is stopped at exit.
#
#   start_terminal NAME CONF [SED-EXPR...]
#       NAME: letters, digits, _ (e.g. B). The daemon reads $T/name.conf
#       (name in lower case): CONF with socket, state_dir, pidfile and
#       audit_file moved to $T/name.sock, $T/state-name, $T/name.pid and
#       $T/audit-name/, then each SED-EXPR applied; it logs to
#       $T/daemon-name.log. Validated first (--check-config), run under
#       memcheck with VALGRIND=1 as start_daemon does. Sets CONF_NAME,
#       SOCK_NAME and PID_NAME.
#   stop_terminal NAME      SIGTERM; a daemon that does not exit 0 within
#                           10 s, or a memcheck report, is a failure
#   pgreq_terminal NAME LINE...   pgreq on that terminal's socket

TERMINALS="" # names started and not stopped, for terminals_cleanup

_term_name_ok() {
	case "$1" in
	'' | *[!A-Za-z0-9_]*) die "terminal name '$1': use letters, digits and _" ;;
	esac
}

# _term_get VAR NAME: value of ${VAR_NAME}.
_term_get() {
	eval "printf '%s' \"\${$1_$2:-}\""
}

start_terminal() {
	_tn=$1 _tsrc=$2
	shift 2
	_term_name_ok "$_tn"
	[ -z "$(_term_get PID "$_tn")" ] || die "start_terminal: $_tn runs"
	_tl=$(printf '%s' "$_tn" | tr 'A-Z' 'a-z')
	mkdir -p "$T/state-$_tl" "$T/audit-$_tl" || die "mkdir for terminal $_tn"
	# Each extra expression gets its -e; the moves come first.
	_tk=$#
	while [ "$_tk" -gt 0 ]; do
		set -- "$@" -e "$1"
		shift
		_tk=$((_tk - 1))
	done
	sed -e "s|^socket = .*|socket = $T/$_tl.sock|" \
		-e "s|^state_dir = .*|state_dir = $T/state-$_tl|" \
		-e "s|^pidfile = .*|pidfile = $T/$_tl.pid|" \
		-e "s|^audit_file = .*|audit_file = $T/audit-$_tl/audit.log|" \
		"$@" "$_tsrc" >"$T/$_tl.conf" || die "terminal $_tn's config"
	eval "CONF_$_tn=\$T/\$_tl.conf SOCK_$_tn=\$T/\$_tl.sock"
	"$PHIGUARDD" --check-config --config "$T/$_tl.conf" \
		>>"$T/daemon-$_tl.log" 2>&1 || die "terminal $_tn's config refused"
	rm -f "$T/$_tl.sock"
	set --
	[ -z "${VALGRIND:-}" ] || set -- valgrind -q --vgdb=no \
		--error-exitcode=99 --leak-check=full --log-file="$T/valgrind.%p"
	"$@" "$PHIGUARDD" -f --config "$T/$_tl.conf" >>"$T/daemon-$_tl.log" 2>&1 &
	eval "PID_$_tn=\$!"
	TERMINALS="$TERMINALS $_tn"
	wait_socket "$T/$_tl.sock" "$(_term_get PID "$_tn")" "phiguardd $_tn"
}

stop_terminal() {
	_term_name_ok "$1"
	_tpid=$(_term_get PID "$1")
	[ -n "$_tpid" ] || return 0
	eval "PID_$1="
	TERMINALS=$(printf '%s\n' $TERMINALS | grep -vx "$1" | tr '\n' ' ')
	kill -TERM "$_tpid" 2>/dev/null
	if ! wait_for 10 exited "$_tpid"; then
		kill -KILL "$_tpid" 2>/dev/null
		fail "phiguardd $1 did not stop within 10 s of SIGTERM"
	fi
	wait "$_tpid" 2>/dev/null || fail "phiguardd $1 exited with status $?"
	check_valgrind
}

pgreq_terminal() {
	_tsock=$(_term_get SOCK "$1")
	shift
	"$PY" "$PGCLIENT" "$_tsock" req "$@"
}

terminals_cleanup() {
	for _tn in $TERMINALS; do
		stop_terminal "$_tn"
	done
}
CLEANUP_HOOKS="$CLEANUP_HOOKS terminals_cleanup"
