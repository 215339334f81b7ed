#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// A test's directory bind-mounted at the same absolute path inside the
/// Debian 13 root `.ci/trixie-chrony` makes, while this object lives: a
/// program run there by chroot (chronyd 4.6, the PyPI ClockBound client)
/// then names the directory's files by the paths the host uses. Creates the
/// missing part of that path (ROOT/tmp exists; the directory's own name does
/// not) and removes it again, deepest first, only what it created and only
/// empty (rmdir).
public final class RootBindMount {
    public struct MountFailure: Error, CustomStringConvertible {
        public var description: String
    }

    public let target: String
    private let created: [String]

    public init(directory: String, root: String) throws {
        Self.removeStaleMounts(root: root)
        let source = URL(fileURLWithPath: directory).standardizedFileURL.path
        guard source.hasPrefix("/"), source != "/" else {
            throw MountFailure(description: "\(directory) is no absolute directory path")
        }
        let target = root + source
        var created: [String] = []
        var path = target
        while !fileExists(path) {
            created.append(path)
            path = URL(fileURLWithPath: path).deletingLastPathComponent().path
        }
        for path in created.reversed() {
            guard mkdir(path, 0o755) == 0 || errno == EEXIST else {
                let error = String(cString: strerror(errno))
                created.filter { $0 != path }.forEach { _ = rmdir($0) }
                throw MountFailure(description: "mkdir \(path): \(error)")
            }
        }
        guard Glibc.mount(source, target, nil, UInt(MS_BIND), nil) == 0 else {
            let error = String(cString: strerror(errno))
            created.forEach { _ = rmdir($0) }  // deepest first
            throw MountFailure(description: "mount --bind \(source) \(target): \(error)")
        }
        (self.target, self.created) = (target, created)
    }

    /// Nothing of ours runs inside the mount by now; should it still be
    /// busy, it is detached (MNT_DETACH) rather than left behind.
    deinit {
        if umount2(target, 0) != 0 && errno != EINVAL {
            _ = umount2(target, Int32(MNT_DETACH))
        }
        created.forEach { _ = rmdir($0) }  // deepest first
    }

    /// Detaches bind mounts inside `root` whose source directory is gone (the
    /// kernel marks its root `//deleted`): left by a process killed before its
    /// peers stopped. A live test's directory exists, so its mount is never
    /// touched.
    private static func removeStaleMounts(root: String) {
        guard let table = readFile("/proc/self/mountinfo") else { return }
        for line in table.split(separator: "\n") {
            // id parent major:minor root mount-point options ... (proc(5))
            let fields = line.split(separator: " ")
            guard fields.count > 4, fields[3].hasSuffix("//deleted") else { continue }
            let mountPoint = unescapeMountinfo(String(fields[4]))
            guard mountPoint.hasPrefix(root + "/") else { continue }
            _ = umount2(mountPoint, Int32(MNT_DETACH))
            _ = rmdir(mountPoint)
        }
    }

    /// mountinfo writes space, tab, newline and backslash as \ooo.
    private static func unescapeMountinfo(_ field: String) -> String {
        var bytes: [UInt8] = []
        var utf8 = Array(field.utf8)[...]
        while let byte = utf8.popFirst() {
            if byte == UInt8(ascii: "\\"), utf8.count >= 3,
                let value = UInt8(String(decoding: utf8.prefix(3), as: UTF8.self), radix: 8)
            {
                bytes.append(value)
                utf8 = utf8.dropFirst(3)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
