#!/usr/bin/env bash
# vnic-bench end to end. First one short `vnic-bench lab` run of two rounds (vnic with offloads on
# and off, a veth pair, a socat tunnel, each twice, interleaved; the storage floor, idle cost, dead
# detection): stdout holds only its JSON with every part present, the rounds fold into medians and
# per-round ratios, the CDF plot is valid SVG, and nothing of the lab is left behind.
# Then `server`, `ping` and `client` over a lab started with vnic-lab. Figures are checked to be
# present and positive, never against a speed.
source "$(dirname "$0")/lib.sh"
require_environment
command -v gnuplot >/dev/null || fail "gnuplot is not installed (scripts/install-deps.sh)"

BENCH=$VNIC_BUILD/tools/vnic-bench/vnic-bench
VNIC_LAB_SCRIPT=$(cd "$(dirname "$0")/../../tools/vnic-lab" && pwd)/vnic-lab
export VNIC_LAB_SCRIPT
lab=$E2E_NAME
lab2=$E2E_NAME-pc
work=$E2E_RUN
# Ports of our own: the leftover checks below look for processes by them.
port=$((17000 + RANDOM % 1000 * 4))
server_pid=

cleanup_bench() {
  local status=$?
  if [ -n "$server_pid" ]; then kill -KILL "$server_pid" 2>/dev/null || true; fi
  # Normally already gone; a failed run must still leave the machine clean.
  for name in "$lab" "$lab2"; do VNIC_LAB=$name "$VNIC_LAB_SCRIPT" down >/dev/null 2>&1 || true; done
  ip netns del "$lab-a" 2>/dev/null || true
  ip netns del "$lab-b" 2>/dev/null || true
  rm -rf "$work"
  exit $status
}
trap cleanup_bench EXIT
mkdir -p "$work"

# check JQ_FILTER WHAT: the filter must hold on the lab's JSON.
check() { jq -e "$1" "$work/lab.json" >/dev/null || fail "$2 (jq: $1)"; }

note "vnic-bench lab --duration 1 --rounds 2 --json"
"$BENCH" lab --duration 1 --rounds 2 --idle-duration 1 --name "$lab" --port $port --plot "$work/lab.svg" --json \
  >"$work/lab.json" 2>"$work/lab.err" || { cat "$work/lab.err" >&2; fail "vnic-bench lab failed"; }
tail -n 5 "$work/lab.err"

note "stdout is one JSON document and nothing else"
[ "$(jq -s length "$work/lab.json")" = 1 ] || fail "stdout holds more than one JSON value"
[ "$(head -c 1 "$work/lab.json")" = "{" ] || fail "stdout does not start with the JSON"
check 'keys_unsorted == ["start", "intervals", "end", "ratios"]' "top-level keys are not start, intervals, end, ratios"
check '.start.cpu_count > 0 and (.start.kernel | length) > 0 and .start.options.duration_s == 1' "start is incomplete"
check '.start.vnic_config.block_size == 65536 and (.start.vnic_config.engine | length) > 0' "start.vnic_config is incomplete"
for round in 1 2; do
  grep -q "^vnic-bench lab: round $round/2: \\[socat tunnel\\] " "$work/lab.err" ||
    fail "no progress line for the socat path in round $round on stderr"
done

note "every path has a positive TCP rate and request/response count"
for path in vnic vnic_offload_off veth socat; do
  r=".end.paths.$path.results"
  check "$r.tcp_1stream.gbit_per_s > 0 and $r.tcp_4streams.gbit_per_s > 0" "$path: no TCP rate"
  check "$r.udp_64.sent_frames_per_s > 0 and $r.udp_1472.received_frames_per_s > 0" "$path: no UDP frame rate"
  check "$r.rr_idle.rtt.count > 0 and $r.rr_load.rtt.count > 0 and $r.rr_idle.rtt.p99_us > 0" "$path: no round trips"
  check "$r.tcp_1stream.system_cpu_s_per_gbit > 0" "$path: no system CPU per Gbit"
  check "[.intervals[] | select(.path == \"$path\") | .test] | length >= 6" "$path: its tests are missing from intervals"
  check "[.intervals[] | select(.path == \"$path\" and .test == \"tcp_1stream\") | .round] == [1, 2]" \
    "$path: tcp_1stream is not in intervals once per round"
  # Two rounds: each figure is the mean of the two, the histogram holds both rounds' samples.
  check "$r.tcp_1stream.gbit_per_s == ([.end.paths.$path.rounds[].tcp_1stream.gbit_per_s] | add / 2)" \
    "$path: the TCP rate is not the median of its rounds"
  check "($r.rr_idle.histogram.counts | add) == ([.end.paths.$path.rounds[].rr_idle.rtt.count] | add)" \
    "$path: the RTT histogram does not hold both rounds' samples"
  check "[.end.paths.$path.rounds[] | has(\"rr_idle\") and (.rr_idle | has(\"histogram\") | not)] == [true, true]" \
    "$path: the per-round figures are missing or carry histograms"
done
check '.start.options.rounds == 2 and .end.round_order == [["vnic", "vnic_offload_off", "veth", "socat"], ["veth", "socat", "vnic_offload_off", "vnic"]]' \
  "the rounds did not alternate which path goes first"
check '.end.ratios_by_round | length == 2' "ratios_by_round does not hold both rounds"
check '.ratios.tcp_1stream.vs_veth == ([.end.ratios_by_round[].tcp_1stream.vs_veth] | add / 2)' \
  "ratios.tcp_1stream.vs_veth is not the median of the rounds' own ratios"
check '.end.paths.vnic.results.tcp_1stream.transport_cpu_s_per_gbit > 0' "vnic: no vnicd CPU per Gbit"
check '.end.paths.socat.results.tcp_1stream.transport_cpu_s_per_gbit > 0' "socat: no socat CPU per Gbit"
check '.end.paths.veth.results.tcp_1stream.transport_cpu_s_per_gbit == null' "veth has no transport process to measure"
check '.end.paths.vnic.transport_pids | length == 2' "vnic: the two vnicd pids are not reported"

note "ratios, floor, idle, dead detection, volume figures"
for key in tcp_1stream tcp_4streams udp_64_received_fps udp_1472_received_fps rr_p50_idle rr_p99_idle rr_p99_load; do
  check ".ratios.$key | has(\"vs_veth\") and has(\"vs_socat\")" "ratios.$key is missing"
  check ".ratios.offload_off.$key | has(\"vs_veth\") and has(\"vs_socat\")" "ratios.offload_off.$key is missing"
done
check '.ratios.tcp_1stream.vs_veth > 0 and .ratios.tcp_1stream.vs_socat > 0' "ratios.tcp_1stream is not computed"
check '.ratios.rr_p99_idle.vs_floor > 0' "ratios.rr_p99_idle.vs_floor is not computed"
check '.end.floor.write_read.count > 0 and (.end.floor.histogram.counts | add) == .end.floor.write_read.count' \
  "the storage floor has no samples"
check '.end.idle.a.ios_per_s > 0 and .end.idle.b.cpu_percent_of_one_core >= 0' "idle figures are missing"
check '.end.dead_detection.carrier_off_after_ms > 0 and .end.dead_detection.dead_after_ms == 1000' \
  "dead detection is missing"
check '.end.vnic_volume.offload_on.both.volume_bytes_per_payload_byte > 0' "vnic volume figures are missing"
check '.end.vnic_volume.offload_off.both.block_fill_ratio > 0' "vnic volume figures (offloads off) are missing"
note "$(jq -r '"vnic TCP \(.end.paths.vnic.results.tcp_1stream.gbit_per_s) Gbit/s, veth \(.end.paths.veth.results.tcp_1stream.gbit_per_s); dead detection \(.end.dead_detection.carrier_off_after_ms) ms"' "$work/lab.json")"

note "the plot is an SVG"
check ".end.plot == \"$work/lab.svg\"" "end.plot does not name the plot"
[ -s "$work/lab.svg" ] || fail "no plot at $work/lab.svg"
head -c 300 "$work/lab.svg" | grep -q '<svg' || fail "the plot is not SVG"
tail -c 100 "$work/lab.svg" | grep -q '</svg>' || fail "the SVG is cut short"
if command -v python3 >/dev/null; then
  python3 -c 'import sys, xml.dom.minidom; xml.dom.minidom.parse(sys.argv[1])' "$work/lab.svg" || fail "the SVG is not well-formed XML"
fi

note "nothing of the lab is left behind"
ip netns list | grep -q "^$lab-" && fail "namespaces of the lab are left: $(ip netns list | grep "^$lab-")"
[ ! -e "/run/$lab" ] || fail "/run/$lab is left"
[ ! -e "/var/tmp/$lab" ] || fail "/var/tmp/$lab is left"
pgrep -f -- "/run/$lab/" >/dev/null && fail "a vnicd of the lab still runs"
pgrep -f -- "--port $port" >/dev/null && fail "a vnic-bench server of the lab still runs"
pgrep -f -- "--port $((port + 1))" >/dev/null && fail "an iperf3 of the lab still runs"
pgrep -f -- ":$((port + 2))" >/dev/null && fail "a socat of the lab still runs"

note "server, ping and client over a lab from vnic-lab"
VNIC_LAB=$lab2 "$VNIC_LAB_SCRIPT" up >/dev/null
ip netns exec "$lab2-b" "$BENCH" server --bind 10.77.0.2 --port $port >"$work/server.log" 2>&1 &
server_pid=$!
wait_until 15 "the vnic-bench server" grep -q ready "$work/server.log"
ip netns exec "$lab2-a" "$BENCH" ping 10.77.0.2 --port $port --count 300 --json >"$work/ping.json" ||
  fail "vnic-bench ping failed"
jq -e '.rtt.count + .rtt.lost == 300 and .rtt.count > 0 and .rtt.p50_us > 0 and .rtt.p999_us >= .rtt.p99_us' \
  "$work/ping.json" >/dev/null || fail "ping: $(jq -c .rtt "$work/ping.json")"
ip netns exec "$lab2-a" "$BENCH" client 10.77.0.2 --port $port --duration 1 --json \
  --transport-pid "$(cat "/run/$lab2/a.pid")" --transport-pid "$(cat "/run/$lab2/b.pid")" >"$work/client.json" ||
  fail "vnic-bench client failed"
jq -e '.results | (.tcp_1stream.gbit_per_s > 0) and (.tcp_1stream.transport_cpu_s_per_gbit > 0)
  and (.udp_64.sent_frames_per_s > 0) and (.rr_idle.rtt.count > 0) and (.rr_load.rtt.count > 0)' \
  "$work/client.json" >/dev/null || fail "client: $(jq -c '.results | map_values(del(.histogram))' "$work/client.json")"
kill -TERM $server_pid
status=0
wait $server_pid || status=$?
server_pid=
[ $status = 0 ] || fail "vnic-bench server exited $status on SIGTERM"
sleep 0.2
pgrep -f -- "--port $((port + 1))" >/dev/null && fail "the server's iperf3 outlived it"
VNIC_LAB=$lab2 "$VNIC_LAB_SCRIPT" down
echo "PASS"
