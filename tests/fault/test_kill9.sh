#!/usr/bin/env bash
# kill -9 of either daemon at random moments during traffic, each restarted at once or after up to
# 1.5 s. What a killed daemon held (frames in its TAP queue, blocks being filled or in flight) dies
# with it and with its counters, so across the kills this test asserts integrity and recovery, not
# exact accounting:
#  - no datagram is ever delivered corrupt, duplicated or out of order (a restarted writer's new
#    epoch is followed, a dead epoch's blocks are never replayed);
#  - after every restart, carrier is on at the restarted end within dead_after (+ margin), at the
#    other within twice that;
#  - afterwards the link is whole again: a fresh run reconciles exactly, with nothing lost;
#  - vnicd's memory stays bounded.
source "$(dirname "$0")/fault_lib.sh"
# Delivery stops for seconds in an outage: the receiver must not give up before it ends.
PROBE_IDLE_MS=$OUTAGE_PROBE_IDLE_MS
require_environment
# A ring of 2047 blocks (about 3 s of this traffic) rides out the stalls of a loaded CI machine
# under ASan: with 511, A's writer sometimes outran what B's acknowledgements (through the mirror)
# showed and rightly tail-dropped, which this test, asserting no loss, would take for a fault.
export E2E_VOLUME_SIZE=128M
fault_lab_setup
start_mirror a --lag-ms 2 --seed 71
start_mirror b --lag-ms 2 --seed 72
fault_lab_up
# While A's vnicd is down, A's datagrams to B go into lo (and are discarded there) by a host
# route, instead of failing the sender. The route stays until A's new vnic0 has its permanent
# neighbour for B: were datagrams sent into a vnic0 without one, the kernel would queue them behind
# neighbour resolution and, when it resolves, send some of that queue after newer datagrams. That
# reordering is the kernel's (a plain veth shows it: tens of datagrams each time), not vnic's, and
# it would hide the reordering this test is here to catch.
hold_route() { ip netns exec "$NS_A" ip route "$1" "$ADDR_B/32" dev lo; }
probe warmup 5000 20000 200 1200 1
rss_a=$(rss_kib a)
rss_b=$(rss_kib b)

seed=${KILL_SEED:-$RANDOM}
note "kill schedule seed $seed"
RANDOM=$seed
# 4000 datagrams a second through the kills: at 10000 the emulated mirror fell a second and more
# behind on a slow day, and a restarted writer's first records waited behind that backlog, so the
# peer's carrier came back late for the mirror's sake (old builds too), not vnicd's.
PROBE_BACKGROUND=1 probe kills 60000 4000 200 1200 10
restarts_a=0
for round in 1 2 3 4 5 6; do
  sleep "0.$(( 3 + RANDOM % 7 ))"
  side=$([ $((RANDOM % 2)) = 0 ] && echo a || echo b)
  down_ms=$(( RANDOM % 1500 ))
  note "round $round: kill -9 vnicd $side, restart after $down_ms ms"
  [ $side = b ] || hold_route add
  stop_node $side KILL
  sleep "$(printf '%d.%03d' $((down_ms / 1000)) $((down_ms % 1000)))"
  fault_start_node $side
  started=$(now_ms)
  static_neighbours
  [ $side = b ] || hold_route del
  carrier_back $side "$started"
  # The survivor sees the restarted writer once its new records cross the mirror. On a slow day
  # that took up to 2 s here (the build that landed on 2026-12-04 too; the cause is not found
  # yet): bounded at twice dead_after (three times that under ASan), so a hang still fails.
  carrier_back "$(peer_of $side)" "$started" $(( (2 * DEAD_AFTER_MS + CARRIER_MARGIN_MS) * SANITIZER_TIME_FACTOR ))
  [ $side = a ] && restarts_a=$((restarts_a + 1))
done
probe_wait
cat "$E2E_RUN/kills.json"
for what in corrupt duplicates reordered; do
  [ "$(jq .$what "$E2E_RUN/kills.json")" = 0 ] || fail "$(jq .$what "$E2E_RUN/kills.json") $what datagrams across the kills"
done
note "received $(jq .received "$E2E_RUN/kills.json") of $(scaled 60000) across 6 kills"

note "after the kills the link reconciles exactly"
quiesce
snapshot before
# At a rate the whole loop (A's writer, the mirror, B's reader, B's acknowledgements back through
# the other mirror) sustains on a loaded host: at 10000 pps the emulated mirror's copies fell
# 1400-1600 blocks behind A's head, A's ring of 2047 filled and A rightly dropped a third of the
# datagrams as ring full, with no kill at all. At 2000 pps the ring holds over a second of
# traffic, so a drop here means the restarted daemons' acknowledgements are wrong, which is what
# this checks.
probe after-kills 10000 2000 200 1200 11
quiesce
snapshot after
reconcile after-kills before after 0
[ "$(delta a_ring_full after before)" = 0 ] || fail "A's ring stayed full after the link recovered"
[ "$(jq .received "$E2E_RUN/after-kills.json")" = "$(scaled 10000)" ] || fail "datagrams lost after the link recovered"
check_rss a "$rss_a"
check_rss b "$rss_b"
echo "PASS"
