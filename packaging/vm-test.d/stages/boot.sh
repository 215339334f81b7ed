# shellcheck shell=bash
# Sourced by packaging/vm-test.

stage_boot() {
  step "boot: the same disk, now with -device vmclock"
  boot_guest a
  guest_sh 'dmesg | grep -i vmclock; uname -r' >"$work/a.dmesg" 2>&1
  show "guest dmesg (vmclock), kernel" "$work/a.dmesg"
  check "driver registered the device" "$(grep -m1 'registered' "$work/a.dmesg")" grep -q 'vmclock0: registered' "$work/a.dmesg"
  # Nobody starts it: udev's SYSTEMD_WANTS and the enabled unit must.
  guest_sh 'for i in $(seq 120); do systemctl is-active -q vmclockd && break; sleep 0.5; done; systemctl show -p ActiveEnterTimestampMonotonic -p Type -p WatchdogUSec vmclockd' >"$work/a.started" 2>&1
  show "started at boot" "$work/a.started"
  guest_checks "at boot"
  check "at boot: started by itself, Type=notify (active means READY=1 came)" "$(tr '\n' ' ' <"$work/a.started")" \
    grep -qx 'Type=notify' "$work/a.started"
  local rc
  guest 120 /usr/bin/setpriv --reuid=_chrony --regid=_chrony --init-groups /usr/sbin/vmclockd status --json >"$work/a.status-chrony" 2>&1; rc=$?
  check "status as _chrony reads the page by mmap" "exit $rc, read_method $(json_field "$work/a.status-chrony" read_method), verdict $(json_field "$work/a.status-chrony" verdict)" \
    test "$rc" = 0 -a "$(json_field "$work/a.status-chrony" read_method)" = mmap
  guest 120 /usr/local/bin/in-unit /usr/sbin/vmclockd status --json >"$work/a.status-unit" 2>&1; rc=$?
  check "status inside the unit's sandbox reads the page by mmap" "exit $rc, read_method $(json_field "$work/a.status-unit" read_method), verdict $(json_field "$work/a.status-unit" verdict)" \
    test "$rc" = 0 -a "$(json_field "$work/a.status-unit" read_method)" = mmap

  step "what the running daemon publishes: status, metrics, wait"
  # Once the daemon has asked chronyd about VMCK (once a second).
  guest_sh 'for i in $(seq 20); do /usr/sbin/vmclockd status >/tmp/status.txt 2>&1; grep -q "^ *chronyd .*(asked .* ago)" /tmp/status.txt && break; sleep 0.5; done; cat /tmp/status.txt' >"$work/a.status-text" 2>&1
  show "vmclockd status (the daemon's part)" "$work/a.status-text"
  check "status: chronyd has no sample of VMCK on this page, and no offset is made up for it" "$(grep -m1 '^ *chronyd ' "$work/a.status-text" | sed 's/^ *//')" \
    grep -Eq '^ *chronyd +VMCK [a-z]+, no sample of it yet' "$work/a.status-text"
  metrics_as_nobody "$work/a.prom"
  check "metrics: any user reads /run/vmclockd/vmclockd.prom, state disruption-only" \
    "$(grep -m1 '^vmclockd_state{state="disruption-only"}' "$work/a.prom")" grep -qx 'vmclockd_state{state="disruption-only"} 1' "$work/a.prom"
  guest 60 /usr/sbin/vmclockd wait --segment none --timeout 20 >"$work/a.wait" 2>&1; rc=$?
  check "wait --segment none: on a page with no clock data, exit 2 at once (no hang at boot)" "exit $rc: $(cut -c1-100 "$work/a.wait")" test "$rc" = 2
  # With the segment (the default) wait waits for it: chronyd in this guest
  # has no source, so it never says synchronized.
  guest 60 /usr/sbin/vmclockd wait --timeout 3 >"$work/a.wait-segment" 2>&1; rc=$?
  check "wait with the segment: not good while it is not synchronized (exit 1, the segment's reason)" "exit $rc: $(cut -c1-110 "$work/a.wait-segment")" \
    sh -c "test $rc = 1 && grep -q 'segment: ' '$work/a.wait-segment'"

  step "ClockBound's clients, as an application's user (nobody)"
  clockbound_checks "at boot"

  step "least privilege, from the unit's own context"
  local refclock command=/run/chrony/chronyd.sock
  refclock=$(guest_sh "sed -n 's/^refclock SOCK \([^ ]*\).*/\1/p' /etc/chrony/conf.d/vmclockd.conf")
  guest 120 /usr/local/bin/in-unit /usr/local/bin/sandbox-probe read /etc/shadow /etc/chrony/chrony.keys /run/chrony/chronyd.pid \
    /etc/vmclockd.conf /etc/chrony/conf.d/vmclockd.conf >"$work/a.probe" 2>&1
  guest 120 /usr/local/bin/in-unit /usr/local/bin/sandbox-probe connect "$command" "$refclock" /run/systemd/private /run/udev/control >>"$work/a.probe" 2>&1
  guest_sh 'ls -l /etc/shadow /etc/chrony/chrony.keys /run/chrony; systemctl show -p User -p AmbientCapabilities -p RootDirectory vmclockd' >"$work/a.perms" 2>&1
  show "the files and the service's identity, from outside" "$work/a.perms"
  show "sandbox-probe in the unit's context" "$work/a.probe"
  check "sandbox: /etc/shadow cannot be read" "$(grep '/etc/shadow' "$work/a.probe")" grep -Eq '^read /etc/shadow: E' "$work/a.probe"
  check "sandbox: chrony's key file cannot be read" "$(grep 'chrony.keys' "$work/a.probe")" grep -Eq '^read /etc/chrony/chrony.keys: E' "$work/a.probe"
  check "sandbox: /etc/vmclockd.conf and chronyd's refclock line can be read" "$(grep -E 'read /etc/(vmclockd|chrony/conf.d)' "$work/a.probe" | tr '\n' ' ')" \
    sh -c "grep -qx 'read /etc/vmclockd.conf: ok' '$work/a.probe' && grep -qx 'read /etc/chrony/conf.d/vmclockd.conf: ok' '$work/a.probe'"
  check "sandbox: chronyd's command socket can be written" "$(grep "$command" "$work/a.probe")" grep -qx "connect $command: ok" "$work/a.probe"
  check "sandbox: chronyd's refclock socket can be written" "$(grep "connect $refclock" "$work/a.probe")" grep -qx "connect $refclock: ok" "$work/a.probe"
  # The contrast that makes the two checks above mean something: the same
  # identity and capability, without the unit's view, read it.
  guest 120 /usr/bin/setpriv --reuid=_chrony --regid=_chrony --init-groups --inh-caps=+dac_override --ambient-caps=+dac_override \
    /usr/local/bin/sandbox-probe read /etc/shadow >"$work/a.probe-outside" 2>&1
  check "contrast: _chrony with CAP_DAC_OVERRIDE outside the unit's view reads /etc/shadow" "$(tr '\n' ' ' <"$work/a.probe-outside")" \
    grep -qx 'read /etc/shadow: ok' "$work/a.probe-outside"
  # ClockBound's segment: /run/clockbound is the one writable path beside
  # its own runtime directory; chronyd's directory, bound in, is read-only.
  guest 120 /usr/local/bin/in-unit /usr/local/bin/sandbox-probe create /run/clockbound/.probe /run/vmclockd/.probe \
    /run/chrony/.probe /usr/.probe >"$work/a.probe-create" 2>&1
  show "sandbox-probe create, in the unit's context" "$work/a.probe-create"
  check "sandbox: /run/clockbound (the segment's directory) can be written" "$(grep clockbound "$work/a.probe-create")" \
    grep -qx 'create /run/clockbound/.probe: ok' "$work/a.probe-create"
  check "sandbox: /run/chrony and /usr cannot" "$(grep -E 'chrony|usr' "$work/a.probe-create" | tr '\n' ' ')" \
    sh -c "grep -Eqx 'create /run/chrony/.probe: E[A-Z]+' '$work/a.probe-create' && grep -Eqx 'create /usr/.probe: E[A-Z]+' '$work/a.probe-create'"
  check "sandbox: systemd's and udev's control sockets are not there" "$(grep -E 'private|udev' "$work/a.probe" | tr '\n' ' ')" \
    sh -c "grep -qx 'connect /run/systemd/private: ENOENT' '$work/a.probe' && grep -qx 'connect /run/udev/control: ENOENT' '$work/a.probe'"
  # The socket chronyd replies on (bound by the daemon's first request,
  # made by the time status showed chronyd asked above): chronyd's user's
  # alone. Another user filling its queue would lose chronyd's replies, and
  # every migration's reset would go unacknowledged.
  local reply=/run/vmclockd/chronyd-reply.sock
  guest_sh "stat -c '%a %U %F' $reply" >"$work/a.reply" 2>&1
  guest 60 /usr/bin/setpriv --reuid=nobody --regid=nogroup --clear-groups /usr/local/bin/sandbox-probe connect "$reply" >"$work/a.reply-nobody" 2>&1
  guest 60 /usr/bin/setpriv --reuid=_chrony --regid=_chrony --init-groups /usr/local/bin/sandbox-probe connect "$reply" >"$work/a.reply-chrony" 2>&1
  show "the reply socket: mode, owner; nobody and _chrony connecting" "$work/a.reply"
  check "reply socket: 0600, chronyd's user's" "$(head -1 "$work/a.reply")" grep -qx '600 _chrony socket' "$work/a.reply"
  check "reply socket: nobody cannot send to it" "$(head -1 "$work/a.reply-nobody")" grep -qx "connect $reply: EACCES" "$work/a.reply-nobody"
  check "contrast: _chrony (chronyd) can" "$(head -1 "$work/a.reply-chrony")" grep -qx "connect $reply: ok" "$work/a.reply-chrony"

  step "an idle minute: vmclockd beside chronyd"
  guest 150 /usr/local/bin/idle-minute 60 >"$work/a.idle" 2>&1
  show "idle-minute 60 (name pid ticks hz seconds VmRSS RssAnon VmHWM, kB)" "$work/a.idle"
  local idle; idle=$(awk '
    $1 == "vmclockd" { vt = $3; vr = $6; va = $7; hz = $4; s = $5 }
    $1 == "chronyd"  { ct = $3; cr = $6; ca = $7 }
    END { if (hz == "" || ct == "") exit 1
          printf "CPU vmclockd %.3f %% vs chronyd %.3f %% of a guest core (ratio %s); VmRSS %.1f vs %.1f MiB (%.2fx); RssAnon %.2f vs %.2f MiB (%.2fx)",
            100 * vt / hz / s, 100 * ct / hz / s, (ct > 0 ? sprintf("%.2fx", vt / ct) : "n/a (chronyd 0 ticks)"),
            vr / 1024, cr / 1024, vr / cr, va / 1024, ca / 1024, va / ca }' "$work/a.idle")
  check "idle minute measured for both (TCG: ratios only)" "${idle:-no figures}" test -n "$idle"
  guest_sh 'journalctl -b --no-pager -o cat _SYSTEMD_UNIT=vmclockd.service + UNIT=vmclockd.service | grep -ci watchdog' >"$work/a.watchdog" 2>&1
  service_running "after a minute"
  check "after a minute: no watchdog line in the journal" "$(cat "$work/a.watchdog") line(s)" grep -qx 0 "$work/a.watchdog"

  step "the journal"
  journal_json "$work/a.journal.json"
  journal_report "$work/a.journal.json" >"$work/a.journal"
  show "vmclockd's entries this boot (priority, MESSAGE_ID, state, message)" "$work/a.journal"
  check "journal: the state change, with its structured state field" "$(grep -m1 'state starting' "$work/a.journal" | cut -c1-100)" \
    grep -Eq '^[0-9] [-0-9a-f]+ [a-z][a-z-]* state starting → disruption-only' "$work/a.journal"
  check "journal: the marker as a field" "$(grep -o '"VMCLOCKD_DISRUPTION_MARKER":"[0-9]*"' "$work/a.journal.json" | head -1)" \
    grep -q '"VMCLOCKD_DISRUPTION_MARKER":"1"' "$work/a.journal.json"
  check "journal: nothing at warning or worse" "$(awk '$1 <= 4' "$work/a.journal" | head -2 | tr '\n' ' ')" \
    sh -c "! awk '\$1 <= 4 { found = 1 } END { exit !found }' '$work/a.journal'"
  check "journal: at most 8 lines of its own since boot" "$(wc -l <"$work/a.journal") line(s)" test "$(wc -l <"$work/a.journal")" -le 8
}
