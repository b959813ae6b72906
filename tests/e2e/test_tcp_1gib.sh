#!/usr/bin/env bash
# A 1 GiB TCP transfer through vnic with a content check (SHA-256 of what was sent and received).
source "$(dirname "$0")/lib.sh"
require_environment
lab_setup 64K
lab_up

size=${E2E_TCP_BYTES:-1073741824}
ip netns exec "$NS_B" bash -c "socat -u TCP-LISTEN:7002,reuseaddr - | sha256sum >'$E2E_RUN/received.sha'" &
receiver=$!
wait_until 5 "the TCP receiver" ip netns exec "$NS_B" bash -c "ss -ltn | grep -q ':7002 '"
start=$(now_ms)
head -c "$size" /dev/urandom | tee >(sha256sum >"$E2E_RUN/sent.sha") |
  ip netns exec "$NS_A" socat -u - "TCP:$ADDR_B:7002" || fail "sending failed"
wait $receiver || fail "receiver failed"
elapsed=$(( $(now_ms) - start ))
# The sender-side sha256sum runs in a process substitution: wait for its line.
wait_until 30 "the sender's checksum" grep -q . "$E2E_RUN/sent.sha"
sent=$(cut -d' ' -f1 "$E2E_RUN/sent.sha")
got=$(cut -d' ' -f1 "$E2E_RUN/received.sha")
note "$size bytes in $elapsed ms; sent $sent, received $got"
[ -n "$sent" ] && [ "$sent" = "$got" ] || fail "content differs"
echo "PASS"
