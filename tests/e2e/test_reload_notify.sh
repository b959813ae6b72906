#!/usr/bin/env bash
# SIGHUP reloads what can change live (timers, log level, txqueuelen) and keeps the running configuration when the file is bad;
# sd_notify tells the service manager READY=1 and, on SIGTERM, STOPPING=1.
source "$(dirname "$0")/lib.sh"
require_environment
lab_setup 64K

# A stand-in for systemd's notification socket.
notify=$E2E_RUN/notify.sock
socat -u UNIX-RECVFROM:"$notify",fork OPEN:"$E2E_RUN/notify.log",creat,append &
socat_pid=$!
wait_until 5 "the notify socket" test -S "$notify"

config=$E2E_RUN/a.json
cat >"$config" <<JSON
{"send": "$E2E_VOL/a.vol", "recv": "$E2E_VOL/b.vol", "heartbeat_interval_ms": 100, "dead_after_ms": 1000}
JSON
NOTIFY_SOCKET=$notify start_node a --config "$config"
wait_until 5 "READY=1" grep -q "READY=1" "$E2E_RUN/notify.log"

note "reload with new timers"
cat >"$config" <<JSON
{"send": "$E2E_VOL/a.vol", "recv": "$E2E_VOL/b.vol", "heartbeat_interval_ms": 50, "dead_after_ms": 600,
 "log_level": "debug", "tx_queue_len": 300}
JSON
kill -HUP "$(cat "$E2E_RUN/a.pid")"
wait_until 5 "the reload" grep -q "SIGHUP: reloaded log level debug, heartbeat 50 ms, dead after 600 ms" "$E2E_RUN/a.log"
[ "$(ip netns exec "$NS_A" cat /sys/class/net/vnic0/tx_queue_len)" = 300 ] || fail "SIGHUP did not apply txqueuelen 300"

note "a bad file is refused and the running configuration kept"
echo '{"send": ' >"$config"
kill -HUP "$(cat "$E2E_RUN/a.pid")"
wait_until 5 "the refusal" grep -q "SIGHUP: keeping the running configuration" "$E2E_RUN/a.log"
status_json a >/dev/null || fail "vnicd stopped answering after a bad reload"

note "SIGTERM: STOPPING=1 and a clean exit"
stop_node a TERM
wait_until 5 "STOPPING=1" grep -q "STOPPING=1" "$E2E_RUN/notify.log"
grep -q "stopped cleanly" "$E2E_RUN/a.log" || fail "no clean stop logged"
kill "$socat_pid" 2>/dev/null || true
echo "PASS"
