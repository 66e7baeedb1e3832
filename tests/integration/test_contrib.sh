#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# contrib/ for the sysadmin: the systemd unit passes `systemd-analyze
# verify` without a word and scores OK or better in `systemd-analyze
# security`; sysusers.d and tmpfiles.d build the user, the exemption group
# and the directories the unit expects; the pam-auth-update profile and the
# pam.d examples parse, name modules that exist, and, run through
# pam_wrapper with the built module (system modules that cannot run here
# replaced by pam_permit), let an agent in with a right code only, export
# the scopes, refuse whom the daemon refuses, and leave system accounts and
# members of phiguard-exempt alone in every stage (tests/integration/
# test_sudo.sh runs the profile under sudo).
. "${top_srcdir:?}/tests/integration/lib.sh"

command -v systemd-analyze >/dev/null 2>&1 ||
	skip "systemd-analyze not found (Debian package systemd): run contrib/install-deps.sh"

C="$top_srcdir/contrib"
UNIT="$T/unit/phiguardd.service"
mkdir -p "$T/unit" "$T/man/man5" "$T/man/man8"
# verify runs man(1) on every Documentation= page: let it find ours.
cp "$top_srcdir"/man/*.5 "$T/man/man5/"
cp "$top_srcdir"/man/*.8 "$T/man/man8/"
# verify checks that the programs exist: the built ones stand in.
sed "s|/usr/sbin/phiguardd|$PHIGUARDD|g; s|/usr/sbin/phiguardctl|$PHIGUARDCTL|g" \
	"$C/systemd/phiguardd.service" >"$UNIT"
grep -q "^ExecStart=$PHIGUARDD --foreground\$" "$UNIT" ||
	fail "unit: ExecStart is not /usr/sbin/phiguardd --foreground"

# verify: exit 0 and not a single warning (an unknown key is only a
# warning, so the output must be empty too).
verify() {
	MANPATH="$T/man" systemd-analyze verify "$1" >"$OUT" 2>&1
}
expect_rc 0 "systemd-analyze verify" -- verify "$UNIT"
[ ! -s "$OUT" ] || fail "systemd-analyze verify complains: $(cat "$OUT")"
# The same check catches a misspelt key and a missing program.
sed 's/^ProtectSystem=/ProtectSytem=/' "$UNIT" >"$T/unit/typo.service"
verify "$T/unit/typo.service"
grep -q "ProtectSytem" "$OUT" || fail "verify check: a misspelt key went unnoticed"
sed "s|^ExecStart=$PHIGUARDD|ExecStart=$T/no-such-daemon|" "$UNIT" >"$T/unit/missing.service"
verify "$T/unit/missing.service" && fail "verify check: a missing ExecStart program went unnoticed"

# security: the overall line, e.g. "-> Overall exposure level for
# phiguardd.service: 1.2 OK :-)". Levels from best to worst: SAFE OK
# MEDIUM EXPOSED UNSAFE.
exposure() {
	systemd-analyze security --offline=true "$1" 2>&1 |
		sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\) \([A-Z]*\).*/\1 \2/p'
}
score=$(exposure "$UNIT")
log "systemd-analyze security: ${score:-no overall line}"
case "$score" in
*" SAFE" | *" OK") ;;
"") fail "systemd-analyze security printed no overall exposure line" ;;
*) fail "systemd-analyze security rates the unit $score, want OK or SAFE" ;;
esac
# The parser tells a bare unit apart from the hardened one.
printf '[Service]\nExecStart=%s --foreground\n' "$PHIGUARDD" >"$T/unit/bare.service"
case "$(exposure "$T/unit/bare.service")" in
*" SAFE" | *" OK" | "") fail "security check: a unit without sandboxing is not rated worse" ;;
esac

# The hardening the design asks for, as written (not only as scored).
for want in User=phiguard ProtectSystem=strict ProtectHome=yes \
	PrivateTmp=yes NoNewPrivileges=yes CapabilityBoundingSet= \
	RuntimeDirectory=phiguard StateDirectory=phiguard \
	LogsDirectory=phiguard 'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6' \
	"ExecReload=+$PHIGUARDCTL reload"; do
	grep -qxF "$want" "$UNIT" || fail "unit: no line '$want'"
done
# SO_PEERCRED decides who may ask what; in a user namespace every peer
# would look like nobody.
! grep -q '^PrivateUsers=' "$UNIT" || fail "unit: PrivateUsers= breaks peer credentials"

# --- systemctl reload runs ExecReload: it must fail on a config the
# daemon refuses, with the reason, as `phiguardctl reload` does. Run here
# as systemd would (the test's config and daemon; $MAINPID the daemon's).
exec_reload() {
	cmd=$(sed -n 's/^ExecReload=[-+@!:]*//p' "$C/systemd/phiguardd.service")
	cmd=$(printf '%s\n' "$cmd" | sed "s|/usr/sbin/phiguardctl|$PHIGUARDCTL --config $CONF|g;
		s|/usr/sbin/phiguardd|$PHIGUARDD --config $CONF|g; s|\\\$MAINPID|$DAEMON_PID|g")
	sh -c "$cmd" >"$OUT" 2>&1
}
write_config
start_daemon
expect_rc 0 "ExecReload, a good config" -- exec_reload
printf '[role broken\n' >>"$CONF"
bad_line=$(wc -l <"$CONF")
expect_rc 1 "ExecReload, a broken config" -- exec_reload
expect_out "$CONF:$bad_line: " "ExecReload says file:line"
stop_daemon
write_config

# --- sysusers.d and tmpfiles.d, applied to an empty root.
ROOT="$T/root"
mkdir -p "$ROOT/etc"
systemd-sysusers --root="$ROOT" "$C/systemd/phiguard.sysusers" >"$OUT" 2>&1 ||
	fail "systemd-sysusers: $(cat "$OUT")"
pw=$(grep '^phiguard:' "$ROOT/etc/passwd")
uid=$(echo "$pw" | cut -d: -f3)
[ -n "$uid" ] && [ "$uid" -gt 0 ] && [ "$uid" -lt 1000 ] ||
	fail "sysusers: phiguard is not a system user: '$pw'"
[ "$(echo "$pw" | cut -d: -f7)" = /usr/sbin/nologin ] ||
	fail "sysusers: phiguard can log in: '$pw'"
# The group the PAM stacks exempt: a system group, empty until the admin
# adds someone.
gr=$(grep '^phiguard-exempt:' "$ROOT/etc/group")
gid=$(echo "$gr" | cut -d: -f3)
[ -n "$gid" ] && [ "$gid" -lt 1000 ] && [ -z "$(echo "$gr" | cut -d: -f4)" ] ||
	fail "sysusers: no empty system group phiguard-exempt: '$gr'"
systemd-tmpfiles --create --root="$ROOT" "$C/systemd/phiguard.tmpfiles" >"$OUT" 2>&1 ||
	fail "systemd-tmpfiles: $(cat "$OUT")"
# Each directory as the unit's *Directory= and *DirectoryMode= make it.
for d in Runtime:run State:var/lib Logs:var/log; do
	kind=${d%%:*} path="$ROOT/${d#*:}/phiguard"
	mode=$(sed -n "s/^${kind}DirectoryMode=0*//p" "$UNIT")
	got=$(stat -c '%a %u' "$path" 2>/dev/null)
	[ "$got" = "$mode $uid" ] ||
		fail "tmpfiles: $path is '$got', the unit makes it '$mode $uid'"
done
# The daemon accepts the state directory tmpfiles made, run as the unit
# runs it: as the phiguard user (of $ROOT, which this host may not know;
# the directory must belong to the daemon's user or root).
write_config
sed -i "s|^state_dir = .*|state_dir = $ROOT/var/lib/phiguard|" "$CONF"
gid=$(echo "$pw" | cut -d: -f4)
setpriv --reuid="$uid" --regid="$gid" --clear-groups \
	"$PHIGUARDD" --check-config --config "$CONF" >"$OUT" 2>&1 ||
	fail "phiguardd --check-config refuses the tmpfiles state dir: $(cat "$OUT")"
write_config

# --- PAM: the examples as PAM would read them.
MODDIR=""
for d in /usr/lib/x86_64-linux-gnu/security /lib/x86_64-linux-gnu/security \
	/usr/lib64/security /lib/security; do
	[ -f "$d/pam_permit.so" ] && MODDIR=$d && break
done
[ -n "$MODDIR" ] || die "no PAM module directory with pam_permit.so"

# pamd_run FILE: print FILE as a service that runs here, or "BAD file:line:
# reason" lines. Checks every line's type, control (keywords or
# [value=action ...] with PAM's names) and module; "@include common-TYPE"
# stands for the site's stack and becomes pam_permit. pam_phiguard.so gets
# the built module: auth with the real daemon, account and session with
# the stand-in ($FAKE_SOCK). Modules that exist here but would act on this
# machine become pam_permit; pam_succeed_if and pam_permit/deny stay.
pamd_run() {
	extra=$(valgrind_timeout_arg)
	awk -v moddir="$MODDIR" -v module="$PAM_MODULE" -v conf="$CONF" \
		-v fake="$FAKE_SOCK" -v extra="$extra" '
	function bad(msg) { print "BAD " FILENAME ":" FNR ": " msg; nbad++ }
	function exists(m) {
		return system("test -f \"" moddir "/" m "\"") == 0
	}
	BEGIN {
		split("success open_err symbol_err service_err system_err buf_err perm_denied auth_err cred_insufficient authinfo_unavail user_unknown maxtries new_authtok_reqd acct_expired session_err cred_unavail cred_expired cred_err no_module_data conv_err authtok_err authtok_recover_err authtok_lock_busy authtok_disable_aging try_again ignore abort authtok_expired module_unknown bad_item conv_again incomplete default", v, " ")
		for (i in v) rv[v[i]] = 1
		split("required requisite sufficient optional", v, " ")
		for (i in v) kw[v[i]] = 1
		keep["pam_succeed_if.so"] = keep["pam_permit.so"] = keep["pam_deny.so"] = 1
		# Packages a terminal may lack; pam_permit stands in.
		absent_ok["pam_gnome_keyring.so"] = 1
	}
	/^[ \t]*(#|$)/ { next }
	{
		line = $0
		sub(/^[ \t]+/, "", line)
		sub(/[ \t]+$/, "", line)
		if (line ~ /^@include[ \t]/) {
			inc = line
			sub(/^@include[ \t]+/, "", inc)
			if (inc !~ /^common-(auth|account|session|password)$/) {
				bad("unknown include " inc)
				next
			}
			sub(/^common-/, "", inc)
			print inc " required pam_permit.so"
			next
		}
		if (!match(line, /^(auth|account|session|password)[ \t]+/)) {
			bad("no module type")
			next
		}
		type = line
		sub(/[ \t].*/, "", type)
		rest = substr(line, RLENGTH + 1)
		if (substr(rest, 1, 1) == "[") {
			e = index(rest, "]")
			if (e == 0) { bad("unclosed [")
				next }
			control = substr(rest, 1, e)
			rest = substr(rest, e + 1)
			n = split(substr(control, 2, e - 2), pairs, /[ \t]+/)
			for (i = 1; i <= n; i++) {
				if (pairs[i] == "") continue
				split(pairs[i], kv, "=")
				if (!(kv[1] in rv) || kv[2] !~ /^(ignore|bad|die|ok|done|reset|[0-9]+)$/)
					bad("bad control " pairs[i])
			}
		} else {
			control = rest
			sub(/[ \t].*/, "", control)
			rest = substr(rest, length(control) + 1)
			if (!(control in kw)) { bad("bad control " control)
				next }
		}
		sub(/^[ \t]+/, "", rest)
		mod = rest
		sub(/[ \t].*/, "", mod)
		args = substr(rest, length(mod) + 1)
		if (mod !~ /^pam_[a-z0-9_]+\.so$/) { bad("bad module " mod)
			next }
		if (mod == "pam_phiguard.so") {
			sock = type == "auth" ? "" : " socket=" fake " daemon_timeout=1"
			print type " " control " " module " config=" conf sock " " extra args
		} else if (!exists(mod) && !(mod in absent_ok)) {
			bad("no module " mod " in " moddir)
		} else if (mod in keep) {
			print type " " control " " mod args
		} else {
			print type " " control " pam_permit.so"
		}
	}
	END { exit nbad > 0 }' "$1"
}

# profile_pamd FILE: a pam-auth-update profile as the common-* files would
# hold it: each stage's primary block (the password) as pam_permit, then
# the profile's lines. Unknown fields and bad values are reported.
profile_pamd() {
	awk '
	function bad(msg) { print "BAD " FILENAME ":" FNR ": " msg; nbad++ }
	BEGIN {
		split("Name Default Priority Conflicts Auth-Type Auth Auth-Initial Account-Type Account Account-Initial Session-Type Session Session-Initial Session-Interactive-Only Password-Type Password Password-Initial", v, " ")
		for (i in v) known[v[i]] = 1
	}
	/^[^ \t]/ {
		field = $0
		sub(/:.*/, "", field)
		val = $0
		sub(/^[^:]*:[ \t]*/, "", val)
		if ($0 !~ /^[A-Za-z-]+:/ || !(field in known)) { bad("unknown field " field)
			next }
		seen[field] = 1
		if (field == "Default" && val !~ /^(yes|no)$/) bad("Default: " val)
		if (field == "Priority" && val !~ /^[0-9]+$/) bad("Priority: " val)
		if (field ~ /-Type$/ && val !~ /^(Primary|Additional)$/) bad(field ": " val)
		stage = field ~ /^(Auth|Account|Session|Password)$/ ? tolower(field) : ""
		if (stage != "") {
			if (!((field "-Type") in seen)) bad(field " before " field "-Type")
			print stage " required pam_permit.so"
		}
		next
	}
	/^[ \t]+[^ \t]/ {
		if (stage == "") { bad("module line outside Auth/Account/Session")
			next }
		line = $0
		sub(/^[ \t]+/, "", line)
		print stage " " line
		next
	}
	/^$/ { next }
	{ bad("unexpected line") }
	END {
		if (!("Name" in seen) || !("Priority" in seen)) bad("Name and Priority are required")
		exit nbad > 0
	}' "$1"
}

profile_pamd "$C/pam-configs/phiguard" >"$T/profile.pamd" ||
	fail "pam-configs/phiguard: $(grep '^BAD' "$T/profile.pamd")"
for svc in sshd login gdm-password profile; do
	src="$C/pam.d/$svc"
	[ "$svc" = profile ] && src="$T/profile.pamd"
	pamd_run "$src" >"$PAMD/$svc" ||
		fail "$svc: $(grep '^BAD' "$PAMD/$svc" | tr '\n' ' ')"
	grep -q "^auth .*$PAM_MODULE" "$PAMD/$svc" || fail "$svc: no auth line for pam_phiguard"
	grep -q "^account .*$PAM_MODULE" "$PAMD/$svc" || fail "$svc: no account line for pam_phiguard"
	grep -q "^session .*$PAM_MODULE" "$PAMD/$svc" || fail "$svc: no session line for pam_phiguard"
done
printf 'auth required pam_deny.so\naccount required pam_deny.so\n' >"$PAMD/other"
# The checker itself refuses what PAM would trip over.
printf 'auth requird pam_phiguard.so\nauth [sucess=1 default=ignore] pam_unix.so\nauth required pam_nosuch.so\n@include common-nothing\n' >"$T/broken"
pamd_run "$T/broken" >"$T/broken.out" && fail "pam.d check: a broken file passed"
[ "$(grep -c '^BAD' "$T/broken.out")" -eq 4 ] ||
	fail "pam.d check: not every broken line reported: $(cat "$T/broken.out")"
printf 'Name: x\nPriority: 1\nAuth:\n\trequired pam_phiguard.so\n' >"$T/broken.profile"
profile_pamd "$T/broken.profile" >/dev/null && fail "profile check: Auth without Auth-Type passed"

# --- PAM: behaviour. Auth through the real daemon with oathtool codes;
# account and session answered by the stand-in.
SECRET=JBSWY3DPEHPK3PXP
NOW=1700000015
start_daemon
ALLOW='AUTHZ v1 OK allowed=yes scopes=phi.read.clinical role=nurse rule=nurse source=cache age=1'
fake_answers "$ALLOW" "SESSION v1 OK"
fake_start
at_time $NOW
code=$(totp_code "$SECRET" SHA1 6 $NOW)
for svc in sshd login gdm-password profile; do
	user="agent-$svc"
	add_token "$user" SHA1 6 30 "$SECRET"
	: >"$FAKE_LINES"
	expect_rc 0 "$svc: right code" -- run_pam "$svc" "$user" auth,acct,open,close -e -a "$code"
	expect_out '^prompt: Verification code: $' "$svc: code prompt"
	expect_out '^close: PAM_SUCCESS$' "$svc: whole login"
	expect_out '^env: PHIGUARD_SCOPES=phi\.read\.clinical$' "$svc: scopes exported"
	grep -q "^v1 AUTHZ user=$user " "$FAKE_LINES" || fail "$svc: no AUTHZ sent"
	grep -q "^v1 SESSION user=$user .*action=open" "$FAKE_LINES" || fail "$svc: no SESSION open sent"
	grep -q "^v1 SESSION user=$user .*action=close" "$FAKE_LINES" || fail "$svc: no SESSION close sent"
	expect_rc 1 "$svc: wrong code" -- run_pam "$svc" "$user" auth -a 000000
	expect_out '^auth: PAM_AUTH_ERR$' "$svc: wrong code"
done
fake_answers "AUTHZ v1 OK allowed=no reason=no-rule source=fresh"
for svc in sshd login gdm-password profile; do
	expect_rc 1 "$svc: refused by the daemon" -- run_pam "$svc" "agent-$svc" acct
	expect_out '^acct: PAM_PERM_DENIED$' "$svc: refused by the daemon"
done
at_time ""

# Every stack leaves alone system accounts (uid < 1000) and members of the
# local group phiguard-exempt, in all three stages: no prompt, no request,
# no wait, even with phiguardd stopped (auth) and frozen (the stand-in,
# for account and session, never answers). A name the name service does
# not know is not skipped (above), nor is a local account outside the
# group. root cannot use gdm-password at all; the system account daemon
# stands in there.
ADM="pgc$$adm" USR="pgc$$usr"
local_accounts "$ADM:phiguard-exempt" "$USR"
stop_daemon
fake_answers "* @hang"
# Any request would cost daemon_timeout per stage: 1 s, or 30 s under
# valgrind (valgrind_timeout_arg), where the run itself is slow.
lim=1000
[ -z "${VALGRIND:-}" ] || lim=20000
for svc in sshd login gdm-password profile; do
	sys=root
	[ "$svc" = gdm-password ] && sys=daemon
	for user in $sys $ADM; do
		: >"$FAKE_LINES"
		t0=$(now_ms)
		expect_rc 0 "$svc: $user skipped" -- run_pam "$svc" "$user" auth,acct,open,close
		ms=$(($(now_ms) - t0))
		expect_out '^close: PAM_SUCCESS$' "$svc: $user's whole login"
		expect_no_out '^(prompt|error):' "$svc: $user was prompted or told something"
		expect_no_log "user=$user" "$svc: pam_phiguard ran for $user"
		[ ! -s "$FAKE_LINES" ] || fail "$svc: the daemon was asked about $user: $(cat "$FAKE_LINES")"
		[ "$ms" -lt "$lim" ] || fail "$svc: $user's login took $ms ms"
	done
	expect_rc 1 "$svc: local account outside the group" -- run_pam "$svc" "$USR" auth -a 000000
	expect_out '^auth: PAM_AUTHINFO_UNAVAIL$' "$svc: local account outside the group"
done

finish
