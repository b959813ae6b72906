#!/usr/bin/env bash
# The harness itself, on a quick guest (kernel + busybox initramfs): vm_exec passes the script's
# stdout, stderr and exit status; a raw disk opened by the guest (cache=none) and by the host
# with O_DIRECT is coherent both ways, which a host vnicd and a guest sharing a volume rely on;
# a host directory is shared; vm_teardown leaves no qemu behind. (A quick guest has no root disk:
# its first --disk is /dev/vda.)
# A run of its own: the fixture's guests (VM_RUN, VM_NS from CTest) are not this test's to tear down.
VM_RUN=${VM_RUN:-/tmp/vnicvm-$$}-quick
VM_NS=${VM_NS:-vnicvm-$$}-q
source "$(dirname "$0")/vm_lib.sh"
vm_require
vm_cleanup_on_exit

disk=$VM_RUN/shared.img
mkdir -p "$VM_RUN/share"
truncate -s 16M "$disk"
echo "from the host" >"$VM_RUN/share/hello"
t0=$SECONDS
vm_boot q1 --quick --disk "$disk" --share "$VM_RUN/share"
vm_wait q1 90
vm_say "quick guest up in $((SECONDS - t0)) s"

out=$(vm_exec q1 'echo out; echo err >&2; exit 7' 2>"$VM_RUN/err") && status=0 || status=$?
[ "$out" = out ] || vm_die "vm_exec: stdout '$out', expected 'out'"
[ "$(cat "$VM_RUN/err")" = err ] || vm_die "vm_exec: stderr '$(cat "$VM_RUN/err")', expected 'err'"
[ $status -eq 7 ] || vm_die "vm_exec: status $status, expected 7"
[ "$(vm_exec q1 'cat /mnt/host/hello')" = "from the host" ] || vm_die "the share is not at /mnt/host"

# Host writes with O_DIRECT, the guest reads with O_DIRECT, and the other way round, at an
# offset the other side has read before (so a cache anywhere would show the old bytes).
pattern() { head -c 4096 /dev/zero | tr '\0' "$1"; }
vm_exec q1 'dd if=/dev/vda bs=4096 count=1 skip=100 iflag=direct 2>/dev/null | md5sum' >/dev/null
pattern A | dd of="$disk" bs=4096 seek=100 oflag=direct conv=notrunc 2>/dev/null
[ "$(vm_exec q1 'dd if=/dev/vda bs=4096 count=1 skip=100 iflag=direct 2>/dev/null | md5sum | cut -c1-32')" = \
  "$(pattern A | md5sum | cut -c1-32)" ] || vm_die "the guest did not read what the host wrote with O_DIRECT"
dd if="$disk" bs=4096 count=1 skip=200 iflag=direct 2>/dev/null >/dev/null
vm_exec q1 "head -c 4096 /dev/zero | tr '\\0' B | dd of=/dev/vda bs=4096 seek=200 oflag=direct 2>/dev/null"
[ "$(dd if="$disk" bs=4096 count=1 skip=200 iflag=direct 2>/dev/null | md5sum)" = "$(pattern B | md5sum)" ] ||
  vm_die "the host did not read with O_DIRECT what the guest wrote"

pid=$(cat "$VM_RUN/q1/qemu.pid")
vm_teardown
! kill -0 "$pid" 2>/dev/null || vm_die "qemu $pid still runs after vm_teardown"
echo PASS
