#!/usr/bin/env bash
# A receive volume that is not ready yet (mirror not established, peer not formatted) is waited
# for with carrier off and said so in status and log; once the peer formats it and starts, the
# link comes up. B formats its own send volume on first start with --format-if-empty.
source "$(dirname "$0")/lib.sh"
require_environment
lab_setup 64K
rm -f "$E2E_VOL/b.vol"
truncate -s 64M "$E2E_VOL/b.vol"  # all zeros: nothing there yet

start_node a
sleep 0.5
carrier_is a 0 || fail "carrier on with an unformatted receive volume"
[ "$(status_field a .peer.state)" = no-volume ] || fail "status does not say the receive volume is not ready"
grep -q "waiting for $E2E_VOL/b.vol to be formatted" "$E2E_RUN/a.log" || fail "the log does not say what it waits for"

start_node b --format-if-empty --block-size 65536
grep -q "formatted empty send volume" "$E2E_RUN/b.log" || fail "B did not format its empty send volume"
wait_link_up a
wait_link_up b
ip netns exec "$NS_A" ping -c 3 -i 0.1 -W 2 "$ADDR_B" >/dev/null || fail "ping once B is up"

note "--format-if-empty never formats a volume that holds something"
stop_node b TERM
start_node b --format-if-empty --block-size 65536
[ "$(grep -c "formatted empty send volume" "$E2E_RUN/b.log")" = 1 ] || fail "B formatted its volume a second time"
echo "PASS"
