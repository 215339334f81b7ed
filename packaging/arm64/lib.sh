# shellcheck shell=bash
# Sourced by the arm64 scripts (packaging/build-deb, packaging/arm64/*): the
# cross compiler and the emulator of packaging/arm64/toolchain, as functions.

arm64_toolchain=${VMCLOCKD_ARM64_TOOLCHAIN:-/var/cache/vmclockd-tests/arm64-toolchain}
arm64_sdk="$arm64_toolchain/sdk/vmclockd-arm64.artifactbundle/vmclockd-arm64"
arm64_sysroot="$arm64_sdk/sysroot"

# A private apt state in directory $1 for Debian suites $2...: its own
# sources, lists and archives, amd64 and arm64, no dpkg database, so the
# machine's /etc/apt is neither read for sources nor changed. sid's Release
# file may be past its Valid-Until date (the mirror is a snapshot), hence
# Check-Valid-Until=false, for these lists only. Sets arm64_apt (the options
# for apt-get and apt-cache) and reads the lists; the log goes to $1/log.
arm64_apt_state() {
  local dir=$1 suite keyring=/usr/share/keyrings/debian-archive-keyring.gpg
  shift
  mkdir -p "$dir/apt/lists/partial" "$dir/apt/archives/partial"
  for suite in "$@"; do
    echo "deb [signed-by=$keyring] ${VMCLOCKD_DEBIAN_MIRROR:-http://deb.debian.org/debian} $suite main"
  done >"$dir/apt/sources.list"
  arm64_apt=(-o "Dir::Etc::sourcelist=$dir/apt/sources.list" -o Dir::Etc::sourceparts=- -o "Dir::State::Lists=$dir/apt/lists"
    -o "Dir::Cache=$dir/apt" -o "Dir::Cache::archives=$dir/apt/archives" -o Dir::State::status=/dev/null
    -o APT::Architectures=amd64,arm64 -o Acquire::Check-Valid-Until=false -o Debug::NoLocking=true)
  apt-get "${arm64_apt[@]}" update -qq >>"$dir/log" 2>&1 || { tail -20 "$dir/log" >&2; return 1; }
}

# The newest version of package $1 (NAME or NAME:ARCH) in suite $2 of the
# private apt state.
arm64_apt_newest() {
  apt-cache "${arm64_apt[@]}" madison "$1" | awk -v s="$2" '$0 ~ "/debian " s "/main" { print $3; exit }'
}

# Runs "$@" in the sid root that holds the compiler, as root, in a private
# mount namespace: /proc, /dev, the toolchain cache, the directory $1 and the
# machine's local package mirror (if any, read-only) are bind-mounted at the
# same paths as outside, so every path a build writes (rpaths, diagnostics)
# means the same thing in and out. The mounts end with the namespace: nothing
# is left mounted, whatever stops the command. git inside gets the machine's
# url.*.insteadOf rules (where the package dependencies are fetched from).
arm64_in_swift_root() {
  local dir=$1 root="$arm64_toolchain/swift-root" rules
  shift
  rules=$(git config --get-regexp '^url\..*\.insteadof$' 2>/dev/null || true)
  unshare --mount --propagation private -- bash -euc '
    root=$1 dir=$2 rules=$3; shift 3
    mount -t proc proc "$root/proc"
    mount --rbind /dev "$root/dev"
    for path in "$dir" "'"$arm64_toolchain"'" /opt/swift-packages; do
      [ -d "$path" ] || continue
      mkdir -p "$root$path"
      mount --bind "$path" "$root$path"
    done
    [ -d /opt/swift-packages ] && mount -o remount,bind,ro "$root/opt/swift-packages"
    : >"$root/root/.gitconfig"
    while read -r key value; do
      [ -n "$key" ] && chroot "$root" git config --global --add "${key%.insteadof}.insteadOf" "$value"
    done <<<"$rules"
    cd "$dir"
    exec chroot "$root" env -i HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 TERM=dumb \
      sh -c "cd \"\$0\" && exec \"\$@\"" "$dir" "$@"
  ' arm64 "$root" "$dir" "$rules" "$@"
}

# `swift "$@"` for arm64 in the package at $1: sid's Swift with the SDK.
arm64_swift() {
  local dir=$1
  shift
  # SwiftPM's own pkg-config reader (CSystemd) finds libsystemd in the sysroot.
  arm64_in_swift_root "$dir" env PKG_CONFIG_PATH="$arm64_sysroot/usr/lib/aarch64-linux-gnu/pkgconfig" \
    PKG_CONFIG_SYSROOT_DIR="$arm64_sysroot" \
    swift "$@" --swift-sdks-path "$arm64_toolchain/sdk" --swift-sdk aarch64-unknown-linux-gnu
}

# binfmt_misc: the kernel runs arm64 ELF files with the cached qemu-aarch64.
# Registered under its own name with the F flag (the kernel opens the
# interpreter now, so chroots need no copy of it); a registration of the same
# magic by the machine (qemu-user-binfmt) is left as it is. arm64_binfmt_off
# undoes only what arm64_binfmt_on did.
arm64_binfmt_entry=/proc/sys/fs/binfmt_misc/vmclockd-aarch64
arm64_binfmt_mounted=no
arm64_binfmt_registered=no
arm64_binfmt_on() {
  local conf="$arm64_toolchain/qemu/qemu-aarch64.conf" line magic mask
  if ! mountpoint -q /proc/sys/fs/binfmt_misc; then
    mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
    arm64_binfmt_mounted=yes
  fi
  [ -e "$arm64_binfmt_entry" ] && return 0
  # ":qemu-aarch64:M::MAGIC:MASK:INTERPRETER:FLAGS" (Debian's binfmt.d file)
  line=$(grep -v '^#' "$conf" | head -1)
  magic=$(cut -d: -f5 <<<"$line")
  mask=$(cut -d: -f6 <<<"$line")
  printf ':vmclockd-aarch64:M::%s:%s:%s:F\n' "$magic" "$mask" "$arm64_toolchain/qemu/qemu-aarch64" \
    >/proc/sys/fs/binfmt_misc/register
  arm64_binfmt_registered=yes
}
arm64_binfmt_off() {
  [ "$arm64_binfmt_registered" = yes ] && [ -e "$arm64_binfmt_entry" ] && echo -1 >"$arm64_binfmt_entry"
  arm64_binfmt_registered=no
  if [ "$arm64_binfmt_mounted" = yes ]; then
    umount /proc/sys/fs/binfmt_misc 2>/dev/null || true
    arm64_binfmt_mounted=no
  fi
}

# Copies a pristine Debian 13 arm64 root (minbase, systemd, procps) to $1,
# making it once at $arm64_root_cache: debootstrap's first stage here, its
# second in the root under qemu-user (arm64_binfmt_on first; about 10 minutes
# emulated on 2 cores). Made in a temporary directory and renamed into place
# once its dpkg answers, so an interrupted run never looks finished.
arm64_root_cache=${VMCLOCKD_ARM64_ROOT:-/var/cache/vmclockd-tests/arm64-debian13-root}
arm64_debian_root() {
  local dest=$1 cache_parent work started
  cache_parent=$(dirname "$arm64_root_cache")
  mkdir -p "$cache_parent"
  (
    flock 8
    [ -x "$arm64_root_cache/usr/bin/dpkg" ] && chroot "$arm64_root_cache" /usr/bin/dpkg --print-architecture >/dev/null 2>&1 && exit 0
    rm -rf --one-file-system "$arm64_root_cache".tmp.*
    work=$(mktemp -d "$arm64_root_cache.tmp.XXXXXX")
    started=$(date +%s)
    echo "debootstrapping a Debian 13 arm64 root (second stage emulated: about 10 minutes)..." >&2
    if ! debootstrap --arch=arm64 --foreign --variant=minbase --include=systemd,procps trixie "$work/root" \
      "${VMCLOCKD_DEBIAN_MIRROR:-http://deb.debian.org/debian}" >"$work/log" 2>&1 ||
      ! chroot "$work/root" /debootstrap/debootstrap --second-stage >>"$work/log" 2>&1; then
      tail -30 "$work/log" >&2
      awk -v d="$work/root" 'index($2, d) == 1 { print $2 }' /proc/self/mounts | sort -r | xargs -r -n1 umount -l
      rm -rf --one-file-system "$work"
      exit 1
    fi
    rm -f "$work/root/var/cache/apt/archives/"*.deb
    mv -T "$work/root" "$arm64_root_cache"
    rm -rf "$work"
    echo "the Debian 13 arm64 root took $(($(date +%s) - started)) s" >&2
  ) 8>"$cache_parent/.$(basename "$arm64_root_cache").lock" || return 1
  cp -a "$arm64_root_cache" "$dest"
}
