# shellcheck shell=bash
# Sourced by packaging/vm-test.

stage_nodevice() {
  step "no device: the same disk, the package installed and enabled, -device vmclock left out"
  shutdown_guest || abort "the guest did not power off"
  vmclock_device=()
  boot_guest d
  vmclock_device=(-device vmclock)
  no_device_checks "boot without a device"
  check "boot without a device: the unit was skipped by its condition" "$(grep ConditionResult "$work/d.unit")" \
    grep -qx 'ConditionResult=no' "$work/d.unit"
}
