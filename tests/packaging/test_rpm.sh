#!/usr/bin/env bash
# Builds the RPM from its spec (scripts/package-rpm.sh, rpmbuild --nodeps on Debian) and checks it:
# the files (man pages, license, docs, the unit, sysusers.d, /etc/vnic as the admin's empty
# directory), the library requirements rpmbuild found, the scriptlets (the vnic user in %pre,
# instances stopped on erase and restarted after an upgrade), rpmlint without errors or warnings
# (its filters, each with a reason, in packaging/rpm/vnic.rpmlintrc), and that the packaged
# programs run. Cost: one package build, a full compile (about 8 CPU-minutes: 5 minutes on an
# idle 2-core machine, 20-30 with the machine shared); the checks take seconds.
set -euo pipefail
. "$(dirname "$0")/package_test_lib.sh"
package_test_build rpm rpmbuild rpmspec rpm rpm2cpio rpmlint cpio
rpm=$(grep '/vnic-[0-9][^/]*\.rpm$' <<<"$built") || fail "scripts/package-rpm.sh printed no vnic-VERSION.rpm: $built"
q() { rpm -qp "$@" "$rpm" 2>/dev/null; }

files=$(q -l)
for f in /usr/sbin/vnicd /usr/bin/vnicctl /usr/bin/vnic-bench /usr/bin/vnic-lab \
         /usr/lib/systemd/system/vnicd@.service /usr/lib/sysusers.d/vnic.conf /etc/vnic \
         /usr/share/doc/vnic/README.md /usr/share/doc/vnic/CONFIG.md \
         /usr/share/doc/vnic/examples/vnic0.json.example; do
  grep -qx "$f" <<<"$files" || fail "the RPM lacks $f"
done
# %license: /usr/share/licenses/vnic on Fedora, vnic-VERSION with Debian's rpm (%_docdir_fmt).
grep -qE '^/usr/share/licenses/vnic(-[0-9.]+)?/LICENSE$' <<<"$files" || fail "the RPM lacks its %license LICENSE"
for page in man8/vnicd.8 man8/vnicctl.8 man8/vnic-lab.8 man1/vnic-bench.1 man5/vnic.json.5; do
  grep -q "^/usr/share/man/$page" <<<"$files" || fail "the RPM lacks the man page $page"
done
# /etc/vnic: a directory the package owns and ships empty (rpm keeps no %config flag on a
# directory, and erase leaves it while the admin's files are in it).
modes=$(q --qf '[%{filenames} %{filemodes:perms}\n]')
grep -qx '/etc/vnic drwxr-xr-x' <<<"$modes" || fail "the RPM does not own /etc/vnic as a directory: $(grep /etc <<<"$modes")"
[ "$(grep -c '^/etc/' <<<"$modes")" -eq 1 ] || fail "the RPM ships files in /etc: $(grep '^/etc/' <<<"$modes")"
[ "$(q --qf '%{version}')" = "$(rpmspec -q --srpm --qf '%{version}' "$src/packaging/rpm/vnic.spec")" ] ||
  fail "the RPM's version is not the spec's"
[ "$(q --qf '%{license}')" = MIT ] || fail "the RPM's license is not MIT"
requires=$(q --requires)
for dep in liburing libcap-ng libsodium iproute; do
  grep -q "^$dep" <<<"$requires" || fail "the RPM does not require $dep"
done

scripts=$(q --scripts)
section() { sed -n "/^$1 scriptlet/,/^[a-z]* scriptlet/p" <<<"$scripts"; }
section preinstall | grep -q 'useradd -r -g vnic' || fail "the RPM's %pre does not make the vnic user"
section preuninstall | grep -q "systemctl stop 'vnicd@\*.service'" || fail "the RPM's %preun does not stop vnicd@ instances"
section postuninstall | grep -q "systemctl try-restart 'vnicd@\*.service'" ||
  fail "the RPM's %postun does not restart vnicd@ instances after an upgrade"
section postinstall | grep -q 'preset vnicd@.service\|systemd-update-helper' || fail "the RPM's %post lacks %systemd_post"

# rpmlint, with the project's filters (each with its reason) in packaging/rpm/vnic.rpmlintrc.
rpmlint_status=0
rpmlint -c "$src/packaging/rpm/rpmlint.toml" -r "$src/packaging/rpm/vnic.rpmlintrc" "$rpm" "$src/packaging/rpm/vnic.spec" >"$work/rpmlint.log" 2>&1 || rpmlint_status=$?
cat "$work/rpmlint.log"
! grep -q ': E: ' "$work/rpmlint.log" || fail "rpmlint reports errors (above)"
! grep -q ': W: ' "$work/rpmlint.log" || fail "rpmlint reports warnings (above)"
grep -q '[0-9]* packages and [0-9]* specfiles checked' "$work/rpmlint.log" || fail "rpmlint did not check (exit $rpmlint_status)"

mkdir "$work/files"
(cd "$work/files" && rpm2cpio "$rpm" | cpio -idm --quiet)
[[ "$("$work/files/usr/sbin/vnicd" --version)" == *vnicd* ]] || fail "the packaged vnicd does not run"
"$work/files/usr/bin/vnicctl" --help >/dev/null || fail "the packaged vnicctl does not run"
echo "PASS"
