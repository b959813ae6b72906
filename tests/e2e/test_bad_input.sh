#!/usr/bin/env bash
# Every bad input gets one clear error naming what is wrong and a non-zero exit, and leaves no
# TAP and no control socket behind.
source "$(dirname "$0")/lib.sh"
require_environment
lab_setup 64K
sock=$(socket_of a)

# expect_refusal DESCRIPTION EXPECTED_TEXT vnicd-args...
expect_refusal() {
  local what=$1 expected=$2; shift 2
  local out=$E2E_RUN/refusal.log status=0
  ip netns exec "$NS_A" "$VNIC_BIN_VNICD" --ifname vnic0 --control-socket "$sock" "$@" >"$out" 2>&1 || status=$?
  [ $status -ne 0 ] || fail "$what: vnicd exited 0"
  local errors
  errors=$(grep -cE '^(critical|error):' "$out" || true)
  [ "$errors" = 1 ] || { cat "$out"; fail "$what: expected one error line, got $errors"; }
  grep -qF -- "$expected" "$out" || { cat "$out"; fail "$what: the error does not say '$expected'"; }
  if ip netns exec "$NS_A" ip link show vnic0 >/dev/null 2>&1 && [ "${keep_link:-0}" = 0 ]; then
    fail "$what: a vnic0 interface was left behind"
  fi
  [ ! -e "$sock" ] || fail "$what: the control socket was left behind"
  note "$what: $(grep -E '^(critical|error):' "$out")"
}

a=$E2E_VOL/a.vol
b=$E2E_VOL/b.vol
expect_refusal "missing send volume" "no such file" --send "$E2E_VOL/none.vol" --recv "$b"
truncate -s 16M "$E2E_VOL/zero.vol"
expect_refusal "unformatted send volume" "not formatted" --send "$E2E_VOL/zero.vol" --recv "$b"
expect_refusal "block size mismatch" "formatted with 65536-byte blocks, the configuration says 4096" \
  --send "$a" --recv "$b" --block-size 4096
expect_refusal "send and receive the same" "same volume" --send "$a" --recv "$a"
expect_refusal "bad CIDR" "address '10.77.0.300/24'" --send "$a" --recv "$b" --address 10.77.0.300/24
expect_refusal "dead_after too short" "at least 3 heartbeats" --send "$a" --recv "$b" --dead-after-ms 200
echo '{"send": "x", "recv": ' >"$E2E_RUN/bad.json"
expect_refusal "bad JSON" "not valid JSON" --config "$E2E_RUN/bad.json"
echo '{"send": "/a", "recv": "/b", "colour": "blue"}' >"$E2E_RUN/unknown.json"
expect_refusal "unknown config key" "unknown key 'colour'" --config "$E2E_RUN/unknown.json"
echo '{"send": "/a", "recv": "/b", "mtu": "big"}' >"$E2E_RUN/badvalue.json"
expect_refusal "bad config value" "'mtu': expected a whole number" --config "$E2E_RUN/badvalue.json"

if chattr +i "$a" 2>/dev/null; then
  expect_refusal "read-only send volume" "$a" --send "$a" --recv "$b"
  chattr -i "$a"
else
  note "read-only send volume: skipped, chattr +i is not supported here"
fi

ip netns exec "$NS_A" ip link add vnic0 type veth peer name vnic0-peer
keep_link=1 expect_refusal "interface name taken" "already in use" --send "$a" --recv "$b"
ip netns exec "$NS_A" ip -d link show vnic0 | grep -q veth || fail "the existing vnic0 was touched"

before=$(sha256sum "$a" | cut -d' ' -f1)
keep_link=1 expect_refusal "interface name taken leaves the volume alone" "already in use" --send "$a" --recv "$b"
[ "$(sha256sum "$a" | cut -d' ' -f1)" = "$before" ] || fail "a refused start changed the send volume"
echo "PASS"
