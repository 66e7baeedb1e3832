#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# A typo saved in phiguard.conf while agents log in (issue #10, points 4
# and 5): phiguardd refuses the reload and keeps its policy, phiguardctl
# still reaches it and prints the daemon's file:line, and the real module
# (through pam_wrapper, against the real daemon and slapd) still logs an
# agent in, second factor and scopes. A typo in a key the module reads
# itself is logged and its default used. An inline comment is an error,
# not a silent cut of the value.
# shellcheck disable=SC2154 # SLAPD_*_NAME are set by start_slapd (eval)
. "${top_srcdir:?}/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/slapd.sh"

SECRET=JBSWY3DPEHPK3PXP
GOOD="$T/good.conf"
CTL_OUT="$T/ctl.out"

start_slapd a
write_ldap_config "$SLAPD_URI_a"
cp "$CONF" "$GOOD"
start_daemon
add_token nurse1 SHA1 6 30 "$SECRET" phone
pam_service_stages login

# Each login a step later on the module's (faked) clock: a code works once.
NOW=1700000015
# login WHAT: auth with nurse1's code, then the account stage; both must
# pass with the scopes and role of the policy in force before any typo.
login() {
	at_time "$NOW"
	code=$(totp_code "$SECRET" SHA1 6 "$NOW")
	NOW=$((NOW + 30))
	expect_rc 0 "$1: login" -- run_pam login nurse1 auth,acct -a "$code" -e
	expect_out '^auth: PAM_SUCCESS$' "$1: second factor"
	expect_out '^acct: PAM_SUCCESS$' "$1: account stage"
	expect_out '^env: PHIGUARD_SCOPES=phi\.read phi\.clinical$' "$1: scopes"
	expect_out '^env: PHIGUARD_ROLE=nurse$' "$1: role"
	at_time ""
}

# ctl_rc WANT WHAT ARGS...: phiguardctl's exit code, its output in $CTL_OUT.
ctl_rc() {
	c_want=$1 c_what=$2
	shift 2
	ctl "$@" >"$CTL_OUT" 2>&1
	c_got=$?
	[ "$c_got" -eq "$c_want" ] ||
		fail "$c_what: phiguardctl $* exited $c_got, want $c_want: $(cat "$CTL_OUT")"
}

# line_of ERE: the number of the first line of $CONF matching it.
line_of() {
	grep -nE -- "$1" "$CONF" | head -n 1 | cut -d: -f1
}

# broken WHAT ERROR: with the file as the test left it, reload is refused
# with the daemon's "$CONF:LINE: ERROR", the daemon keeps its policy, the
# admin commands work and an agent still logs in.
broken() {
	b_what=$1 b_error=$2
	refused_before=$(grep -c 'bad config refused, old kept' "$DAEMON_LOG")
	ctl_rc 1 "$b_what: reload" reload
	grep -Fq -- "phiguardd refused: " "$CTL_OUT" ||
		fail "$b_what: reload did not show the daemon's answer: $(cat "$CTL_OUT")"
	grep -Fq -- "$CONF:$b_error" "$CTL_OUT" ||
		fail "$b_what: reload did not show '$CONF:$b_error': $(cat "$CTL_OUT")"
	grep -Fq -- "keeps its current configuration" "$CTL_OUT" ||
		fail "$b_what: reload did not say the old configuration stays"
	[ "$(grep -c 'bad config refused, old kept' "$DAEMON_LOG")" -gt "$refused_before" ] ||
		fail "$b_what: the daemon did not log the refusal"
	ctl_rc 0 "$b_what: status" status
	grep -q 'phiguardd at ' "$CTL_OUT" || fail "$b_what: status printed nothing"
	# The broken files narrow the nurse role: the old policy must stand.
	ctl_rc 0 "$b_what: check (old policy)" check nurse1 phi.clinical
	ctl_rc 0 "$b_what: explain" explain nurse1
	ctl_rc 0 "$b_what: flush" flush nurse1
	ctl_rc 0 "$b_what: unlock" unlock nurse1
	login "$b_what"
	expect_no_log 'config error' "$b_what: the module read the daemon's part"
}

# narrowed: the good file with the nurse role narrowed to phi.read, which
# would show if a broken file were taken.
narrowed() {
	sed 's/^scopes = phi\.read phi\.clinical$/scopes = phi.read/' "$GOOD" >"$CONF"
}

login "good file"

# --- a typo in a [role]: before the fix every login and phiguardctl
# command failed on it.
narrowed
printf '[role lab]\ngroup = lab-techs\nscope = phi.lab\n' >>"$CONF"
broken "role typo" "$(line_of '^scope = ')"': scope: unknown key in [role lab]'

# --- an inline comment: before the fix "ws9   # ..." became "ws9" and the
# nurse was silently refused on this terminal (ws1).
cp "$GOOD" "$CONF"
sed -i 's/^\(scopes = phi\.read phi\.clinical\)$/\1\nterminals = ws9   # the ward terminal only/' "$CONF"
broken "inline comment" "$(line_of '^terminals = ')"": terminals: inline comments are not allowed: put the comment on its own line, or quote the value if '#' belongs to it"

# --- an unknown key in [ldap].
narrowed
sed -i 's/^\[ldap\]$/[ldap]\nbind_pw = secret/' "$CONF"
broken "ldap typo" "$(line_of '^bind_pw = ')"': bind_pw: unknown key in [ldap]'

# --- a typo in a [daemon] key nobody but the daemon reads, and one in a
# key the module reads itself ([totp] window): the module logs the latter
# at each login and uses its default, 1.
narrowed
sed -i 's/^\[daemon\]$/[daemon]\nmax_client = 10/' "$CONF"
sed -i 's/^window = .*$/window = 99/' "$CONF"
broken_window="$CONF:$(line_of '^window = 99$'): window: out of range (0..10)"
ctl_rc 1 "module key: reload" reload
grep -Fq -- "$CONF:$(line_of '^max_client = '): max_client: unknown key in [daemon]" "$CTL_OUT" ||
	fail "module key: reload did not show the daemon's error: $(cat "$CTL_OUT")"
ctl_rc 0 "module key: status" status
ctl_rc 0 "module key: check (old policy)" check nurse1 phi.clinical
login "module key"
log_lines | grep -Fxq -- "config error ignored, built-in default used: $broken_window" ||
	fail "module key: the error is not in the module's log: $(log_lines)"
[ "$(log_lines | grep -c '^config error ignored')" -eq 2 ] ||
	fail "module key: want one log line per stage (auth, account)"

# --- a file with a typo in the module's own [push]: push is off, the
# TOTP login goes on.
cp "$GOOD" "$CONF"
printf '[push]\nprovider = duo\nhost = api.example\nikey = DIX\nskey_file = /etc/k\nca_file = ca.pem\n' >>"$CONF"
login "push typo"
expect_log 'config error ignored, built-in default used: .*: ca_file: must be an absolute path$' \
	"push typo: the error in the module's log"

# --- the check above is live: a good narrowed file is taken at once.
narrowed
ctl_rc 0 "fixed file: reload" reload
ctl_rc 1 "fixed file: check (new policy)" check nurse1 phi.clinical
ctl_rc 0 "fixed file: check" check nurse1 phi.read

finish
