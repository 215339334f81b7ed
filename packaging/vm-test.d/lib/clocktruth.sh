# shellcheck shell=bash
# Sourced by packaging/vm-test.
# The guest's real error, measured from outside it: the host's clock is the
# truth. A private chronyd in the run's network namespace serves it (-x: it
# never touches the host's clock) as the guest chronyd's only NTP server, and
# clockwatch.py (host) asks the guest's clock-probe what an application is
# told, bracketing each answer with the host's clock.
ntp_poll=${VM_TEST_NTP_POLL:-0}   # the guest's minpoll = maxpoll (log2 s)
probe_port=9123
look_interval=0.0625              # the daemon's default watch-interval
tcg_slack=${VM_TEST_TCG_SLACK:-2} # what emulation may add to one look (s)

host_chronyd_up() {  # a chronyd serving the host's clock on $host_ip:123 only
  local dir="$work/host-chronyd" i
  mkdir -p "$dir"
  printf '%s\n' 'local stratum 1' "allow $host_ip/24" "bindaddress $host_ip" 'cmdport 0' \
    "pidfile $dir/chronyd.pid" >"$dir/chronyd.conf"
  ip netns exec "$netns" chronyd -x -d -f "$dir/chronyd.conf" >"$dir/chronyd.log" 2>&1 &
  echo $! >"$work/net-chronyd.pid"
  for i in $(seq 100); do
    in_net ss -Hun state unconnected "src $host_ip:123" 2>/dev/null | grep -q . && return 0
    kill -0 "$(cat "$work/net-chronyd.pid")" 2>/dev/null || break
    sleep 0.1
  done
  cat "$dir/chronyd.log"
  return 1
}

guest_time_source() {  # the guest's address, and chronyd's one server: the host's chronyd
  guest_sh "set -e
    iface=\$(ip -o link | awk -F': ' '/$guest_mac/ { print \$2 }')
    ip addr add $guest_ip/24 dev \"\$iface\"; ip link set \"\$iface\" up
    echo 'server $host_ip iburst minpoll $ntp_poll maxpoll $ntp_poll' >/etc/chrony/sources.d/vm-test.sources
    chronyc reload sources >/dev/null
    echo \"\$iface $guest_ip\""
}

chronyd_synchronised() {  # chronyd_synchronised TIMEOUT: the guest's chronyd, on the host's
  guest_sh "for i in \$(seq $(( $1 * 2 ))); do
      chronyc -n -c tracking | awk -F, '\$2 == \"$host_ip\" && \$14 == \"Normal\" { ok = 1 } END { exit !ok }' && break
      sleep 0.5
    done; chronyc -n tracking"
}

probe_start() {  # clock-probe in the guest, as an application's user, in a unit of its own
  guest_sh "systemctl stop vm-test-clock-probe 2>/dev/null; systemd-run -q --unit=vm-test-clock-probe -p User=nobody -p Group=nogroup \
    /usr/bin/python3 /usr/local/bin/clock-probe $clockbound_dir /run/clockbound/shm0 /dev/vmclock0 $probe_port" &&
    probe_ask 30
}
probe_ask() {  # probe_ask TRIES: ask until answered (host -> guest), at most TRIES times
  in_net /usr/bin/python3 "$here/vm-test.d/clockwatch.py" "$guest_ip" "$probe_port" "$work/probe-ask.jsonl" 1 "$1"
}

watch_start() {  # watch_start SERIES: ask the guest ten times a second, until watch_stop
  ip netns exec "$netns" /usr/bin/python3 "$here/vm-test.d/clockwatch.py" "$guest_ip" "$probe_port" "$1" 0.1 &
  echo $! >"$work/net-watch.pid"
  local i
  for i in $(seq 100); do [ "$(grep -c '"h4"' "$1" 2>/dev/null || true)" -ge 10 ] 2>/dev/null && return 0; sleep 0.2; done
  return 1
}
watch_stop() { net_stop watch; }

watch_until_settled() {  # watch_until_settled SERIES SINCE TIMEOUT: synchronised again, error small
  local i
  for i in $(seq "$3"); do /usr/bin/python3 "$here/vm-test.d/clockreport.py" settled "$1" "$2" && return 0; sleep 1; done
  return 1
}

truth_checks() {  # truth_checks LABEL SERIES JOURNAL RESUME OUT: the report's lines as results
  local line
  while IFS= read -r line; do
    case "$line" in
      PASS\ *) result PASS "$(printf '%s' "${line#PASS }" | sed 's/ -- .*//')" "${line#* -- }" ;;
      FAIL\ *) result FAIL "$(printf '%s' "${line#FAIL }" | sed 's/ -- .*//')" "${line#* -- }" ;;
      FIGURE\ *) result PASS "$(printf '%s' "${line#FIGURE }" | sed 's/ -- .*//')" "${line#* -- }" ;;
      *) echo "$line" ;;
    esac
  done < <(/usr/bin/python3 "$here/vm-test.d/clockreport.py" check "$1" "$2" "$3" "$4" "$look_interval" "$tcg_slack" "$5" 2>&1)
}

truth=0   # set once the guest's clock-probe answers (stage timesource)
judged=() # each migration's judged series, in the order they ran
truth_watch_start() {  # truth_watch_start KEY LABEL: the host starts measuring the guest's clock
  [ "$truth" = 1 ] || return 0
  watch_start "$work/$1.series" ||
    result FAIL "$2: the host measures the guest's clock before the migration" "fewer than 10 answers from clock-probe in 20 s"
}
truth_watch_finish() {  # truth_watch_finish KEY LABEL RESUME: until settled, then the checks
  [ "$truth" = 1 ] || return 0
  local t rc; t=$(now)
  watch_until_settled "$work/$1.series" "$3" 180; rc=$?
  timed "$2: until synchronised again, error < 10 ms" "$t"
  watch_stop
  check "$2: synchronised again (segment under the new marker, kernel) with the error within 10 ms" \
    "$(grep -c '"h4"' "$work/$1.series") answers, $(grep -c '"lost"' "$work/$1.series") unanswered" test "$rc" = 0
  truth_checks "$2" "$work/$1.series" "$work/$vm.after.json" "$3" "$work/$1.judged.json"
  [ -s "$work/$1.judged.json" ] && judged+=("$work/$1.judged.json")
}
truth_summary() {  # the figures over every migration, and the picture
  [ "$truth" = 1 ] || return 0
  local line
  [ "${#judged[@]}" -gt 0 ] || return 0
  while IFS= read -r line; do result PASS "summary: ${line%%:*}" "${line#*: }"; done \
    < <(/usr/bin/python3 "$here/vm-test.d/clockreport.py" summary "${judged[@]}" 2>&1)
  /usr/bin/python3 "$here/vm-test.d/clockreport.py" plot "$work/migrations.png" "${judged[@]}" >"$work/plot.log" 2>&1
  check "the picture of every migration: true error, the claimed bounds, the states" "$work/migrations.png ($(tail -1 "$work/plot.log"))" \
    test -s "$work/migrations.png"
  if [ -n "${VM_TEST_FIGURE:-}" ] && [ -s "$work/migrations.png" ]; then cp "$work/migrations.png" "$VM_TEST_FIGURE"; fi
}
