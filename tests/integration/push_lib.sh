# SPDX-License-Identifier: BSD-3-Clause
# Push tests: a provider emulator (push_emulator.py) on a test CA, and the
# [push] section of the test's phiguard.conf. Sourced after lib.sh; sources
# slapd.sh for make_test_ca and free_port.
#
#   start_emulator duo|privacyidea [ARGS...]   start it, wait for its port
#                                              (EMU_CERT/EMU_KEY: another
#                                              certificate than the CA's
#                                              localhost one)
#   stop_emulator                              SIGTERM and reap
#   push_script JSON                           the emulator's script (atomic)
#   write_push_config PROVIDER [LINES...]      write_config + [push] for it
#   emu_count PATH                             requests to PATH so far
#   emu_wait_count PATH N                      wait (bounded) for N of them
#   push_elapsed_ok START_MS LIMIT_S WHAT      the run ended within LIMIT_S
#                                              (LIMIT_S x 3 under VALGRIND)

. "${top_srcdir:?}/tests/integration/slapd.sh"

EMU="$top_srcdir/tests/integration/push_emulator.py"
EMU_PID=""
EMU_PORT=""
EMU_SCRIPT="$T/emu-script.json"
EMU_LOG="$T/emu-log.jsonl"
EMU_PORTFILE="$T/emu.port"
DUO_IKEY=DIXYZV6YM8IFYVWBINCA
DUO_SKEY_FILE="$T/duo.skey"
PI_SVC_PW="$T/pi-service.pw"

push_script() {
	printf '%s\n' "$1" >"$EMU_SCRIPT.tmp" && mv "$EMU_SCRIPT.tmp" "$EMU_SCRIPT"
}

start_emulator() {
	provider=$1
	shift
	make_test_ca
	[ -f "$EMU_SCRIPT" ] || push_script '{"users": {}}'
	if [ "$provider" = duo ]; then
		[ -f "$DUO_SKEY_FILE" ] || {
			printf '%s\n' yWHSMhWucAcp7qvuH3HWTaSaKABs8Gaddiv1NIRo >"$DUO_SKEY_FILE"
			chmod 0600 "$DUO_SKEY_FILE"
		}
		set -- --ikey "$DUO_IKEY" --skey-file "$DUO_SKEY_FILE" "$@"
	fi
	rm -f "$EMU_PORTFILE"
	python3 "$EMU" "$provider" --cert "${EMU_CERT:-$SLAPD_TLS_DIR/server.pem}" \
		--key "${EMU_KEY:-$SLAPD_TLS_DIR/server.key}" --port-file "$EMU_PORTFILE" \
		--script "$EMU_SCRIPT" --log "$EMU_LOG" "$@" >>"$T/emu.out" 2>&1 &
	EMU_PID=$!
	case " $CLEANUP_HOOKS " in
	*" stop_emulator "*) ;;
	*) CLEANUP_HOOKS="$CLEANUP_HOOKS stop_emulator" ;;
	esac
	wait_for 10 emu_started ||
		die "push emulator did not start within 10 s: $(cat "$T/emu.out")"
	EMU_PORT=$(cat "$EMU_PORTFILE")
}

# emu_started: the emulator wrote its port; dies if it exited.
emu_started() {
	[ -s "$EMU_PORTFILE" ] && return 0
	kill -0 "$EMU_PID" 2>/dev/null || die "push emulator exited: $(cat "$T/emu.out")"
	return 1
}

stop_emulator() {
	stop_pid "$EMU_PID"
	EMU_PID=""
}

# write_push_config PROVIDER [LINES...]: the lib.sh config plus [push] for
# the running emulator (ca_file = the test CA), then each LINE.
write_push_config() {
	provider=$1
	shift
	write_config
	{
		echo "[push]"
		echo "provider = $provider"
		echo "ca_file = $SLAPD_TLS_DIR/ca.pem"
		if [ "$provider" = duo ]; then
			echo "host = localhost:$EMU_PORT"
			echo "ikey = $DUO_IKEY"
			echo "skey_file = $DUO_SKEY_FILE"
		else
			echo "url = https://localhost:$EMU_PORT/"
		fi
		for line in "$@"; do
			echo "$line"
		done
	} >>"$CONF"
}

emu_count() {
	[ -f "$EMU_LOG" ] || { echo 0; return 0; }
	grep -c "\"path\": *\"$1\"" "$EMU_LOG" || true
}

emu_wait_count() {
	wait_for 10 emu_has "$1" "$2"
}

# emu_has PATH N: the emulator logged at least N requests for PATH.
emu_has() {
	[ "$(emu_count "$1")" -ge "$2" ]
}

# Under valgrind everything is slower: widen a limit, never narrow it.
push_limit() {
	if [ -n "${VALGRIND:-}" ]; then
		echo $(($1 * 3))
	else
		echo "$1"
	fi
}

push_elapsed_ok() {
	took=$(($(now_ms) - $1))
	lim=$(push_limit "$2")
	[ "$took" -le $((lim * 1000)) ] ||
		fail "$3: took ${took} ms, more than ${lim} s"
}

# make_other_host_cert: $SLAPD_TLS_DIR/otherhost.{pem,key}, signed by the
# test CA for wrong.example only (not localhost, not 127.0.0.1).
make_other_host_cert() {
	make_test_ca
	(
		cd "$SLAPD_TLS_DIR" || exit 1
		openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
			-nodes -keyout otherhost.key -out otherhost.csr \
			-subj "/O=phiguard tests/CN=wrong.example" || exit 1
		printf '%s\n' "basicConstraints=CA:FALSE" \
			"extendedKeyUsage=serverAuth" \
			"subjectAltName=DNS:wrong.example" >otherhost.ext
		openssl x509 -req -in otherhost.csr -CA ca.pem -CAkey ca.key \
			-CAcreateserial -days 2 -extfile otherhost.ext \
			-out otherhost.pem || exit 1
		chmod 0600 otherhost.key
	) >>"$T/tls.log" 2>&1 || die "otherhost certificate: $(cat "$T/tls.log")"
}

need python3 openssl
