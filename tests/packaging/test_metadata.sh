#!/usr/bin/env bash
# What the package builds take from the tree agrees with itself, checked in a second rather than
# found after a full package build: debian/changelog parses and its upstream version is the
# project's (CMakeLists.txt project(VERSION)), as is the spec's Version:; the Debian control file
# says debhelper compat 13, Standards-Version 4.6.2 and Rules-Requires-Root: no; the copyright
# file is DEP-5 and carries LICENSE's text; and no maintainer script calls systemctl where
# deb-systemd-invoke belongs (lintian's maintainer-script-calls-systemctl); kmod-shim's dkms.conf,
# its VNIC_DRV_VERSION and vnic-dkms.install agree on the version too.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
debian=$src/packaging/debian
command -v dpkg-parsechangelog >/dev/null || { echo "VNIC-SKIP: dpkg-parsechangelog is missing (dpkg-dev)"; exit 77; }
command -v rpmspec >/dev/null || { echo "VNIC-SKIP: rpmspec is missing (rpm)"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }

project_version=$(sed -n 's/^project(vnic VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
[ -n "$project_version" ] || fail "no project(vnic VERSION ...) in CMakeLists.txt"

[ -f "$debian/changelog" ] || fail "packaging/debian/changelog is missing"
deb_version=$(dpkg-parsechangelog -l "$debian/changelog" -S Version 2>&1) ||
  fail "packaging/debian/changelog does not parse: $deb_version"
# A native package's version is the upstream version; a revision (-N) would follow it.
[ "${deb_version%%-*}" = "$project_version" ] ||
  fail "debian/changelog's version $deb_version is not the project's $project_version"
maintainer=$(dpkg-parsechangelog -l "$debian/changelog" -S Maintainer)
grep -qx "Maintainer: $maintainer" "$debian/control" ||
  fail "debian/changelog's maintainer '$maintainer' is not debian/control's"

spec_version=$(rpmspec -q --srpm --qf '%{version}\n' "$src/packaging/rpm/vnic.spec" 2>&1) ||
  fail "packaging/rpm/vnic.spec does not parse: $spec_version"
[ "$spec_version" = "$project_version" ] || fail "vnic.spec's Version $spec_version is not the project's $project_version"

# vnic-dkms installs kmod-shim/ as /usr/src/vnic-VERSION: dkms.conf, the module's version and the
# install paths must name the same version, or dkms looks for a directory that is not there.
dkms_version=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' "$src/kmod-shim/dkms.conf")
[ "$dkms_version" = "$project_version" ] || fail "kmod-shim/dkms.conf's PACKAGE_VERSION '$dkms_version' is not the project's $project_version"
grep -qx "#define VNIC_DRV_VERSION[[:space:]]*\"$project_version\"" "$src/kmod-shim/vnic.h" ||
  fail "kmod-shim/vnic.h's VNIC_DRV_VERSION is not the project's $project_version"
if grep -v " usr/src/vnic-$project_version\$" "$debian/vnic-dkms.install"; then
  fail "debian/vnic-dkms.install has lines (above) that do not install into usr/src/vnic-$project_version"
fi

grep -q 'debhelper-compat (= 13)' "$debian/control" || fail "debian/control does not build-depend on debhelper-compat (= 13)"
grep -qx 'Standards-Version: 4.6.2' "$debian/control" || fail "debian/control's Standards-Version is not 4.6.2"
grep -qx 'Rules-Requires-Root: no' "$debian/control" || fail "debian/control lacks Rules-Requires-Root: no"
grep -qx 'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/' "$debian/copyright" ||
  fail "debian/copyright is not DEP-5"
# The license text, paragraph by paragraph, as DEP-5 folds it (one space, "." for a blank line).
license_words=$(sed -n '/^Permission is hereby granted/,$p' "$src/LICENSE" | tr -s ' \n' '  ')
copyright_words=$(sed -n '/^ Permission is hereby granted/,$p' "$debian/copyright" | sed 's/^ \.$//; s/^ //' | tr -s ' \n' '  ')
[ "$license_words" = "$copyright_words" ] || fail "debian/copyright's license text differs from LICENSE"
grep -q "^Copyright: .*$(sed -n 's/^Copyright (c) //p' "$src/LICENSE")" "$debian/copyright" ||
  fail "debian/copyright's Copyright line is not LICENSE's"

for script in "$debian"/*.postinst "$debian"/*.prerm "$debian"/*.postrm "$debian"/*.preinst; do
  [ -e "$script" ] || continue
  if grep -nE '^(.+;)?[[:space:]]*systemctl\b' "$script" | grep -v daemon-reload; then
    fail "$(basename "$script") calls systemctl (use deb-systemd-invoke; only daemon-reload may call it)"
  fi
done
echo "PASS: version $project_version in CMakeLists.txt, debian/changelog and vnic.spec; control, copyright and maintainer scripts in order"
