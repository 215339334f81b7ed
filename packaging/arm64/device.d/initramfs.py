#!/usr/bin/env python3
"""Packs a directory into a gzipped newc cpio archive (an initramfs), for
packaging/arm64/device-test: the machine has no cpio, and the archive is a
few dozen files. Regular files, directories and symlinks; every entry owned
by root.

  initramfs.py DIR OUT
"""
import gzip
import os
import stat
import sys


def pack(root):
    out = bytearray()
    inode = 0

    def entry(name, mode, data=b""):
        nonlocal inode
        inode += 1
        encoded = name.encode() + b"\0"
        fields = (inode, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(encoded), 0)
        out.extend(b"070701" + "".join("%08X" % v for v in fields).encode() + encoded)
        out.extend(b"\0" * (-len(out) % 4))
        out.extend(data)
        out.extend(b"\0" * (-len(out) % 4))

    for directory, dirs, files in os.walk(root):
        dirs.sort()
        rel = os.path.relpath(directory, root)
        if rel != ".":
            entry(rel, stat.S_IFDIR | 0o755)
        for name in sorted(files) + sorted(d for d in dirs if os.path.islink(os.path.join(directory, d))):
            path = os.path.join(directory, name)
            member = os.path.relpath(path, root)
            info = os.lstat(path)
            if stat.S_ISLNK(info.st_mode):
                entry(member, stat.S_IFLNK | 0o777, os.readlink(path).encode())
            elif stat.S_ISREG(info.st_mode):
                with open(path, "rb") as f:
                    entry(member, stat.S_IFREG | (info.st_mode & 0o777), f.read())
    entry("TRAILER!!!", 0)
    return bytes(out)


def main(argv):
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[2], "wb") as f:
        f.write(gzip.compress(pack(argv[1]), 1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
