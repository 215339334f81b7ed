# shellcheck shell=bash
# Sourced by packaging/vm-test.
# The guest's network: a namespace of this run's own, holding a bridge (the
# host's side, 10.99.0.1/24) and one tap per QEMU instance (a live
# migration's target needs its own). The namespace has no other interface:
# nothing the guest sends can leave it. Removed on every way out.
netns=""
host_ip=10.99.0.1 guest_ip=10.99.0.2 guest_mac=52:54:00:99:00:02

in_net() { ip netns exec "$netns" "$@"; }
net_up() {
  [ -n "$netns" ] && return 0
  netns=vmclockd-vmtest-$$
  ip netns add "$netns" || { netns=""; return 1; }
  in_net sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 &&
    in_net ip link set lo up && in_net ip link add br0 type bridge &&
    in_net ip addr add "$host_ip/24" dev br0 && in_net ip link set br0 up
}
net_tap() {  # net_tap NAME: QEMU instance NAME's tap device, on the bridge
  net_up && in_net ip tuntap add dev "vmt-$1" mode tap && in_net ip link set "vmt-$1" master br0 up
}
net_qemu_args() {  # net_qemu_args NAME: the QEMU arguments for instance NAME's network
  printf '%s\n' -netdev "tap,id=net0,ifname=vmt-$1,script=no,downscript=no" -device "virtio-net-pci,netdev=net0,mac=$guest_mac"
}
# Everything started in the namespace writes its pid to $work/net-NAME.pid and
# is stopped by it (SIGTERM, then SIGKILL), before the namespace goes.
net_stop() {  # net_stop NAME
  local pid i
  pid=$(cat "$work/net-$1.pid" 2>/dev/null) || return 0
  rm -f "$work/net-$1.pid"
  kill "$pid" 2>/dev/null || return 0
  for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null
}
net_down() {
  local f
  for f in "$work"/net-*.pid; do [ -e "$f" ] && net_stop "$(basename "$f" .pid | sed 's/^net-//')"; done
  [ -n "$netns" ] && ip netns del "$netns" 2>/dev/null
  netns=""
}
