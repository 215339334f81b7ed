# shellcheck shell=bash
# Sourced by packaging/vm-test.

stage_upgrade() {
  step "upgrade: a newer build over the running daemon, the conffile /etc/vmclockd.conf edited"
  local before after rc
  unit_show "$work/$vm.pre-upgrade"; before=$(sed -n 's/^MainPID=//p' "$work/$vm.pre-upgrade")
  guest_sh 'echo "# an operator edit, kept by upgrades" >>/etc/vmclockd.conf'
  "${vmctl[@]}" qga-put "$work/$vm.qga" "$newer_deb" /tmp/vmclockd-newer.deb
  guest 300 /usr/bin/dpkg -i /tmp/vmclockd-newer.deb >"$work/$vm.upgrade" 2>&1; rc=$?
  show "dpkg -i the newer build (exit $rc)" "$work/$vm.upgrade"
  check "upgrade: dpkg -i installs the newer build" "exit $rc: $(grep -m1 'Unpacking' "$work/$vm.upgrade")" test "$rc" = 0
  guest_sh "dpkg-query -W -f '\${Version}' vmclockd" >"$work/$vm.version" 2>&1
  check "upgrade: the installed version is the newer one" "$(cat "$work/$vm.version")" grep -qx "$newer_version" "$work/$vm.version"
  guest_sh 'for i in $(seq 60); do systemctl is-active -q vmclockd && break; sleep 0.5; done'
  unit_show "$work/$vm.post-upgrade"; after=$(sed -n 's/^MainPID=//p' "$work/$vm.post-upgrade")
  guest_sh "readlink /proc/$after/exe; stat -L -c %i /proc/$after/exe /usr/sbin/vmclockd" >"$work/$vm.exe" 2>&1
  show "the daemon's binary after the upgrade" "$work/$vm.exe"
  check "upgrade: the daemon was restarted" "MainPID $before → $after" test -n "$after" -a "$after" != 0 -a "$after" != "$before"
  check "upgrade: it runs the new binary, not a deleted one" "$(head -1 "$work/$vm.exe"); inodes $(sed -n '2,3p' "$work/$vm.exe" | tr '\n' ' ')" \
    sh -c "head -1 '$work/$vm.exe' | grep -qx /usr/sbin/vmclockd && [ \"\$(sed -n 2p '$work/$vm.exe')\" = \"\$(sed -n 3p '$work/$vm.exe')\" ]"
  guest_sh 'tail -1 /etc/vmclockd.conf' >"$work/$vm.conffile" 2>&1
  check "upgrade: the edited conffile /etc/vmclockd.conf is kept" "$(cat "$work/$vm.conffile")" \
    grep -qx '# an operator edit, kept by upgrades' "$work/$vm.conffile"
  service_running "after the upgrade"
}
