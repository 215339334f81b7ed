# shellcheck shell=bash
# Sourced by packaging/vm-test.

stage_config() {
  step "config: max-error = 0.002 in /etc/vmclockd.conf"
  local snippet=/etc/chrony/conf.d/vmclockd.conf
  guest_sh "sed -i 's/^#max-error = .*/max-error = 0.002/' /etc/vmclockd.conf && grep -x 'max-error = 0.002' /etc/vmclockd.conf" >"$work/$vm.edit" 2>&1
  check "config: the edit is in /etc/vmclockd.conf" "$(cat "$work/$vm.edit")" grep -qx 'max-error = 0.002' "$work/$vm.edit"

  # The wrong way: only vmclockd restarted. chronyd still has the old line.
  save_cursor "$work/cursor.config"
  guest_sh 'systemctl restart vmclockd; systemctl show -p ActiveState -p ExecMainStatus -p NRestarts vmclockd' >"$work/$vm.alone" 2>&1
  journal_since "$work/cursor.config" "$work/$vm.alone.json"
  journal_report "$work/$vm.alone.json" >"$work/$vm.alone.journal"
  show "systemctl restart vmclockd alone" "$work/$vm.alone"
  show "its journal" "$work/$vm.alone.journal"
  check "config: vmclockd restarted alone refuses the settings chronyd was not started with (exit 64, no restart loop)" \
    "$(tr '\n' ' ' <"$work/$vm.alone")" sh -c "grep -qx ExecMainStatus=64 '$work/$vm.alone' && grep -qx NRestarts=0 '$work/$vm.alone'"
  check "config: and says why, naming the restart that fixes it" "$(grep -o 'gives chronyd.*' "$work/$vm.alone.journal" | cut -c1-110)" \
    grep -q 'precision 0.001.*but these settings need.*precision 0.002.*Restart chronyd' "$work/$vm.alone.journal"

  # The right way: chronyd's unit writes its line from the file, then vmclockd starts with it.
  save_cursor "$work/cursor.config"
  guest_sh 'date +%s; systemctl restart chrony; for i in $(seq 60); do systemctl is-active -q vmclockd && break; sleep 0.5; done' >"$work/$vm.restart" 2>&1
  guest_sh "grep -x 'refclock .*' $snippet; chronyd -p 2>/dev/null | grep -x 'refclock SOCK .*'" >"$work/$vm.after-chrony" 2>&1
  show "after systemctl restart chrony: the snippet's refclock line, and chronyd -p's" "$work/$vm.after-chrony"
  local line; line=$(sed -n 1p "$work/$vm.after-chrony")
  check "config: chronyd's refclock line now says precision 0.002" "$line" sh -c "printf '%s' \"\$1\" | grep -q ' precision 0.002\$'" _ "$line"
  check "config: chronyd itself reads that line (chronyd -p)" "$(sed -n 2p "$work/$vm.after-chrony")" \
    test "$(sed -n 2p "$work/$vm.after-chrony")" = "$line"
  local asked written began
  asked=$(head -1 "$work/$vm.restart")
  guest_sh "stat -c %Y $snippet; date -d \"\$(systemctl show -p ExecMainStartTimestamp --value chrony)\" +%s" >"$work/$vm.times" 2>&1
  written=$(sed -n 1p "$work/$vm.times"); began=$(sed -n 2p "$work/$vm.times")
  check "config: the line was written by that restart, before chronyd started (chrony.service's drop-in)" \
    "restart asked $asked, line written $written, chronyd started $began (guest s)" \
    sh -c "[ '$asked' -le '$written' ] && [ '$written' -le '$began' ]" 2>/dev/null
  journal_since "$work/cursor.config" "$work/$vm.config.json"
  journal_report "$work/$vm.config.json" >"$work/$vm.config.journal"
  show "vmclockd's entries after systemctl restart chrony" "$work/$vm.config.journal"
  local started; started=$(grep -m1 'started:' "$work/$vm.config.journal")
  check "config: the daemon's promise is 0.002 s, and the line it needs is chronyd's" "$(printf '%s' "$started" | grep -o 'promise.*' | cut -c1-110)" \
    sh -c 'case "$1" in *"promise 0.002 s; chronyd needs: $2") exit 0 ;; esac; exit 1' _ "$started" "$line"
  service_running "after the edit and the restart of chrony"
}
