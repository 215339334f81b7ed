# shellcheck shell=bash
# Sourced by packaging/vm-test.

stage_install() {
  step "install: boot without -device vmclock, dpkg -i the .deb through the guest agent"
  qemu-img create -q -f qcow2 -F raw -b "$cache/image/base.img" "$work/disk.qcow2" || abort "qemu-img create failed"
  vmclock_device=()
  boot_guest n
  vmclock_device=(-device vmclock)
  local t rc; t=$(now)
  "${vmctl[@]}" qga-put "$work/n.qga" "$deb" /tmp/vmclockd.deb
  guest 300 /usr/bin/dpkg -i /tmp/vmclockd.deb >"$work/n.dpkg" 2>&1; rc=$?
  timed "copy + dpkg -i in the guest" "$t"
  show "dpkg -i (exit $rc)" "$work/n.dpkg"
  check "install: dpkg -i installs the package" "exit $rc: $(grep -m1 'Setting up' "$work/n.dpkg")" test "$rc" = 0 ||
    abort "the package does not install"
  guest_sh 'systemctl is-enabled vmclockd' >"$work/n.enabled" 2>&1
  check "install: the unit is enabled" "$(cat "$work/n.enabled")" grep -qx enabled "$work/n.enabled"
  no_device_checks "install without a device"
  shutdown_guest || abort "the guest did not power off"
}
