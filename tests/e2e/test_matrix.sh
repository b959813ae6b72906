#!/usr/bin/env bash
# One I/O engine and offload setting: ping and a short TCP transfer, and the daemon reports the
# engine and offloads it was asked for.
# Usage: test_matrix.sh ENGINE on|off
source "$(dirname "$0")/lib.sh"
require_environment
engine=$1 offload=$2
lab_setup 64K
lab_up --io-engine "$engine" --offload "$offload"

[ "$(status_field a .volumes.engine)" = "$engine" ] || fail "A runs engine $(status_field a .volumes.engine), not $engine"
offloads=$(status_field a .interface.offloads)
if [ "$offload" = off ]; then [ "$offloads" = none ] || fail "offloads $offloads with --offload off"; fi
if [ "$offload" = on ]; then [[ "$offloads" == *tso4* ]] || fail "offloads '$offloads' with --offload on"; fi

ip netns exec "$NS_A" ping -c 3 -i 0.1 -W 2 "$ADDR_B" >/dev/null || fail "ping"
ip netns exec "$NS_B" iperf3 -s -1 -D -p 7004 >/dev/null
wait_until 5 "iperf3 server" ip netns exec "$NS_B" bash -c "ss -ltn | grep -q ':7004 '"
ip netns exec "$NS_A" iperf3 -c "$ADDR_B" -p 7004 -t 2 -J >"$E2E_RUN/iperf.json" || fail "iperf3"
gbps=$(jq '.end.sum_received.bits_per_second / 1e9' "$E2E_RUN/iperf.json")
note "engine $engine, offload $offload: $gbps Gbit/s"
jq -e '.end.sum_received.bytes > 0' "$E2E_RUN/iperf.json" >/dev/null || fail "no bytes received"
echo "PASS"
