# Pacemaker on the cluster lab (cluster_lib.sh): pacemakerd on top of each node's corosync, in
# the node's namespace with its own /var/lib/pacemaker, /var/log/pacemaker and /run (a mount
# namespace of its own, as corosync has). The tools (crm_mon, crm_resource, crm_attribute,
# cibadmin, stonith_admin) run in the node's namespace and reach that node's daemons: libqb's IPC
# sockets are abstract, and abstract sockets belong to a network namespace; its ring buffers in
# /dev/shm are named by pid, so the nodes can share /dev/shm.
# Sourced by test_pacemaker_*.sh.
E2E_SUBNET=${E2E_SUBNET:-32}  # vnic0 10.77.32.0/24, the LAN 10.77.33.0/24
source "$(dirname "${BASH_SOURCE[0]}")/cluster_lib.sh"

PCMK_DUMMY_AGENT=/usr/lib/ocf/resource.d/pacemaker/Dummy

require_pacemaker() {
  require_corosync
  require_cluster pacemakerd crm_mon crm_resource crm_attribute cibadmin stonith_admin
  [ -x "$PCMK_DUMMY_AGENT" ] || skip "$PCMK_DUMMY_AGENT is missing (Debian package pacemaker-resource-agents)"
  id hacluster >/dev/null 2>&1 || skip "user hacluster is missing (Debian package pacemaker-common)"
}

pcmk_dir() { echo "$LAB_VOL/pacemaker-$1"; }
pcmk_pid() { cat "$(pcmk_dir "$1")/pid" 2>/dev/null; }

# pacemaker_start SIDE: pacemakerd (which starts the other daemons) in SIDE's namespace, in a
# mount namespace where /var/lib/pacemaker and /var/log/pacemaker are SIDE's own directories
# and /run a private tmpfs (the Dummy agent keeps its state in /run/resource-agents).
pacemaker_start() {
  local side=$1 dir
  dir=$(pcmk_dir "$side")
  mkdir -p "$dir"/lib/{cib,pengine,blackbox,cores} "$dir/log"
  chown -R hacluster:haclient "$dir/lib" "$dir/log"
  chmod 750 "$dir"/lib/*
  lab_exec "$side" unshare -m --propagation private sh -c '
      mount -t tmpfs -o size=16m,mode=755 pcmk-run /run &&
      mount --bind "$1/lib" /var/lib/pacemaker &&
      mount --bind "$1/log" /var/log/pacemaker &&
      PCMK_logfile="$1/pacemaker.log" PCMK_logfacility=none exec pacemakerd' sh "$dir" \
    </dev/null >>"$dir/pacemakerd.log" 2>&1 &
  echo $! >"$dir/pid"
}

# pacemaker_stop SIDE: a clean shutdown (pacemakerd --shutdown), at most 30 s, then kill -9 of
# whatever of it is left.
pacemaker_stop() {
  local side=$1 pid children
  pid=$(pcmk_pid "$side") || return 0
  [ -n "$pid" ] || return 0
  lab_exec "$side" timeout 30 pacemakerd --shutdown >/dev/null 2>&1 || true
  for _ in $(seq 1 600); do lab_running "$pid" || break; sleep 0.05; done
  if lab_running "$pid"; then
    children=$(pgrep -P "$pid" || true)
    kill -KILL "$pid" $children 2>/dev/null || true
  fi
  rm -f "$(pcmk_dir "$side")/pid"
}

# crm_mon's XML on SIDE (one element per line).
pcmk_status() { lab_exec "$1" crm_mon -1 --output-as=xml 2>/dev/null; }
# xml_attr ELEMENT_PATTERN ATTRIBUTE < XML: ATTRIBUTE of the first line matching ELEMENT_PATTERN.
xml_attr() { grep -m1 -E "$1" | sed -n "s/.* $2=\"\\([^\"]*\\)\".*/\\1/p"; }

# pcmk_view SIDE: one line of facts from SIDE's crm_mon, e.g.
#   dc=node-a node-a=online node-b=online dummy=node-a
# "online" is online="true" and unclean="false"; dummy= lists the nodes it runs on.
pcmk_view() {
  local xml node state where
  xml=$(pcmk_status "$1") || { echo "crm_mon-failed"; return; }
  printf 'dc=%s' "$(xml_attr '<current_dc ' name <<<"$xml")"
  for node in node-a node-b; do
    state=$(grep -m1 "<node name=\"$node\" id=" <<<"$xml" | grep -q 'online="true".*unclean="false"' && echo online || echo NOT-online)
    printf ' %s=%s' "$node" "$state"
  done
  where=$(sed -n '/<resource id="dummy"/,/<\/resource>/s/.*<node name="\([^"]*\)".*/\1/p' <<<"$xml" | sort | paste -sd, -)
  printf ' dummy=%s\n' "${where:-stopped}"
}

# The resource's operations as the cluster recorded them (start, monitor, stop, with call ids):
# any restart or move adds lines.
pcmk_dummy_history() {
  pcmk_status "$1" | sed -n '/<resource_history id="dummy"/,/<\/resource_history>/p' |
    sed -n 's/.*call="\([0-9]*\)" task="\([a-z_]*\)".*/\2#\1/p' | grep -v '^monitor#' | paste -sd' ' -
}

pcmk_both_online() { local side; for side in a b; do [[ $(pcmk_view $side) == dc=node-?\ node-a=online\ node-b=online* ]] || return 1; done; }
pcmk_dummy_placed() { [[ $(pcmk_view a) == *" dummy=node-"? ]]; }

# pacemaker_up: Pacemaker on both nodes (corosync already up), stonith off, one Dummy resource;
# returns once both nodes are online, a DC is elected and the resource runs on one node.
pacemaker_up() {
  require_pacemaker
  pacemaker_start a
  pacemaker_start b
  wait_until 90 "Pacemaker on both nodes to be online with a DC" pcmk_both_online
  # No fence devices in the lab. Quorum: two_node keeps both nodes quorate, so the default
  # no-quorum-policy (stop) never applies here.
  lab_exec a crm_attribute --type crm_config --name stonith-enabled --update false
  lab_exec a cibadmin --create --scope resources --xml-text \
    '<primitive id="dummy" class="ocf" provider="pacemaker" type="Dummy">
       <operations><op id="dummy-monitor-5s" name="monitor" interval="5s"/></operations>
     </primitive>'
  wait_until 30 "the Dummy resource to start" pcmk_dummy_placed
}

# fail() prints dump_logs, and the EXIT trap runs cleanup: both learn about Pacemaker.
eval "without_pacemaker_$(declare -f dump_logs)"
dump_logs() {
  without_pacemaker_dump_logs
  local side log
  for side in a b; do
    log=$(pcmk_dir $side)/pacemaker.log
    [ -f "$log" ] && { echo "---- pacemaker $side log (notices and worse)"; grep -E "notice|warning|error|crit" "$log" | tail -n 25; }
  done
  return 0
}
eval "without_pacemaker_$(declare -f cleanup)"
cleanup() {
  local status=$?
  # Both at once (a node that stops alone hands its resources over first); only these two jobs:
  # the lab's vnicd are jobs of this shell too.
  local stop_a stop_b
  pacemaker_stop a & stop_a=$!
  pacemaker_stop b & stop_b=$!
  wait $stop_a $stop_b
  set +e  # the lab's cleanup takes the test's status from $?
  (exit $status)
  without_pacemaker_cleanup
}
