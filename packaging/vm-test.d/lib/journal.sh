# shellcheck shell=bash
# Sourced by packaging/vm-test.
# vmclockd's journal in the guest, as JSON lines, and since a cursor.

journal_json() {  # journal_json OUTPUT [journalctl arguments]: vmclockd's entries this boot as JSON lines
  local out=$1; shift
  guest_sh "journalctl -b --no-pager -o json _SYSTEMD_UNIT=vmclockd.service $*" >"$out" 2>/dev/null
}

journal_report() {  # journal_report FILE: "priority message-id message" per entry
  python3 - "$1" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    try:
        e = json.loads(line)
    except ValueError:
        continue
    print(e.get("PRIORITY", "?"), e.get("MESSAGE_ID", "-"), e.get("VMCLOCKD_STATE", "-"), e.get("MESSAGE", ""))
PY
}

save_cursor() {  # save_cursor FILE
  guest_sh 'journalctl -b -n 0 --show-cursor --no-pager | sed -n "s/^-- cursor: //p"' >"$1" 2>/dev/null
}

journal_since() {  # journal_since CURSOR-FILE OUTPUT: vmclockd's entries after the cursor, JSON lines
  journal_json "$2" "--after-cursor='$(cat "$1")'"
}

wait_journal() {  # wait_journal CURSOR-FILE OUTPUT PATTERN TIMEOUT
  local i
  for i in $(seq "$4"); do journal_since "$1" "$2"; grep -q "$3" "$2" && return 0; sleep 1; done
  return 1
}
