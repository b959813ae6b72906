#!/usr/bin/env bash
# A heartbeat-grade vnicd keeps beating on a starved node: CPU hogs at normal priority on every
# core (two per core: one set per node) and a writer saturating the disk that holds the volumes,
# while pings every 10 ms and a steady UDP flow cross the link. With the real-time policy (the
# default, SCHED_RR) neither side's carrier may change, the peer never goes dead, and replies
# keep arriving (no gap over 1 s). The probes run SCHED_RR 99, as corosync does, so what they
# measure is the path through vnicd, not their own starvation. The same run with --realtime off is measured and printed, not
# asserted: it may or may not flap. Each phase prints one FIGURES line for docs/BENCHMARKS.md.
source "$(dirname "$0")/lib.sh"
require_environment
for tool in stress-ng fio; do command -v $tool >/dev/null || fail "$tool is not installed (scripts/install-deps.sh)"; done
window=${STARVATION_SECONDS:-12}
max_gap_ms=1000
lab_setup 64K
hogs=$(( $(nproc) * 2 ))
pps=200

# starve LABEL: one window of starvation with traffic; sets flaps_a, flaps_b, dead_seen, gap_ms,
# p99_ms, udp_missing, and prints the FIGURES line.
starve() {
  local label=$1 before_a before_b
  before_a=$(status_field a .counters.carrier_changes)
  before_b=$(status_field b .counters.carrier_changes)
  ip netns exec "$NS_A" chrt -r 99 "$UDP_PROBE" recv 7012 $((pps * window)) 3000 >"$E2E_RUN/udp-$label.json" 2>"$E2E_RUN/udp-$label.err" &
  local receiver=$!
  wait_until 5 "the UDP receiver" grep -q listening "$E2E_RUN/udp-$label.err"
  stress-ng --cpu "$hogs" --cpu-method matrixprod --timeout "$((window + 2))s" --quiet &
  local cpu_hog=$!
  # O_DIRECT writes, 16 in flight, to the file system that holds the volumes.
  fio --name=h2-disk-hog --filename="$E2E_VOL/disk-hog" --size=512M --rw=write --bs=1M --direct=1 \
    --ioengine=libaio --iodepth=16 --time_based --runtime="$((window + 2))" --output="$E2E_RUN/fio-$label.txt" &
  local disk_hog=$!
  sleep 1  # the hogs get going
  ip netns exec "$NS_B" chrt -r 99 "$UDP_PROBE" send "$ADDR_A" 7012 $((pps * window)) 200 $pps >/dev/null &
  local sender=$!
  ip netns exec "$NS_B" chrt -r 99 ping -D -i 0.01 -W 1 -w "$window" "$ADDR_A" >"$E2E_RUN/ping-$label.txt" 2>&1 || true
  # The peer's state every 100 ms would disturb what is measured; once the window is over,
  # "alive since" tells whether it was ever anything else during it.
  wait $sender || true
  wait $receiver || true
  wait $cpu_hog || true
  wait $disk_hog || true
  rm -f "$E2E_VOL/disk-hog"
  flaps_a=$(( $(status_field a .counters.carrier_changes) - before_a ))
  flaps_b=$(( $(status_field b .counters.carrier_changes) - before_b ))
  local alive_a alive_b
  alive_a=$(status_field a '.peer.since_ms / 1000 | floor')
  alive_b=$(status_field b '.peer.since_ms / 1000 | floor')
  dead_seen=0
  [ "$(status_field a .peer.state)" = alive ] && [ "$alive_a" -ge "$window" ] || dead_seen=1
  [ "$(status_field b .peer.state)" = alive ] && [ "$alive_b" -ge "$window" ] || dead_seen=1
  read -r sent replies gap_ms p99_ms < <(awk -f "$(dirname "$0")/ping_stats.awk" "$E2E_RUN/ping-$label.txt")
  udp_missing=$(jq .missing "$E2E_RUN/udp-$label.json" 2>/dev/null || echo "?")
  local disk_bw age_p99 age_max
  # vnicd's own view: how old frames were when A delivered them (since A started).
  age_p99=$(status_field a '.rx.delivery_age.p99_us / 1000 | floor')
  age_max=$(status_field a '.rx.delivery_age.max_us / 1000 | floor')
  disk_bw=$(grep -oE 'WRITE: bw=[^ ]+' "$E2E_RUN/fio-$label.txt" | head -1 | cut -d= -f2)
  note "$label: carrier changes A $flaps_a, B $flaps_b; peer went dead: $dead_seen; pings $replies/$sent,"
  note "        longest gap ${gap_ms} ms, p99 rtt ${p99_ms} ms; UDP $((pps * window)) sent, $udp_missing missing; disk hog $disk_bw;"
  note "        A's delivery age p99 ${age_p99} ms, max ${age_max} ms"
  echo "FIGURES $label hogs=$hogs window_s=$window carrier_changes_a=$flaps_a carrier_changes_b=$flaps_b peer_dead=$dead_seen" \
    "ping_sent=$sent ping_replies=$replies max_gap_ms=$gap_ms p99_rtt_ms=$p99_ms udp_missing=$udp_missing delivery_age_p99_ms=$age_p99 delivery_age_max_ms=$age_max disk_hog_bw=$disk_bw"
}

note "realtime on (the default): SCHED_RR, memory locked"
lab_up
for side in a b; do
  [ "$(status_field $side .process.scheduling)" = SCHED_RR ] || fail "vnicd $side is not SCHED_RR as root"
  pid=$(cat "$E2E_RUN/$side.pid")
  chrt -p "$pid" | grep -q "SCHED_RR" || fail "the kernel does not show vnicd $side as SCHED_RR: $(chrt -p "$pid")"
done
starve realtime_on
[ "$flaps_a" = 0 ] && [ "$flaps_b" = 0 ] || fail "carrier changed under starvation with realtime on (A $flaps_a, B $flaps_b)"
[ "$dead_seen" = 0 ] || fail "a peer was seen dead under starvation with realtime on"
[ "$replies" -gt 0 ] || fail "no ping reply under starvation with realtime on"
[ "${gap_ms%.*}" -le $max_gap_ms ] || fail "no reply for ${gap_ms} ms under starvation with realtime on (limit $max_gap_ms ms)"

note "realtime off: the same starvation, measured only"
stop_node a TERM
stop_node b TERM
lab_up --realtime off --lock-memory off
[ "$(status_field a .process.scheduling)" = SCHED_OTHER ] || fail "--realtime off still runs $(status_field a .process.scheduling)"
starve realtime_off
echo "PASS"
