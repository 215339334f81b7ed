# shellcheck shell=bash
# Sourced by packaging/vm-test.

# The PyPI ClockBound client: the pinned wheel .ci/trixie-chrony unpacks for
# the tests (one place pins it), copied into the guest at the same path, and
# the tests' driver script (Tests/clockbound-driver), never into the package.
clockbound_dir=/opt/vmclockd-tests/clockbound-0.3.0

put_clockbound() {
  local host_root=${VMCLOCKD_TRIXIE_ROOT:-/var/cache/vmclockd-tests/trixie-chrony} file
  bash "$top/.ci/trixie-chrony" >/dev/null || return 1
  guest_sh "mkdir -p $clockbound_dir/clockbound" >/dev/null || return 1
  for file in __init__.py clockbound.py errors.py; do
    "${vmctl[@]}" qga-put "$work/$vm.qga" "$host_root$clockbound_dir/clockbound/$file" "$clockbound_dir/clockbound/$file" || return 1
  done
  "${vmctl[@]}" qga-put "$work/$vm.qga" "$top/Tests/clockbound-driver/clockbound-read.py" /usr/local/bin/clockbound-read || return 1
  guest_sh "chmod -R a+rX $clockbound_dir; chmod 0755 /usr/local/bin/clockbound-read" >/dev/null
}

# Whether the installed daemon publishes the segment (its clockbound-segment
# key); until then the checks that need a written segment are reported, not run.
segment_wired() { guest_sh '/usr/sbin/vmclockd run --help' 2>/dev/null | grep -q 'clockbound-segment'; }

clockbound_checks() {  # clockbound_checks LABEL: the device and the segment, as an application's user
  local label=$1 out="$work/$vm.cb" rc
  put_clockbound || { result FAIL "$label: the PyPI ClockBound client copied into the guest" "see .ci/trixie-chrony"; return 1; }
  guest_sh 'ls -l /dev/vmclock0; ls -ld /run/clockbound; ls -l /run/clockbound' >"$out.ls" 2>&1
  show "the device and the segment" "$out.ls"
  as_app 60 /usr/sbin/vmclockd status --json >"$out.status" 2>&1; rc=$?
  check "$label: nobody reads the device (status by mmap)" "exit $rc, read_method $(json_field "$out.status" read_method)" \
    test "$rc" = 0 -a "$(json_field "$out.status" read_method)" = mmap
  as_app 60 /usr/sbin/vmclockd now --json >"$out.now" 2>&1; rc=$?
  show "vmclockd now --json as nobody (exit $rc)" "$out.now"
  as_app 60 /usr/bin/python3 /usr/local/bin/clockbound-read "$clockbound_dir" /run/clockbound/shm0 3 0 >"$out.py" 2>&1
  show "the PyPI client as nobody" "$out.py"
  if ! segment_wired; then
    result PASS "$label: segment checks not run: the installed vmclockd does not publish the segment" "no clockbound-segment in run --help"
    return 0
  fi
  guest_sh 'stat -c "%a %U" /run/clockbound /run/clockbound/shm0' >"$out.modes" 2>&1
  check "$label: /run/clockbound 0755 and shm0 0644, the daemon's user's" "$(tr '\n' ' ' <"$out.modes")" \
    sh -c "grep -qx '755 _chrony' '$out.modes' && grep -qx '644 _chrony' '$out.modes'"
  check "$label: the PyPI client reads a protocol-2 segment of 80 bytes" "$(head -1 "$out.py" | cut -c1-110)" \
    sh -c "grep -q '\"version\": 2,' '$out.py' && grep -q '\"segment_size\": 80,' '$out.py'"
  check "$label: vmclockd now compares the device's marker (exit 0, 1 or 3)" "exit $rc, device_marker $(json_field "$out.now" device_marker), segment_marker $(json_field "$out.now" segment_marker)" \
    sh -c "test $rc = 0 -o $rc = 1 -o $rc = 3 && test '$(json_field "$out.now" device_marker)' = '$(json_field "$out.status" page.disruption_marker)'"
}

clockbound_after_resume() {  # clockbound_after_resume LABEL: at once, before chronyd acknowledged the reset
  local label=$1 out="$work/$vm.cb-resume" rc
  as_app 60 /usr/sbin/vmclockd now --json >"$out.now" 2>&1; rc=$?
  as_app 60 /usr/bin/python3 /usr/local/bin/clockbound-read "$clockbound_dir" /run/clockbound/shm0 1 0 >"$out.py" 2>&1
  show "right after the resume: vmclockd now (exit $rc), the PyPI client" "$out.now"
  sed 's/^/    /' "$out.py"
  if ! segment_wired; then
    result PASS "$label: segment checks not run: the installed vmclockd does not publish the segment" "no clockbound-segment in run --help"
    return 0
  fi
  # With a time source, chronyd may be synchronised again (and the segment
  # with it) before these two reads come through the agent: the host's
  # measurement judges every read from the resume on instead.
  [ "$truth" = 1 ] && return 0
  check "$label: right after the resume, vmclockd now (a client) is not synchronized" "exit $rc, status $(json_field "$out.now" status)" test "$rc" != 0
  check "$label: nor the PyPI client (no time, or the segment says so)" "$(head -1 "$out.py" | cut -c1-110)" \
    sh -c "grep -q '\"now_error\": \"' '$out.py'"
}
