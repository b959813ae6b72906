#!/usr/bin/env bash
# The vm tests' shared cluster (CTest fixture vm_nodes): `fixture.sh up` builds (or finds cached)
# the guest image and the .deb, exports one LUN over iSCSI from the host, boots n1 and n2, logs
# both in, installs vnic with apt on each, formats the LUN once from n1 (as an admin would), writes
# /etc/vnic/vnic0.json and runs `systemctl enable --now vnicd@vnic0`, and returns with the guests
# running and vnic0 carrying on both. `fixture.sh down` tears it all down. `fixture.sh image`
# only builds (or finds) the image and the .deb. Timings go to the output.
source "$(dirname "$0")/vm_lib.sh"
vm_require

reaper_pidfile=${VM_RUN}.reaper

stop_reaper() {
  [ -f "$reaper_pidfile" ] || return 0
  kill "$(cat "$reaper_pidfile")" 2>/dev/null || true
  rm -f "$reaper_pidfile"
}

# If CTest dies (Ctrl-C, a timeout) before the cleanup test runs, the guests would run on and
# hold two cores: a watcher tears everything down once the process that ran us is gone.
start_reaper() {
  local parent=$PPID
  setsid bash -c "while kill -0 $parent 2>/dev/null; do sleep 5; done
    source '$VM_LIB_DIR/vm_lib.sh'; vm_teardown; rm -f '$reaper_pidfile'" \
    </dev/null >/dev/null 2>&1 &
  echo $! >"$reaper_pidfile"
}

up() {
  stop_reaper
  vm_teardown
  trap 'status=$?; [ $status -eq 0 ] || vm_teardown; exit $status' EXIT
  local t0=$SECONDS step=$SECONDS
  vm_image
  vm_say "image: $((SECONDS - step)) s"; step=$SECONDS
  local share=$VM_RUN/share
  local deb
  deb=$(vm_build_deb "$share")
  vm_say "package $(basename "$deb"): $((SECONDS - step)) s"; step=$SECONDS
  # LUN 1: the shared LUN of vnic0; LUNs 2 and 3: a mirrored pair's two volumes for vnic1
  # (test_mirrored_pair.sh), where one file behind one target plays the array's mirror.
  truncate -s 64M "$VM_RUN/lun1.img"
  truncate -s 16M "$VM_RUN/lun2.img" "$VM_RUN/lun3.img"
  vm_target_up "$VM_RUN/lun1.img" "$VM_RUN/lun2.img" "$VM_RUN/lun3.img"
  local name
  for name in "${VM_NODES[@]}"; do vm_boot "$name" --lan "$(vm_node_number "$name")" --share "$share"; done
  for name in "${VM_NODES[@]}"; do vm_wait "$name"; done
  vm_say "boot: $((SECONDS - step)) s"; step=$SECONDS
  # Both guests at once: each runs on a core of its own.
  local pids=()
  for name in "${VM_NODES[@]}"; do
    (vm_iscsi_login "$name" && vm_install_deb "$name" "/mnt/host/$(basename "$deb")") &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid" || exit 1; done
  vm_say "iSCSI login and apt-get install: $((SECONDS - step)) s"; step=$SECONDS
  vm_exec n1 "vnicctl format $(vm_lun_path 1) --slots 4 --block-size 64K --label vm-lun" ||
    vm_die "vnicctl format of the LUN failed on n1"
  for name in "${VM_NODES[@]}"; do
    vm_vnic_config "$name" vnic0 "$(vm_lun_path 1)" "$(vm_node_slot "$name")" "$(vm_vnic_addr "$name")/24"
    vm_exec "$name" "systemctl enable --now vnicd@vnic0 && ip link set vnic0 up" ||
      { vm_journal "$name" vnicd@vnic0 >&2; vm_die "$name: systemctl enable --now vnicd@vnic0 failed"; }
  done
  for name in "${VM_NODES[@]}"; do
    vm_wait_carrier "$name" 1 30 || { vm_journal "$name" vnicd@vnic0 >&2; vm_die "$name: no carrier on vnic0 within 30 s"; }
  done
  vm_say "vnicd@vnic0 up and carrying on both: $((SECONDS - step)) s; fixture total $((SECONDS - t0)) s"
  start_reaper
}

image() {
  local t0=$SECONDS
  vm_image
  vm_say "image: $((SECONDS - t0)) s"
  t0=$SECONDS
  mkdir -p "$VM_CACHE"
  vm_say "package $(basename "$(vm_build_deb "$VM_CACHE/last-deb")"): $((SECONDS - t0)) s"
}

down() {
  stop_reaper
  vm_teardown
}

case ${1:-} in
  image) image ;;
  up) up ;;
  down) down ;;
  *) echo "usage: fixture.sh image|up|down" >&2; exit 2 ;;
esac
