#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# The module fails closed and never hangs when phiguardd cannot be used:
# no socket, a dead daemon's stale socket, a frozen daemon (SIGSTOP), a
# daemon that stops answering after the prompt or answers garbage, and a
# "daemon" run by an untrusted uid. Every case is PAM_AUTHINFO_UNAVAIL, and
# the person is told so in one line (not just "Login incorrect"), also
# under PAM_SILENT, which sudo always passes.
. "${top_srcdir:?}/tests/integration/lib.sh"

need perl setpriv
SECRET=JBSWY3DPEHPK3PXP
NOW=1700000015

# A stand-in daemon: answers PREAUTH, and CLAIM/REPORT as its mode says.
cat >"$T/fake.pl" <<'PERL'
use strict;
use warnings;
use IO::Socket::UNIX;
my ($path, $mode) = @ARGV;
my $s = IO::Socket::UNIX->new(Type => SOCK_STREAM(), Local => $path,
			      Listen => 16) or die "listen $path: $!";
chmod 0666, $path;
$SIG{PIPE} = 'IGNORE';
while (my $c = $s->accept) {
	$c->autoflush(1);
	while (my $l = <$c>) {
		if ($mode eq 'garbage') { print $c "hello there\n"; next; }
		if ($l =~ /^v1 (CLAIM|REPORT) / && $mode eq 'close') { last; }
		if ($l =~ /^v1 (CLAIM|REPORT) / && $mode eq 'hang') { sleep 60; last; }
		print $c "v1 OK locked=no claimed=yes failures=0\n";
	}
	close $c;
}
PERL
FAKE_PID=""
# fake MODE [setpriv args...]: (re)start the stand-in on $T/fake/sock.
fake() {
	stop_fake
	mode=$1
	shift
	rm -f "$T/fake/sock"
	"$@" perl "$T/fake.pl" "$T/fake/sock" "$mode" >>"$T/fake.log" 2>&1 &
	FAKE_PID=$!
	wait_socket "$T/fake/sock" "$FAKE_PID" "fake daemon ($mode)"
}
stop_fake() {
	stop_pid "$FAKE_PID"
	FAKE_PID=""
}
CLEANUP_HOOKS="stop_fake"
mkdir "$T/fake"
chown 65534:65534 "$T/fake"

# timed WANT_MAX_MS DESCRIPTION -- run_pam ...: expect PAM_AUTHINFO_UNAVAIL
# within WANT_MAX_MS on top of BASELINE_MS, what a login that fails at once
# costs in this run (process start, pam_wrapper, valgrind if on), and the
# one line that says why; leaves the elapsed time in $ELAPSED.
timed() {
	max=$1 what=$2
	shift 3
	t0=$(now_ms)
	"$@"
	rc=$?
	ELAPSED=$(($(now_ms) - t0))
	[ "$rc" -eq 1 ] || fail "$what: exit $rc, want 1"
	expect_out '^auth: PAM_AUTHINFO_UNAVAIL$' "$what"
	[ "$(grep -c '^error: ' "$OUT")" -eq 1 ] && expect_out "$MSG_UNAVAIL" "$what" ||
		fail "$what: want the one 'not available' line, got: $(grep '^error: ' "$OUT" | tr '\n' '|')"
	max=$((max + BASELINE_MS))
	# Under memcheck the module's own work (liboath, parsing) is several
	# times slower than the baseline shows; a hang is still caught.
	[ -z "${VALGRIND:-}" ] || max=$((max * 3))
	[ "$ELAPSED" -le "$max" ] || fail "$what: took $ELAPSED ms, bound $max ms"
}

# The floor: a stack whose module refuses a bad option before any I/O.
measure_baseline() {
	BASELINE_MS=0
	for i in 1 2; do
		t0=$(now_ms)
		run_pam badopt nurse1 auth -a 000000
		ms=$(($(now_ms) - t0))
		expect_out '^auth: PAM_SERVICE_ERR$' "baseline run"
		[ "$ms" -le "$BASELINE_MS" ] || BASELINE_MS=$ms
	done
	log "baseline login: $BASELINE_MS ms"
}

write_config
add_token nurse1 SHA1 6 30 "$SECRET"
# The default timeout, spelled out so that valgrind runs keep it too.
pam_service login daemon_timeout=5
pam_service fast daemon_timeout=1
pam_service nosock "socket=$T/no-such.sock"
pam_service fake "socket=$T/fake/sock" daemon_timeout=1
pam_service badopt window=abc
measure_baseline
at_time $NOW
code=$(totp_code "$SECRET" SHA1 6 $NOW)

# No daemon at all: denied at once, before any prompt.
timed 1000 "no socket" -- run_pam nosock nurse1 auth -a "$code"
expect_no_out '^prompt:' "prompted without a daemon"
expect_log '^auth; user=nurse1; .*result=failure; reason=daemon; detail=preauth: ' "no socket log line"
timed 1000 "no daemon behind the config's socket" -- run_pam login nurse1 auth -a "$code"
# sudo passes PAM_SILENT to pam_authenticate and still prints what its
# conversation gets: the line must come all the same.
timed 1000 "no socket, PAM_SILENT" -- run_pam nosock nurse1 auth -S -a "$code"

# A dead daemon's socket file: connection refused, no wait.
start_daemon
kill -KILL "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null
DAEMON_PID=""
[ -S "$SOCK" ] || die "the killed daemon left no socket behind"
timed 1000 "stale socket" -- run_pam login nurse1 auth -a "$code"

# A frozen daemon accepts connections (the kernel does) but never answers:
# the module gives up after daemon_timeout, measured.
start_daemon
kill -STOP "$DAEMON_PID"
timed 2000 "frozen daemon, daemon_timeout=1" -- run_pam fast nurse1 auth -a "$code"
[ "$ELAPSED" -ge 900 ] || fail "frozen daemon: denied after $ELAPSED ms, so the wait was not exercised"
expect_no_out '^prompt:' "prompted with a frozen daemon"
timed 6000 "frozen daemon, default daemon_timeout=5" -- run_pam login nurse1 auth -a "$code"
[ "$ELAPSED" -ge 4900 ] || fail "default timeout: denied after $ELAPSED ms"
kill -CONT "$DAEMON_PID"
# Thawed, the same daemon serves logins again.
expect_rc 0 "thawed daemon" -- run_pam login nurse1 auth -a "$code"
stop_daemon

# The stand-in, run by root, is trusted: the login goes through. This is
# the control for the checks below.
fake ok
expect_rc 0 "root-run stand-in" -- run_pam fake nurse1 auth -a "$code"
expect_out '^auth: PAM_SUCCESS$' "root-run stand-in"

# The same program under uid 65534 is not phiguardd, whatever it says.
fake ok setpriv --reuid=65534 --regid=65534 --clear-groups
timed 1000 "untrusted peer uid" -- run_pam fake nurse1 auth -a "$code"
expect_no_out '^prompt:' "prompted for an untrusted daemon"
expect_log 'reason=daemon; detail=preauth: ' "untrusted peer log line"

# Fails after the prompt: CLAIM gets no answer, or the connection closes.
fake hang
timed 2000 "no answer to CLAIM" -- run_pam fake nurse1 auth -a "$code"
expect_out '^prompt: ' "prompted before CLAIM"
expect_log 'reason=daemon; detail=claim: ' "CLAIM timeout log line"
fake close
timed 1000 "connection closed at CLAIM" -- run_pam fake nurse1 auth -a "$code"
# A wrong code goes to REPORT, which fails the same way.
timed 1000 "connection closed at REPORT" -- run_pam fake nurse1 auth -a 000000
expect_log 'reason=bad-code; detail=report: ' "REPORT failure keeps the reason"
fake garbage
timed 1000 "garbage answer" -- run_pam fake nurse1 auth -a "$code"
stop_fake

finish
