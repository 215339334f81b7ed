# shellcheck shell=bash
# Sourced by packaging/vm-test.

deb="" newer_deb=""
version=0.1.0 newer_version=0.1.0+vmtest1

stage_package() {
  step "package: packaging/build-deb, and a newer build for the upgrade"
  local t; t=$(now)
  mkdir -p "$work/deb" "$work/deb-newer"
  deb=$(VMCLOCKD_VERSION=$version bash "$here/build-deb" "$work/deb" 2>"$work/build-deb.log" | tail -1)
  newer_deb=$(VMCLOCKD_VERSION=$newer_version bash "$here/build-deb" "$work/deb-newer" 2>>"$work/build-deb.log" | tail -1)
  timed "build-deb (both)" "$t"
  check "build-deb made a .deb" "${deb:-none} ($(du -h "$deb" 2>/dev/null | cut -f1))" test -s "$deb" ||
    { tail -20 "$work/build-deb.log"; abort "no package"; }
  check "it is the vmclockd package" "$(dpkg-deb -f "$deb" Package Version Depends | tr '\n' ' ')" \
    test "$(dpkg-deb -f "$deb" Package)" = vmclockd
  check "the newer build sorts after it" "$newer_version > $version" \
    dpkg --compare-versions "$(dpkg-deb -f "$newer_deb" Version)" gt "$(dpkg-deb -f "$deb" Version)"
}
