# shellcheck shell=bash
# Sourced by packaging/vm-test.
# What the checks ask of the guest: its output, the service, the test's own
# helpers, the daemon's status.

show() {  # show LABEL FILE: print a guest's output, indented
  echo "--- $1"; sed 's/^/    /' "$2"
}

put_tools() {  # the test's own helpers, into the guest (never into the package)
  local tool
  for tool in in-unit idle-minute sandbox-probe clock-probe; do
    "${vmctl[@]}" qga-put "$work/$vm.qga" "$here/vm-test.d/guest/$tool" "/usr/local/bin/$tool" || return 1
  done
  guest_sh 'chmod 0755 /usr/local/bin/in-unit /usr/local/bin/idle-minute /usr/local/bin/sandbox-probe /usr/local/bin/clock-probe'
}

as_app() {  # as_app TIMEOUT PROGRAM [ARG...]: as an application's user (nobody: neither root nor _chrony)
  local timeout=$1; shift
  guest "$timeout" /usr/bin/setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"
}

json_field() {  # json_field FILE KEY[.KEY...]: a field of a JSON file
  python3 -c 'import functools,json,sys; print(functools.reduce(lambda d, k: d.get(k) if isinstance(d, dict) else None, sys.argv[2].split("."), json.load(open(sys.argv[1]))))' "$1" "$2" 2>/dev/null
}

unit_show() {  # unit_show OUTPUT: the service's state, restarts and PID
  guest_sh 'systemctl show -p ActiveState -p SubState -p NRestarts -p MainPID -p ConditionResult -p StatusText -p ExecMainStatus vmclockd.service' >"$1" 2>&1
}

service_running() {  # service_running LABEL: active, never restarted
  local label=$1; local out="$work/$vm.$label.unit"
  unit_show "$out"
  check "$label: vmclockd.service is active" "$(grep -E 'ActiveState|SubState' "$out" | tr '\n' ' ')" \
    grep -qx 'ActiveState=active' "$out"
  check "$label: vmclockd.service has not restarted" "$(grep NRestarts "$out")" grep -qx 'NRestarts=0' "$out"
}

no_device_checks() {  # no_device_checks LABEL: the service stays out of the way
  local label=$1 out="$work/$vm"
  guest_sh 'test -e /dev/vmclock0 && echo present || echo absent' >"$out.dev" 2>&1
  check "$label: the guest has no /dev/vmclock0" "$(cat "$out.dev")" grep -qx absent "$out.dev"
  # A unit that waits for a device that never comes times out after
  # TimeoutStartSec (30 s) and restarts RestartSec (2 s) later: look once the
  # guest has been up longer than one such round, so a loop would show.
  guest_sh 'while [ "$(cut -d. -f1 /proc/uptime)" -lt 45 ]; do sleep 1; done'
  unit_show "$out.unit"
  show "systemctl show vmclockd" "$out.unit"
  check "$label: vmclockd.service is not running" "$(grep -E '^(ActiveState|SubState)=' "$out.unit" | tr '\n' ' ')" \
    grep -qx 'ActiveState=inactive' "$out.unit"
  check "$label: it has not restarted" "$(grep NRestarts "$out.unit")" grep -qx 'NRestarts=0' "$out.unit"
  guest_sh 'journalctl -b --no-pager -o cat _SYSTEMD_UNIT=vmclockd.service + UNIT=vmclockd.service' >"$out.journal" 2>&1
  show "journal of vmclockd this boot" "$out.journal"
  local lines; lines=$(grep -vc '^-- No entries --$' "$out.journal")
  check "$label: at most one journal line" "$lines line(s): $(head -1 "$out.journal" | cut -c1-100)" test "$lines" -le 1
  guest_sh 'systemctl --failed --no-legend --plain' >"$out.failed" 2>&1
  check "$label: no failed unit" "$(tr '\n' ' ' <"$out.failed")" test ! -s "$out.failed"
}

guest_checks() {  # guest_checks LABEL: the device and `vmclockd status` as root
  local label=$1 out="$work/$vm"
  guest_sh 'ls -l /dev/vmclock0' >"$out.ls" 2>&1
  show "ls -l /dev/vmclock0" "$out.ls"
  check "$label: /dev/vmclock0 is root:root 0444 (ClockBound's clients read it as any user)" "$(head -1 "$out.ls")" \
    grep -Eq '^cr--r--r-- +1 root root ' "$out.ls"
  service_running "$label"
  local rc
  guest 120 /usr/sbin/vmclockd status --json >"$out.status" 2>&1; rc=$?
  show "vmclockd status --json (exit $rc)" "$out.status"
  local verdict method; verdict=$(json_field "$out.status" verdict); method=$(json_field "$out.status" read_method)
  check "$label: status as root reads the page by mmap" "exit $rc, read_method ${method:-?}" \
    test "$rc" = 0 -a "$method" = mmap
  check "$label: status verdict is disruption-only (QEMU's page)" "verdict ${verdict:-?}" test "$verdict" = disruption-only
  local running state pid main
  running=$(json_field "$out.status" daemon.running); state=$(json_field "$out.status" daemon.state.state)
  pid=$(json_field "$out.status" daemon.state.pid); main=$(sed -n 's/^MainPID=//p' "$work/$vm.$label.unit")
  check "$label: status shows the running daemon's state (disruption-only, its pid is the unit's)" \
    "running $running, state ${state:-?}, pid ${pid:-?}, MainPID ${main:-?}" \
    test "$running" = True -a "$state" = disruption-only -a "$pid" = "$main"
}

published_disruptions() {  # published_disruptions: the running daemon's disruption count, from status --json
  guest 120 /usr/sbin/vmclockd status --json >"$work/$vm.published" 2>&1
  json_field "$work/$vm.published" daemon.state.disruptions.total
}

metrics_as_nobody() {  # metrics_as_nobody OUTPUT: the metrics file, read as an unprivileged user
  guest 60 /usr/bin/setpriv --reuid=nobody --regid=nogroup --clear-groups /bin/cat /run/vmclockd/vmclockd.prom >"$1" 2>&1
}
