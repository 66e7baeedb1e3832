#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# The state and audit directories a local user cannot turn against others
# (issue 11): whoever can remove state.log erases lockouts and used codes
# at the next restart, so phiguardd (and --check-config) refuse a state or
# audit directory owned by anyone but root or the daemon's user, writable
# by group or others, or reached through a symbolic link or a directory
# such a user controls. The daemon's own user ([daemon] user) is fine.
. "${top_srcdir:?}/tests/integration/lib.sh"

[ "$(id -u)" = 0 ] || skip "chown to another user needs root"
OTHER=nobody
id "$OTHER" >/dev/null 2>&1 || skip "no user $OTHER"

GOOD_STATE=$STATE_DIR
GOOD_AUDIT=$AUDIT_DIR

# refused WHAT KEY PATTERN: --check-config and the daemon itself refuse
# $CONF, naming KEY and matching PATTERN.
refused() {
	expect_rc 1 "$1: --check-config" -- \
		sh -c '"$1" --check-config --config "$2" >"$3" 2>&1' - "$PHIGUARDD" "$CONF" "$OUT"
	expect_out "$2: .*$3" "$1: --check-config says why"
	: >"$T/start.log"
	timeout 10 "$PHIGUARDD" -f --config "$CONF" >"$T/start.log" 2>&1
	rc=$?
	[ "$rc" -eq 1 ] || fail "$1: the daemon started anyway (exit $rc)"
	grep -Eq "$2: .*$3" "$T/start.log" || fail "$1: the daemon does not say why: $(tail -n 3 "$T/start.log")"
	[ -S "$SOCK" ] && rm -f "$SOCK"
}

# use STATE AUDIT [USER]: a config with these directories.
use() {
	STATE_DIR=$1 AUDIT_DIR=$2 AUDIT_FILE=$2/audit.log
	write_config
	[ -z "${3:-}" ] || sed -i "s/^\[daemon\]\$/[daemon]\nuser = $3/" "$CONF"
}

# The issue's case: another uid owns the state directory, mode 0700.
mkdir -p "$T/other-state"
chown "$OTHER" "$T/other-state"
chmod 0700 "$T/other-state"
use "$T/other-state" "$GOOD_AUDIT"
refused "state_dir owned by $OTHER" state_dir "owned by uid $(id -u "$OTHER")"

# Group-writable (refused before too).
mkdir -p "$T/gw-state"
chmod 0770 "$T/gw-state"
use "$T/gw-state" "$GOOD_AUDIT"
refused "group-writable state_dir" state_dir "writable by group or other"

# Reached through a symbolic link.
ln -s "$GOOD_STATE" "$T/state-link"
use "$T/state-link" "$GOOD_AUDIT"
refused "state_dir through a symlink" state_dir "symbolic link"
mkdir -p "$T/real-parent/state"
ln -s "$T/real-parent" "$T/parent-link"
use "$T/parent-link/state" "$GOOD_AUDIT"
refused "state_dir below a symlinked parent" state_dir "symbolic link"

# Below a directory another user owns: they could rename ours away.
mkdir -p "$T/other-parent/state"
chown "$OTHER" "$T/other-parent"
use "$T/other-parent/state" "$GOOD_AUDIT"
refused "state_dir below $OTHER's directory" state_dir "$T/other-parent: .*owned by uid"

# The audit directory: same rules.
mkdir -p "$T/other-audit"
chown "$OTHER" "$T/other-audit"
chmod 0700 "$T/other-audit"
use "$GOOD_STATE" "$T/other-audit"
refused "audit directory owned by $OTHER" audit_file "owned by uid $(id -u "$OTHER")"
ln -s "$GOOD_AUDIT" "$T/audit-link"
use "$GOOD_STATE" "$T/audit-link"
refused "audit directory through a symlink" audit_file "symbolic link"
mkdir -p "$T/gw-audit"
chmod 0775 "$T/gw-audit"
use "$GOOD_STATE" "$T/gw-audit"
refused "group-writable audit directory" audit_file "writable by group or other"

# Owned by the daemon's own user: accepted, and the daemon serves.
mkdir -p "$T/own-state" "$T/own-audit"
chown "$OTHER" "$T/own-state" "$T/own-audit"
chmod 0700 "$T/own-state" "$T/own-audit"
use "$T/own-state" "$T/own-audit" "$OTHER"
expect_rc 0 "directories of the daemon's user: --check-config" -- \
	sh -c '"$1" --check-config --config "$2" >"$3" 2>&1' - "$PHIGUARDD" "$CONF" "$OUT"
start_daemon
# The module believes only root or phiguard on the socket: a raw CLAIM.
pgreq "v1 CLAIM user=nurse1 step_start=$(($(date +%s) / 30 * 30))" >"$OUT"
expect_out '^v1 OK claimed=yes$' "directories of the daemon's user: CLAIM"
[ "$(stat -c %U "$T/own-state/state.log")" = "$OTHER" ] ||
	fail "state.log not written by the daemon's user"
stop_daemon

# The ordinary layout still works: root-owned, below /tmp (sticky).
use "$GOOD_STATE" "$GOOD_AUDIT"
start_daemon
finish
