#!/usr/bin/env bash
# Builds the DEB and RPM from this build tree and checks what they install: the daemon, the
# tools, the systemd unit (which systemd-analyze must accept), /etc/vnic, and working binaries.
set -euo pipefail
: "${VNIC_BUILD:?}"
work=$(mktemp -d /var/tmp/vnic-pkg-XXXXXX)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
command -v rpmbuild >/dev/null || fail "rpmbuild is missing (scripts/install-deps.sh installs rpm)"

(cd "$VNIC_BUILD" && cpack -G DEB -B "$work" >/dev/null 2>&1 && cpack -G RPM -B "$work" >/dev/null 2>&1) || fail "cpack failed"
deb=$(ls "$work"/*.deb) rpm=$(ls "$work"/*.rpm)
echo "built $(basename "$deb") and $(basename "$rpm")"

expected=(usr/sbin/vnicd usr/bin/vnicctl usr/bin/vnic-bench usr/bin/vnic-lab usr/lib/systemd/system/vnicd@.service
          usr/share/doc/vnic/CONFIG.md usr/share/doc/vnic/vnic0.json.example)
deb_files=$(dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./||')
rpm_files=$(rpm -qlp "$rpm" 2>/dev/null | sed 's|^/||')
for f in "${expected[@]}" etc/vnic/; do
  grep -qx "$f" <<<"$deb_files" || fail "the DEB lacks /$f"
  grep -qx "${f%/}" <<<"$rpm_files" || fail "the RPM lacks /${f%/}"
done
dpkg-deb -f "$deb" Depends | grep -q liburing || fail "the DEB does not depend on liburing"
rpm -qp --requires "$rpm" 2>/dev/null | grep -q 'liburing' || fail "the RPM does not require liburing"

# What the DEB installs runs.
dpkg-deb -x "$deb" "$work/root"
"$work/root/usr/sbin/vnicd" --version | grep -q vnicd || fail "the packaged vnicd does not run"
"$work/root/usr/bin/vnicctl" --help >/dev/null || fail "the packaged vnicctl does not run"
if command -v systemd-analyze >/dev/null; then
  # The unit refers to /usr/sbin/vnicd; verify it against the extracted copy.
  sed "s|/usr/sbin/vnicd|$work/root/usr/sbin/vnicd|" "$work/root/usr/lib/systemd/system/vnicd@.service" \
    >"$work/vnicd@.service"
  systemd-analyze verify "$work/vnicd@.service" >"$work/verify.log" 2>&1 || true
  if grep -v "ConditionPathExists" "$work/verify.log" | grep -q .; then
    cat "$work/verify.log"
    fail "systemd-analyze verify reports problems in the unit"
  fi
fi
echo "PASS"
