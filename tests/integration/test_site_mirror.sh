#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Site mode on two slapd providers in mirror mode: terminal A reads from
# m1, terminal B from m2, both write to one target (m1). Concurrent claims
# of one step from A and B, 1,000 rounds: exactly one accepted each time,
# whichever replica each daemon read the token from. Then the write target
# goes down in the middle of a run: claims move to m2 (which may hold a
# lower step than one already accepted), the rounds of that moment are
# counted and printed (the window phiguardd(8) documents), and no step is
# ever accepted twice by one terminal.
# shellcheck disable=SC2154 # SLAPD_*_NAME are set by start_slapd (eval)
. "${top_srcdir:?}/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/slapd.sh"
. "$top_srcdir/tests/integration/site_lib.sh"

SECRET=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ
RACE_ROUNDS=${RACE_ROUNDS:-1000}
FAILOVER_ROUNDS=${FAILOVER_ROUNDS:-2000}
TOKEN="cn=frontdesk1,$SLAPD_TOKEN_BASE"

start_slapd m1 --oath
start_slapd m2 --oath
mirror_slapd m1 m2

site_params m1
enroll m1 frontdesk1 "$SECRET" -

# step_on SERVER: frontdesk1's oathTOTPLastTimeStep there.
step_on() { last_step "$1" frontdesk1; }
token_on() {
	ldap_search "$1" -b "$TOKEN" -s base cn | grep -q '^cn: frontdesk1$'
}
wait_for 20 token_on m2 || die "m2 did not replicate the token"

# A reads m1 first, B m2 first; both write to m1.
write_ldap_config "$SLAPD_URI_m1 $SLAPD_URI_m2" "[tokens]
store = ldap"
for _kv in "search_timeout = 1" "network_timeout = 1" \
	"write_uri = $SLAPD_URI_m1"; do
	sed -i "s|^\[ldap\]\$|[ldap]\n$_kv|" "$CONF"
done
start_daemon

# Terminal B: A's config reading m2 first.
start_terminal B "$CONF" "s|^uri = .*|uri = $SLAPD_URI_m2 $SLAPD_URI_m1|"

# Each daemon first reads the token from its own replica.
pgreq "v1 PREAUTH user=frontdesk1" >"$OUT"
expect_out '^v1 OK locked=no push=yes tokens=1 ' "A reads the token (m1)"
"$PY" "$PGCLIENT" "$SOCK_B" req "v1 PREAUTH user=frontdesk1" >"$OUT"
expect_out '^v1 OK locked=no push=yes tokens=1 ' "B reads the token (m2)"

# --- 1,000 rounds, reads on two replicas, one write target -------------
start=$((($(date +%s) - (RACE_ROUNDS + FAILOVER_ROUNDS) * 30 - 60) / 30 * 30))
"$PY" "$PGCLIENT" "$SOCK" claimrace "$SOCK_B" frontdesk1 "$start" \
	"$RACE_ROUNDS" 30 >"$OUT" 2>&1
log "mirror race: $(tr '\n' ' ' <"$OUT")"
expect_out "^rounds=$RACE_ROUNDS one=$RACE_ROUNDS none=0 both=0\$" \
	"exactly one claim accepted per round"
last=$((start / 30 + RACE_ROUNDS - 1))
[ "$(step_on m1)" = "$last" ] || fail "m1's step: $(step_on m1), want $last"
m2_caught_up() { [ "$(step_on m2)" = "$last" ]; }
wait_for 20 m2_caught_up || fail "m2 did not replicate the last step"

# --- the write target goes down mid-run -------------------------------
first=$((start + RACE_ROUNDS * 30))
"$PY" "$PGCLIENT" "$SOCK" claimrace "$SOCK_B" frontdesk1 "$first" \
	"$FAILOVER_ROUNDS" 30 >"$T/failover.out" 2>&1 &
race=$!
# Stopped once the run is under way.
under_way() { [ "$(step_on m1)" -ge $((first / 30 + 20)) ] 2>/dev/null; }
wait_for 20 under_way || fail "the run did not start"
stop_slapd m1
wait "$race"
log "failover race: $(grep -v '^round [0-9]' "$T/failover.out" | tr '\n' ' ')" \
	"($(grep -c '^round [0-9]' "$T/failover.out") refused otherwise)"
grep -q "^rounds=$FAILOVER_ROUNDS " "$T/failover.out" ||
	fail "the run did not finish: $(tail -n 3 "$T/failover.out")"
"$PY" "$PGCLIENT" "$SOCK_B" req "v1 STATUS" >"$OUT"
expect_out " tokens_write_target=$SLAPD_URI_m2 tokens_write_failovers=1( |\$)" \
	"B writes to m2 now"
# No terminal accepts a step twice, whatever m2 holds: every step of the
# run again, at each daemon, is a replay.
i=0
: >"$T/again"
while [ $i -lt "$FAILOVER_ROUNDS" ]; do
	echo "v1 CLAIM user=frontdesk1 step_start=$((first + i * 30)) report=yes" >>"$T/again"
	i=$((i + 1))
done
for s in "$SOCK" "$SOCK_B"; do
	"$PY" "$PGCLIENT" "$s" stream <"$T/again" >"$OUT"
	n=$(grep -c 'claimed=yes' "$OUT")
	[ "$n" -eq 0 ] || fail "$s accepted $n steps a second time"
done
# The write target (m2 now) left holding a lower step, as a replica that
# lost a conflicting change does: a step above its value but at or below
# one a terminal has seen accepted is still refused there (its floor).
low=$((first / 30 + 5))
ldap_modify m2 <<LDIF || fail "lowering m2's step"
dn: $TOKEN
changetype: modify
replace: oathTOTPLastTimeStep
oathTOTPLastTimeStep: $low
LDIF
for s in "$SOCK" "$SOCK_B"; do
	"$PY" "$PGCLIENT" "$s" req \
		"v1 CLAIM user=frontdesk1 step_start=$(((low + 10) * 30))" >"$OUT"
	expect_out "code=replay" "$s: a step below its floor, above m2's: refused"
done
[ "$(step_on m2)" = "$low" ] || fail "a refused claim changed m2's step"
stop_b

finish
