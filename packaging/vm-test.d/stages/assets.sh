# shellcheck shell=bash
# Sourced by packaging/vm-test.

stage_assets() {
  step "assets: host QEMU with -device vmclock"
  local t; t=$(now)
  local apt=(-o "Dir::Etc::sourcelist=$cache/apt/sources.list" -o Dir::Etc::sourceparts=- -o "Dir::State::Lists=$cache/apt/lists")
  qemu_ok() {
    command -v qemu-system-x86_64 >/dev/null && command -v qemu-img >/dev/null || return 1
    local v; v=$(qemu-system-x86_64 --version | sed -n '1s/.*version \([0-9]*\)\..*/\1/p')
    [ "${v:-0}" -ge 10 ] && qemu-system-x86_64 -device help 2>/dev/null | grep -q '"vmclock"'
  }
  if ! qemu_ok; then
    echo "installing QEMU from bookworm-backports (private apt sources in $cache/apt)"
    mkdir -p "$cache/apt/lists/partial"
    local key=/usr/share/keyrings/debian-archive-keyring.gpg s
    : >"$cache/apt/sources.list"
    for s in bookworm bookworm-updates bookworm-backports; do
      echo "deb [signed-by=$key] $mirror $s main" >>"$cache/apt/sources.list"
    done
    echo "deb [signed-by=$key] $security_mirror bookworm-security main" >>"$cache/apt/sources.list"
    apt-get "${apt[@]}" update -qq >"$work/apt-qemu.log" 2>&1 &&
      DEBIAN_FRONTEND=noninteractive apt-get "${apt[@]}" install -y -qq --no-install-recommends \
        -t bookworm-backports qemu-system-x86 qemu-utils >>"$work/apt-qemu.log" 2>&1 ||
      { tail -20 "$work/apt-qemu.log"; }
  fi
  timed "host QEMU (install or reuse)" "$t"
  check "host QEMU >= 10 with -device vmclock" "$(qemu-system-x86_64 --version 2>&1 | head -1)" qemu_ok ||
    abort "no usable QEMU"

  step "assets: matplotlib, for the picture of the migrations"
  if ! /usr/bin/python3 -c 'import matplotlib' 2>/dev/null; then
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-matplotlib; } \
      >"$work/apt-matplotlib.log" 2>&1 || tail -20 "$work/apt-matplotlib.log"
  fi
  check "host Python has matplotlib" "$(/usr/bin/python3 -c 'import matplotlib; print("matplotlib", matplotlib.__version__)' 2>&1 | tail -1)" \
    /usr/bin/python3 -c 'import matplotlib'

  step "assets: guest image ($image_recipe)"
  t=$(now)
  exec 9>"$cache/.image.lock"
  flock 9
  if [ "$rebuild" = 1 ] || [ "$(cat "$cache/image/recipe" 2>/dev/null)" != "$image_recipe" ] ||
     [ ! -s "$cache/image/base.img" ] || [ ! -s "$cache/image/vmlinuz" ] || [ ! -s "$cache/image/initrd.img" ]; then
    echo "cache miss: building the guest image"
    build_image || { flock -u 9; abort "guest image build failed (logs in $work)"; }
  else
    echo "cache hit: $cache/image"
  fi
  flock -u 9
  timed "guest image (build or reuse)" "$t"
  check "guest kernel with ptp_vmclock" "$(cat "$cache/image/kernel-info")" \
    grep -q 'CONFIG_PTP_1588_CLOCK_VMCLOCK=m' "$cache/image/kernel-info"
  check "initramfs carries virtio_blk" "$(cat "$cache/image/initramfs-info")" \
    grep -q 'virtio_blk' "$cache/image/initramfs-info"
  check "cached image has no vmclockd package" "$(cat "$cache/image/packages-info")" \
    grep -q '^vmclockd absent$' "$cache/image/packages-info"
}

build_image() {
  local new="$cache/image.new" root
  rm -rf "$new"; mkdir -p "$new"; root="$new/root"
  local t; t=$(now)
  echo "debootstrap $guest_suite (log: $work/debootstrap.log)"
  debootstrap --variant=minbase --include="$guest_packages" "$guest_suite" "$root" "$mirror" \
    >"$work/debootstrap.log" 2>&1 || { tail -20 "$work/debootstrap.log"; return 1; }
  timed "debootstrap $guest_suite" "$t"

  t=$(now)
  # virtio_blk is a module in the cloud kernel: make sure the initramfs has it.
  printf 'virtio_pci\nvirtio_blk\n' >>"$root/etc/initramfs-tools/modules"
  echo "deb $mirror $guest_suite-backports main" >"$root/etc/apt/sources.list.d/backports.list"
  mount -t proc proc "$root/proc" && proc_mounted="$root/proc"
  echo "installing $guest_kernel from $guest_suite-backports (log: $work/kernel.log)"
  { chroot "$root" apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive chroot "$root" apt-get install -y -qq --no-install-recommends \
      -t "$guest_suite-backports" "$guest_kernel" &&
    chroot "$root" apt-get clean; } >"$work/kernel.log" 2>&1 || { tail -20 "$work/kernel.log"; umount "$root/proc"; return 1; }
  local kver
  kver=$(cd "$root/usr/lib/modules" && ls | sort -V | tail -1)
  chroot "$root" lsinitramfs "/boot/initrd.img-$kver" | grep -E '/(virtio_blk|ptp_vmclock)\.ko' >"$new/initramfs-info"
  umount "$root/proc"; proc_mounted=""
  timed "guest kernel + initramfs" "$t"

  # The guest's own settings (no network; the agent is the way in).
  echo 'vmclockd-vm-test' >"$root/etc/hostname"
  echo '/dev/vda / ext4 rw,errors=remount-ro 0 1' >"$root/etc/fstab"
  mkdir -p "$root/var/log/journal"   # a persistent journal: kept across a reboot, readable after a crash

  { echo "kernel $kver"; grep 'CONFIG_PTP_1588_CLOCK_VMCLOCK=' "$root/boot/config-$kver";
    find "$root/usr/lib/modules/$kver" -name 'ptp_vmclock.ko*' -printf 'module %P\n'; } >"$new/kernel-info"
  if chroot "$root" dpkg-query -W vmclockd >/dev/null 2>&1; then echo 'vmclockd present'; else echo 'vmclockd absent'; fi >"$new/packages-info"
  chroot "$root" dpkg-query -W -f '${Package} ${Version}\n' chrony systemd qemu-guest-agent "$guest_kernel" >>"$new/packages-info"
  cp -L "$root/boot/vmlinuz-$kver" "$new/vmlinuz"
  cp -L "$root/boot/initrd.img-$kver" "$new/initrd.img"

  t=$(now)
  mkfs.ext4 -q -F -L vmroot -d "$root" "$new/base.img" "$image_size" >"$work/mkfs.log" 2>&1 ||
    { cat "$work/mkfs.log"; return 1; }
  timed "mkfs.ext4 -d (pack image)" "$t"
  rm -rf "$root"
  echo "$image_recipe" >"$new/recipe"
  rm -rf "$cache/image"; mv "$new" "$cache/image"
}
