#!/usr/bin/env bash
# Four nodes on one loop device: a numbered, checksummed UDP stream (udp_probe) between every
# ordered pair, all twelve at once. None delivers a corrupt, duplicated or reordered datagram; no
# reader loses a block; every missing datagram is one the daemons (or the receiving kernels)
# counted as dropped (shared_lib.sh: udp_streams_check); and where nothing was dropped, every node
# consumed every block every other node wrote (delivered, or passed over as not for it).
source "$(dirname "$0")/shared_lib.sh"
require_environment
command -v losetup >/dev/null || skip "losetup is not installed"
COUNT=${COUNT:-2000}
PPS=${PPS:-300}
shared_setup 4 loop
lab_up
ping_all

note "12 UDP streams of $COUNT datagrams (64-1400 bytes, $PPS/s each, $((12 * PPS))/s in all), every ordered pair at once"
udp_streams_start $COUNT $PPS 64 1400 $(lab_sides)
udp_streams_check
for side in $(lab_sides); do
  [ "$(lost_blocks $side)" = 0 ] || fail "$side lost or skipped blocks: $(status_json $side | jq -c '[.peers[] | {slot, rx}]')"
  echo "$side: $(status_json $side | jq -c '{tx: .tx.frames, drops: (.drops | with_entries(select(.value > 0))), peers: [.peers[] | {slot, state, frames: .rx.frames}]}')"
done
note "received $UDP_RECEIVED of $((12 * COUNT)), missing $UDP_MISSING; counted drops on all nodes: $UDP_DROPS"
if [ "$UDP_DROPS" = 0 ]; then
  [ "$UDP_MISSING" = 0 ] || fail "$UDP_MISSING datagrams missing, and no node counted a drop"
  blocks_all_consumed $(lab_sides)
  note "every node consumed every block of every other node"
fi
echo "PASS"
