# shellcheck shell=bash
# Sourced by packaging/vm-test.
# QEMU instances. Every QEMU this script starts writes its pid to
# $work/NAME.pid; cleanup stops exactly those (QMP quit first, then SIGTERM,
# then SIGKILL).

vmclock_device=(-device vmclock)
vm=a   # the instance the guest currently runs in

qemu_alive() {  # qemu_alive NAME: its process is there, and QEMU's once its command line can be read
  local pid command
  pid=$(cat "$work/$1.pid" 2>/dev/null) || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  grep -q '^State:.*zombie' "/proc/$pid/status" 2>/dev/null && return 1
  # Empty for an instant while `ip netns exec` execs QEMU: not a death
  # (taking it for one made a start look failed now and then).
  command=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)
  [ -z "$command" ] || [[ $command == *qemu-system* ]]
}

stop_qemu() {  # stop_qemu NAME
  local name=$1 pid i
  qemu_alive "$name" || return 0
  pid=$(cat "$work/$name.pid")
  "${vmctl[@]}" qmp "$work/$name.qmp" quit >/dev/null 2>&1 || true
  for i in $(seq 50); do qemu_alive "$name" || return 0; sleep 0.1; done
  kill "$pid" 2>/dev/null
  for i in $(seq 50); do qemu_alive "$name" || return 0; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null
}

start_qemu() {  # start_qemu NAME [extra QEMU arguments...]; no vmclock device while vmclock_device=()
  local name=$1; shift
  rm -f "$work/$name.qmp" "$work/$name.qga"
  net_tap "$name" || { echo "could not make the network namespace's tap for $name"; return 1; }
  local net; mapfile -t net < <(net_qemu_args "$name")
  # In the run's network namespace: `ip netns exec` execs QEMU, so $! is
  # QEMU's pid (its command line names qemu-system before and after the exec).
  ip netns exec "$netns" qemu-system-x86_64 -name "vmclockd-vm-test-$name" \
    -accel tcg -machine q35 -m 512 -smp 1 -nodefaults -display none -no-reboot \
    -kernel "$cache/image/vmlinuz" -initrd "$cache/image/initrd.img" \
    -append "console=ttyS0 root=/dev/vda rw panic=-1 systemd.show_status=1" \
    "${vmclock_device[@]}" \
    -drive "file=$work/disk.qcow2,if=none,id=root,format=qcow2" -device virtio-blk-pci,drive=root \
    -device virtio-serial-pci \
    -chardev "socket,id=qga,path=$work/$name.qga,server=on,wait=off" \
    -device virtserialport,chardev=qga,name=org.qemu.guest_agent.0 \
    -qmp "unix:$work/$name.qmp,server=on,wait=off" \
    -chardev "file,id=console,path=$work/$name.console.log" -serial chardev:console \
    "${net[@]}" "$@" >"$work/$name.qemu.log" 2>&1 &
  echo $! >"$work/$name.pid"
  local i
  for i in $(seq 300); do [ -S "$work/$name.qmp" ] && return 0; qemu_alive "$name" || break; sleep 0.1; done
  echo "QEMU $name: $(qemu_alive "$name" && echo "no QMP socket after 30 s" || echo "exited") (pid $(cat "$work/$name.pid"), after $i looks)"
  cat "$work/$name.qemu.log"
  return 1
}

guest() {  # guest TIMEOUT PROGRAM [ARG...]: run in the guest through the agent
  local timeout=$1; shift
  "${vmctl[@]}" qga-exec "$work/$vm.qga" "$timeout" "$@"
}

guest_sh() { guest 120 /bin/sh -c "$1"; }

wait_agent() {  # wait_agent TIMEOUT
  "${vmctl[@]}" qga-ping "$work/$vm.qga" "$1"
}

shutdown_guest() {  # shutdown_guest: power the guest off through the agent; QEMU exits (-no-reboot)
  "${vmctl[@]}" qga "$work/$vm.qga" guest-shutdown >/dev/null 2>&1
  local i
  for i in $(seq 120); do qemu_alive "$vm" || return 0; sleep 0.5; done
  return 1
}

boot_guest() {  # boot_guest NAME: start QEMU on the overlay, wait for the agent
  local t; t=$(now)
  start_qemu "$1" || abort "QEMU did not start"
  vm=$1
  wait_agent 300; local rc=$?
  timed "boot $1 to guest agent" "$t"
  check "$1: guest agent answers" "$(grep -m1 -o 'Linux version [^ ]*' "$work/$1.console.log")" test "$rc" = 0 ||
    { tail -30 "$work/$1.console.log"; abort "no guest agent"; }
  put_tools || abort "could not copy the test's helpers into the guest"
}
