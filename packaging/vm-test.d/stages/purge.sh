# shellcheck shell=bash
# Sourced by packaging/vm-test.

stage_purge() {
  step "purge: dpkg -P"
  local rc
  guest 300 /usr/bin/dpkg -P vmclockd >"$work/$vm.purge" 2>&1; rc=$?
  show "dpkg -P vmclockd (exit $rc)" "$work/$vm.purge"
  check "purge: dpkg -P succeeds" "exit $rc" test "$rc" = 0
  guest_sh 'for f in /usr/sbin/vmclockd /usr/lib/systemd/system/vmclockd.service /usr/lib/udev/rules.d/60-vmclock.rules \
      /etc/vmclockd.conf /etc/chrony/conf.d/vmclockd.conf /usr/lib/systemd/system/chrony.service.d/vmclockd.conf \
      /usr/lib/vmclockd /run/vmclockd /run/clockbound /etc/systemd/system/multi-user.target.wants/vmclockd.service \
      /etc/systemd/system/chrony.service.wants/vmclockd.service; do [ -e "$f" ] || [ -L "$f" ] && echo "left: $f"; done; true' >"$work/$vm.left" 2>&1
  check "purge: binary, unit, rule, drop-in, conffile, refclock line, runtime state (the segment too) and enable links are gone" "$(tr '\n' ' ' <"$work/$vm.left")" \
    test ! -s "$work/$vm.left"
  guest_sh 'systemctl is-active vmclockd; pgrep -x vmclockd || echo "no vmclockd process"; chronyc -n sources' >"$work/$vm.after-purge" 2>&1
  show "after the purge" "$work/$vm.after-purge"
  check "purge: no vmclockd process" "$(grep -m1 'no vmclockd' "$work/$vm.after-purge")" grep -qx 'no vmclockd process' "$work/$vm.after-purge"
  check "purge: chronyd runs on without the VMCK refclock" "$(grep -c VMCK "$work/$vm.after-purge") VMCK line(s)" \
    sh -c "grep -q '^MS Name' '$work/$vm.after-purge' && ! grep -q VMCK '$work/$vm.after-purge'"
  shutdown_guest || stop_qemu "$vm"
}
