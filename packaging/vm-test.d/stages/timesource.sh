# shellcheck shell=bash
# Sourced by packaging/vm-test.

stage_timesource() {
  step "time source: the host's clock, served by a private chronyd in the run's network namespace"
  host_chronyd_up || abort "the host's private chronyd did not start (see $work/host-chronyd)"
  result PASS "host chronyd (-x, local stratum 1) serves $host_ip:123 in namespace $netns" "$(head -1 "$work/host-chronyd/chronyd.log" | cut -c1-100)"
  guest_time_source >"$work/$vm.net" 2>&1 || { cat "$work/$vm.net"; abort "could not give the guest its address and NTP server"; }
  show "the guest's interface and chronyd's server" "$work/$vm.net"
  chronyd_synchronised 120 >"$work/$vm.tracking" 2>&1
  show "chronyc tracking in the guest" "$work/$vm.tracking"
  check "time source: the guest's chronyd is synchronised to the host's ($host_ip, poll 2^$ntp_poll s)" \
    "$(grep -E '^(Reference ID|Leap status)' "$work/$vm.tracking" | tr -s ' ' | tr '\n' ' ')" \
    sh -c "grep -q '^Reference ID.*($host_ip)' '$work/$vm.tracking' && grep -q '^Leap status *: Normal' '$work/$vm.tracking'" ||
    abort "the guest's chronyd did not synchronise to the host's"
  if ! segment_wired; then
    result PASS "time source: segment checks not run: the installed vmclockd does not publish the segment" "no clockbound-segment in run --help"
    return 0
  fi
  local rc
  guest 120 /usr/sbin/vmclockd wait --timeout 60 >"$work/$vm.wait-synced" 2>&1; rc=$?
  check "time source: vmclockd wait returns 0 once chronyd is synchronised (the segment says so)" \
    "exit $rc: $(tail -1 "$work/$vm.wait-synced" | cut -c1-100)" test "$rc" = 0
  as_app 60 /usr/sbin/vmclockd now --json >"$work/$vm.now-synced" 2>&1; rc=$?
  check "time source: an application is told synchronized, from chronyd" \
    "exit $rc, status $(json_field "$work/$vm.now-synced" status)" test "$rc" = 0
  probe_start >"$work/$vm.probe" 2>&1
  local probe_answered; probe_answered=$(grep -c "\"h4\"" "$work/probe-ask.jsonl" 2>/dev/null)
  [ "${probe_answered:-0}" -ge 1 ] && truth=1
  check "time source: the guest's clock-probe answers the host (as nobody, in its own unit)" \
    "$(tail -1 "$work/probe-ask.jsonl" 2>/dev/null | cut -c1-110)" grep -q '"h4"' "$work/probe-ask.jsonl"
}
