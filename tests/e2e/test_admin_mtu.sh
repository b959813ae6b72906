#!/usr/bin/env bash
# The interface behaves like a NIC: admin down stops traffic and up resumes it; MTU 9000 carries
# jumbo frames whole; the configured txqueuelen is the TAP's.
source "$(dirname "$0")/lib.sh"
require_environment
lab_setup 64K
lab_up --mtu 9000 --txqueuelen 200
[ "$(ip netns exec "$NS_A" cat /sys/class/net/vnic0/tx_queue_len)" = 200 ] || fail "txqueuelen not set"
[ "$(status_field a .interface.tx_queue_len)" = 200 ] || fail "status does not report txqueuelen 200"

note "MTU 9000: an 8972-byte ICMP payload without fragmentation"
[ "$(ip netns exec "$NS_A" cat /sys/class/net/vnic0/mtu)" = 9000 ] || fail "MTU not set"
ip netns exec "$NS_A" ping -c 3 -i 0.1 -W 2 -M do -s 8972 "$ADDR_B" >/dev/null || fail "jumbo ping"

note "admin down on B: traffic stops"
ip netns exec "$NS_B" ip link set vnic0 down
if ip netns exec "$NS_A" ping -c 2 -i 0.2 -W 1 "$ADDR_B" >/dev/null 2>&1; then fail "ping answered while B is down"; fi
dropped=$(status_field b .drops.rx_admin_down)
note "B dropped $dropped frames while down"
[ "$dropped" -gt 0 ] || fail "B did not count the frames it refused while down"

note "admin up on B: traffic resumes"
ip netns exec "$NS_B" ip link set vnic0 up
wait_link_up b
ip netns exec "$NS_A" ping -c 3 -i 0.1 -W 2 "$ADDR_B" >/dev/null || fail "ping after admin up"
echo "PASS"
