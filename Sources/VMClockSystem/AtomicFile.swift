#if canImport(Glibc)
import Glibc
#endif
import SystemPackage

/// A small file replaced whole (written beside itself, then renamed over),
/// so a reader sees the old contents or the new, never a mix; and read
/// whole, up to a limit.
public enum AtomicFile {
    /// Replaces `path` with `contents`, mode `mode` whatever the umask;
    /// returns errno on failure (the old file is left as it was).
    public static func replace(_ path: String, with contents: String, mode: mode_t, sync: Bool = false) -> Int32? {
        let temporary = path + ".new"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard fd >= 0 else { return errno }
        var bytes = contents.utf8CString
        bytes.removeLast()  // the terminating NUL
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        let ok = written == bytes.count && fchmod(fd, mode) == 0 && (!sync || fsync(fd) == 0)
        close(fd)
        guard ok, rename(temporary, path) == 0 else {
            let error = errno
            unlink(temporary)
            return error == 0 ? EIO : error
        }
        return nil
    }

    /// The file's contents (at most `limit` bytes), or errno.
    public static func read(_ path: String, limit: Int) -> Result<String, Errno> {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return .failure(Errno(rawValue: errno)) }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: limit)
        var count = 0
        while count < limit {
            let got = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + count, limit - count) }
            if got < 0, errno == EINTR { continue }
            guard got >= 0 else { return .failure(Errno(rawValue: errno)) }
            if got == 0 { break }
            count += got
        }
        return .success(String(decoding: buffer[..<count], as: UTF8.self))
    }
}
