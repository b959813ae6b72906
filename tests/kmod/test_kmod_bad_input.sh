#!/usr/bin/env bash
# vnic.ko's configuration refuses bad input with one line naming what is wrong, and a refused
# `ip link set up` leaves nothing behind: no device held open, nothing written to the volumes, the
# device down and ready to be configured again.
source "$(dirname "$0")/kmod_lib.sh"
KMOD_TOOLS=("$LAB_VNICCTL")
kmod_setup

IP=$(guest_tool ip)
SYS=/sys/class/net/vnic0/vnic
guest_insmod
gx "$IP link add vnic0 type vnic" || fail "ip link add vnic0 type vnic (no attributes) failed"

# refused_write ATTRIBUTE VALUE: the write fails, the log names the attribute, the value stays.
refused_write() {
  local before
  before=$(gx "cat $SYS/$1")
  gx "echo '$2' > $SYS/$1" 2>/dev/null && fail "$1 accepted '$2'"
  gx "dmesg | tail -n 1" | grep -q "vnic0: $1: " || fail "no log line naming $1 for '$2'"
  [ "$(gx "cat $SYS/$1")" = "$before" ] || fail "$1 changed after a refused write"
  note "$1 '$2' refused: $(gx "dmesg | tail -n 1" | sed 's/^\[[^]]*\] //')"
}
refused_write slot 64
refused_write peer_slot -1
refused_write block_size 5000
refused_write heartbeat_interval_ms 5
refused_write dead_after_ms 10
refused_write poll_min_us abc
refused_write send_device relative/path

# refused_up WORDS...: `ip link set up` fails, last_error and the log carry WORDS, vnic0 stays down.
refused_up() {
  gx "$IP link set vnic0 up" 2>/dev/null && fail "vnic0 came up although: $*"
  local error
  error=$(gx "cat $SYS/last_error")
  [[ $error == *"$*"* ]] || fail "last_error is '$error', expected it to say '$*'"
  gx "dmesg | tail -n 1" | grep -qF "$*" || fail "the kernel log does not say '$*'"
  gx "cat /sys/class/net/vnic0/operstate" | grep -qx down || fail "vnic0 is not down after a refused up"
  note "up refused: $error"
}
set_attr() { gx "echo '$2' > $SYS/$1" || fail "could not set $1 to $2"; }

refused_up "send_device is not set"
set_attr send_device /dev/vdb
refused_up "recv_device is not set"
set_attr recv_device /dev/vda
set_attr dead_after_ms 200
refused_up "dead_after_ms 200 is less than 3 heartbeat intervals"
set_attr dead_after_ms 1000
set_attr send_device /dev/nonexistent
refused_up "send_device /dev/nonexistent: cannot open it for writing"
set_attr send_device /dev/ram0
refused_up "send_device /dev/ram0: not formatted (all zeros)"
set_attr send_device /dev/vda
refused_up "recv_device /dev/vda is the send_device"
gx "$(guest_tool vnicctl) format /dev/ram1 --slots 2 --block-size 4K >/dev/null" || fail "vnicctl format of a shared LUN in the guest failed"
set_attr send_device /dev/ram1
refused_up "formatted as a shared LUN (2 slots)"
note "a shared LUN is given as volume, alone, and must be one"
set_attr volume /dev/ram1
refused_up "volume /dev/ram1 excludes send_device and recv_device"
set_attr send_device ""
set_attr recv_device ""
set_attr volume /dev/vdb
refused_up "volume /dev/vdb: formatted as a mirrored pair's volume (1 slot)"
set_attr volume /dev/ram1
set_attr slot 5
refused_up "slot 5 does not exist on volume /dev/ram1 (2 slots)"
set_attr slot 0
gx "$IP link set vnic0 up" || fail "vnic0 did not take free slot 0 of the shared LUN /dev/ram1"
[ "$(gx "cat $SYS/peers")" = "slot 1 unknown" ] || fail "the shared LUN's peers are not slot 1 unknown: $(gx "cat $SYS/peers")"
gx "$IP link set vnic0 down" || fail "could not bring vnic0 down"
set_attr volume ""
set_attr recv_device /dev/vda
set_attr send_device /dev/vdb
set_attr block_size 4096
refused_up "block_size 4096: send_device /dev/vdb is formatted with 65536-byte blocks"
set_attr block_size 0

# Nothing was written by any refused up: our slot's state record is still all zeros.
[ -z "$(dd if="$(lab_volume b)" bs=4096 skip=1 count=1 status=none | tr -d '\0' | head -c 1)" ] ||
  fail "a refused up wrote a state record on the send volume"

note "the corrected configuration comes up; a second device cannot take the same send volume"
gx "$IP link set vnic0 up" || fail "vnic0 did not come up once configured"
[ "$(gx "cat $SYS/last_error")" = "" ] || fail "last_error not cleared by a good up"
[ "$(gx "cat $SYS/peer_state")" = unknown ] || fail "peer state is not unknown with no peer running"
gx "echo 200 > $SYS/heartbeat_interval_ms" 2>/dev/null && fail "configuration changed while up"
gx "dmesg | tail -n 1" | grep -q "configuration can change only while the device is down" || fail "no log line for a write while up"
gx "$IP link add vnic1 type vnic && echo /dev/vdb > /sys/class/net/vnic1/vnic/send_device && echo /dev/vda > /sys/class/net/vnic1/vnic/recv_device" ||
  fail "could not configure vnic1"
gx "$IP link set vnic1 up" 2>/dev/null && fail "vnic1 took vnic0's send volume"
gx "cat /sys/class/net/vnic1/vnic/last_error" | grep -q "send_device /dev/vdb: cannot open it for writing (error -16)" ||
  fail "vnic1's refusal does not name the busy send volume"
note "down releases the volumes: vnic1 takes them"
gx "$IP link set vnic0 down && $IP link set vnic1 up" || fail "vnic1 could not take the send volume vnic0 released"
[ -n "$(dd if="$(lab_volume b)" bs=4096 skip=1 count=1 status=none | tr -d '\0' | head -c 1)" ] ||
  fail "no state record written by a good up"

note "a receive volume not formatted yet is waited for (no-volume), and taken once formatted"
gx "$(guest_tool vnicctl) format /dev/ram2 --block-size 4K >/dev/null && $IP link add vnic2 type vnic &&
    echo /dev/ram2 > /sys/class/net/vnic2/vnic/send_device && echo /dev/ram3 > /sys/class/net/vnic2/vnic/recv_device &&
    $IP link set vnic2 up" || fail "vnic2 did not come up with an unformatted receive volume"
[ "$(gx cat /sys/class/net/vnic2/vnic/peer_state)" = no-volume ] || fail "vnic2's peer is not no-volume"
gx "$(guest_tool vnicctl) format /dev/ram3 --block-size 4K >/dev/null" || fail "could not format /dev/ram3"
lab_wait_until 5 "vnic2 to find its receive volume formatted" gx "grep -qx unknown /sys/class/net/vnic2/vnic/peer_state"
gx "$IP link del vnic0 && $IP link del vnic1 && $IP link del vnic2 && rmmod vnic" || fail "could not delete the devices and unload"
echo "PASS"
