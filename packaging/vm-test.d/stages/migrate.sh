# shellcheck shell=bash
# Sourced by packaging/vm-test.

disruption_id=3a55088562bf4d02a70bb55342e57238
reset_id=7698050e36c24cb09334a66f975fa934

resume_to_entry() {  # resume_to_entry RESUME-HOST-TIME JOURNAL-JSON: guest resume → disruption entry, ms
  local clock; clock=$("${vmctl[@]}" guest-uptime "$work/$vm.qga")
  python3 - "$1" "$clock" "$2" "$disruption_id" <<'PY'
import json, sys
resume = float(sys.argv[1])
h0, uptime, h1 = (float(x) for x in sys.argv[2].split())
entry = next(json.loads(l) for l in open(sys.argv[3]) if json.loads(l).get("MESSAGE_ID") == sys.argv[4])
# The guest read /proc/uptime (10 ms steps) somewhere between host times h0
# and h1; its clock runs at the host's rate once resumed.
mid, half = (h0 + h1) / 2, (h1 - h0) / 2 + 0.01
guest_at_resume = uptime - (mid - resume)
latency = int(entry["__MONOTONIC_TIMESTAMP"]) / 1e6 - guest_at_resume
print("%.0f ms (±%.0f ms)" % (latency * 1000, half * 1000))
PY
}

disruption_checks() {  # disruption_checks LABEL CURSOR-FILE RESUME-HOST-TIME DISRUPTIONS-BEFORE
  local label=$1 out="$work/$vm.after"
  wait_journal "$2" "$out.json" "$reset_id" 60
  local latency; latency=$(resume_to_entry "$3" "$out.json" 2>&1)
  guest_checks "after $label"
  journal_since "$2" "$out.json"   # again, after the checks: any second entry has had time to come
  journal_report "$out.json" >"$out.journal"
  show "vmclockd's entries after the $label (priority, MESSAGE_ID, state, message)" "$out.journal"
  local disruptions resets
  disruptions=$(grep -c " $disruption_id " "$out.journal"); resets=$(grep -c " $reset_id " "$out.journal")
  check "$label: exactly one disruption entry (MESSAGE_ID $disruption_id)" "$disruptions: $(grep -m1 " $disruption_id " "$out.journal" | cut -d' ' -f4- | cut -c1-110)" \
    test "$disruptions" = 1
  check "$label: exactly one acknowledged reset (MESSAGE_ID $reset_id)" "$resets: $(grep -m1 " $reset_id " "$out.journal" | cut -d' ' -f4- | cut -c1-110)" \
    test "$resets" = 1
  check "$label: nothing else at warning or worse" "$(awk -v d="$disruption_id" '$1 <= 4 && $2 != d' "$out.journal" | head -2 | tr '\n' ' ')" \
    sh -c "! awk -v d='$disruption_id' '\$1 <= 4 && \$2 != d { found = 1 } END { exit !found }' '$out.journal'"
  local marker status; marker=$(json_field "$work/$vm.status" page.disruption_marker)
  unit_show "$out.unit"; status=$(sed -n 's/^StatusText=//p' "$out.unit")
  check "$label: systemctl status shows the page's marker ($marker)" "StatusText=$status" \
    sh -c "printf '%s' \"\$1\" | grep -q \"marker $marker\\\$\"" _ "$status"
  local total ack owner counted pending
  total=$(json_field "$work/$vm.status" daemon.state.disruptions.total)
  ack=$(json_field "$work/$vm.status" daemon.state.reset.acknowledged); owner=$(json_field "$work/$vm.status" daemon.state.reset.disruption)
  check "$label: status counts it and shows its reset acknowledged" "disruptions ${4:-?} → ${total:-?}; reset for disruption ${owner:-?}, acknowledged ${ack:-?}" \
    test "$total" = "$(( ${4:-0} + 1 ))" -a "$ack" = True -a "$owner" = "$total"
  metrics_as_nobody "$out.prom"
  counted=$(awk '/^vmclockd_disruptions_total\{/ { n += $2 } END { print n + 0 }' "$out.prom")
  pending=$(sed -n 's/^vmclockd_chronyd_reset_pending //p' "$out.prom")
  check "$label: metrics agree (disruptions_total $counted, reset_pending ${pending:-?})" "$(grep '^vmclockd_disruptions_total{' "$out.prom" | tr '\n' ' ')" \
    test "$counted" = "$total" -a "$pending" = 0
  if segment_wired; then
    as_app 60 /usr/sbin/vmclockd now --json >"$out.now" 2>&1
    check "$label: once the reset is acknowledged, the segment carries the new marker" \
      "segment_marker $(json_field "$out.now" segment_marker), device_marker $(json_field "$out.now" device_marker)" \
      test "$(json_field "$out.now" segment_marker)" = "$(json_field "$out.now" device_marker)" -a -n "$(json_field "$out.now" device_marker)"
  fi
  result PASS "$label: guest resume → disruption entry" "$latency"
}

live_migration() {  # live_migration TARGET LABEL: to a second QEMU over a unix socket
  local target=$1 label=$2 t rc resume before i key=${2// /-}
  step "$label: unix socket to a second QEMU"
  before=$(published_disruptions)
  save_cursor "$work/cursor.$key"
  truth_watch_start "$key" "$label"
  t=$(now)
  start_qemu "$target" -incoming "unix:$work/$key.sock" || abort "target QEMU did not start"
  for i in $(seq 50); do [ -S "$work/$key.sock" ] && break; sleep 0.1; done
  "${vmctl[@]}" wait-resume "$work/$target.qmp" 180 >"$work/$key.resume" 2>&1 &
  local waiter=$!
  sleep 0.5   # the waiter holds the target's only QMP connection before the migration starts
  "${vmctl[@]}" qmp "$work/$vm.qmp" migrate "{\"uri\":\"unix:$work/$key.sock\"}" >/dev/null
  "${vmctl[@]}" wait-migrate "$work/$vm.qmp" 120 >"$work/$key.migrate"; rc=$?
  wait "$waiter"; local resumed=$?
  timed "$label" "$t"
  check "$label completed" "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d.get("status"), "total", d.get("total-time"), "ms, downtime", d.get("downtime"), "ms")' "$work/$key.migrate" 2>&1)" \
    test "$rc" = 0 || abort "$label failed"
  check "$label: target resumed by itself" "RESUME at $(cat "$work/$key.resume")" test "$resumed" = 0 || abort "target did not resume"
  resume=$(cat "$work/$key.resume")
  stop_qemu "$vm"
  vm=$target
  wait_agent 60
  clockbound_after_resume "$label"
  disruption_checks "$label" "$work/cursor.$key" "$resume" "$before"
  truth_watch_finish "$key" "$label" "$resume"
}

file_migration() {  # file_migration TARGET LABEL: stop, migrate to file:, quit, restore
  local target=$1 label=$2 t rc resume before key=${2// /-}
  step "$label: stop, migrate to file:, quit, restore"
  before=$(published_disruptions)
  save_cursor "$work/cursor.$key"
  truth_watch_start "$key" "$label"
  t=$(now)
  "${vmctl[@]}" qmp "$work/$vm.qmp" stop >/dev/null
  "${vmctl[@]}" qmp "$work/$vm.qmp" migrate "{\"uri\":\"file:$work/state.bin\"}" >/dev/null
  "${vmctl[@]}" wait-migrate "$work/$vm.qmp" 120 >"$work/$key.migrate"; rc=$?
  timed "$label: save" "$t"
  check "$label: state saved to a file" "$(du -h "$work/state.bin" 2>/dev/null | cut -f1) in $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("total-time"), "ms")' "$work/$key.migrate" 2>&1)" \
    test "$rc" = 0 || abort "$label (save) failed"
  stop_qemu "$vm"
  t=$(now)
  start_qemu "$target" -incoming "file:$work/state.bin" || abort "restoring QEMU did not start"
  "${vmctl[@]}" wait-status "$work/$target.qmp" paused 120; rc=$?
  timed "$label: restore" "$t"
  check "$label: state loaded (status paused)" "$("${vmctl[@]}" qmp "$work/$target.qmp" query-status 2>&1)" test "$rc" = 0 ||
    abort "$label (restore) failed"
  resume=$("${vmctl[@]}" wait-resume "$work/$target.qmp" 30 cont) || abort "restored guest did not resume"
  rm -f "$work/state.bin"
  vm=$target
  wait_agent 60
  clockbound_after_resume "$label"
  disruption_checks "$label" "$work/cursor.$key" "$resume" "$before"
  truth_watch_finish "$key" "$label" "$resume"
}

stage_migrate() {
  local n suffix
  for n in $(seq "$migrations"); do
    suffix=""; [ "$migrations" -gt 1 ] && suffix=" $n"
    live_migration "l$n" "live migration$suffix"
    file_migration "f$n" "file migration$suffix"
  done
  truth_summary
  guest_sh 'journalctl -b --no-pager -o short-monotonic -u vmclockd -u chrony' >"$work/final.journal" 2>&1
  echo "whole journal of vmclockd and chrony: $work/final.journal"
}
