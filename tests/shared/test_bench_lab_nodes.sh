#!/usr/bin/env bash
# `vnic-bench lab --nodes 3`: vnic as three nodes on one shared volume, measured between a and b
# while c looks on. The JSON holds every node's idle cost and their mean, what c paid during the
# a-b tests (and that it passed over a's and b's blocks rather than delivering them), and dead
# detection by a's peer state (a keeps carrier through c). Figures are checked to be present and
# sane, never against a speed. Bad --nodes values are refused with one line (tools label).
source "$(dirname "$0")/shared_lib.sh"
require_environment
command -v gnuplot >/dev/null || fail "gnuplot is not installed (scripts/install-deps.sh)"
BENCH=$VNIC_BUILD/tools/vnic-bench/vnic-bench
VNIC_LAB_SCRIPT=$(cd "$(dirname "$0")/../../tools/vnic-lab" && pwd)/vnic-lab
lab=vbn-${E2E_NAME: -8}
work=$E2E_RUN/bench
mkdir -p "$work"
cleanup_bench() {
  local status=$?
  VNIC_LAB=$lab "$VNIC_LAB_SCRIPT" down >/dev/null 2>&1 || true
  exit $status
}
trap cleanup_bench EXIT
check() { jq -e "$1" "$work/lab.json" >/dev/null || fail "$2 (jq: $1)"; }

note "vnic-bench lab --nodes 3 --duration 1 --json"
"$BENCH" lab --nodes 3 --duration 1 --idle-duration 2 --name "$lab" --port $((18000 + RANDOM % 500 * 4)) \
  --plot "$work/lab.svg" --json >"$work/lab.json" 2>"$work/lab.err" || { cat "$work/lab.err" >&2; fail "vnic-bench lab --nodes 3 failed"; }
check '.start.vnic_config.mode | startswith("shared LUN, 3 nodes")' "start.vnic_config.mode does not say shared, 3 nodes"
check '.end.idle | keys == ["a", "b", "c", "per_node"]' "idle does not hold every node and per_node"
check '[.end.idle[] | .ios_per_s > 0 and .state_reads_per_s > 0] | all' "a node's idle figures are missing"
check '(.end.idle.per_node.ios_per_s - ([.end.idle.a.ios_per_s, .end.idle.b.ios_per_s, .end.idle.c.ios_per_s] | add / 3)) | (. < 1e-9 and . > -1e-9)' \
  "per_node is not the mean of the nodes"
check '.end.paths.vnic.results.rr_idle.rtt.count > 0 and .end.paths.vnic.results.tcp_1stream.gbit_per_s > 0' \
  "the a-b tests over the shared LUN have no figures"
check '.end.bystanders.vnic.c.blocks_not_for_it > 0' "c did not pass over any of a's or b's blocks"
check '.end.bystanders.vnic.c.cpu_seconds >= 0 and .end.bystanders.vnic_offload_off.c.ios_per_s > 0' \
  "the bystander figures are incomplete"
check '.end.dead_detection.peer_dead_after_ms > 0 and .end.dead_detection.carrier_after == true' \
  "dead detection did not go by a's peer state, or a lost carrier with c alive"
ls /run/netns | grep -q "^$lab-" && fail "namespaces of the lab were left behind: $(ls /run/netns | grep "^$lab-")"
grep -q '<svg' "$work/lab.svg" || fail "no SVG plot"
echo "PASS"
