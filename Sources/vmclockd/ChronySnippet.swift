#if canImport(Glibc)
import Glibc
#endif

/// The chrony config file holding vmclockd's refclock line. The package does
/// not ship it: `chrony-config --write` makes it from the daemon's own
/// settings before every chronyd start, and `run --check-chrony-snippet`
/// refuses to start a daemon whose settings are no longer the ones chronyd
/// read (the settings were edited and only vmclockd was restarted).
enum ChronySnippet {
    static func text(line: String, source: String) -> String {
        """
        # chronyd's side of vmclockd, written by `vmclockd chrony-config --write`
        # from \(source). Do not edit: change the settings there and restart
        # chronyd; the package's drop-in for chronyd's unit writes this file
        # again before chronyd starts.
        \(line)

        """
    }

    struct WriteError: Error, CustomStringConvertible {
        var path: String
        var what: String
        var code: Int32
        var description: String { "cannot \(what) \(path): \(String(cString: strerror(code)))" }
    }

    /// Replaces `path` atomically: readers (chronyd starting) see the old file
    /// or the new one, never part of one. A temporary file beside it, mode
    /// 0644 whatever the umask, synced, then renamed over it.
    static func write(_ text: String, to path: String) throws(WriteError) {
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        var template = Array("\(directory)/.\(name).XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw WriteError(path: directory, what: "create a file in", code: errno) }
        let temporary = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        func fail(_ what: String) -> WriteError {
            let error = WriteError(path: temporary, what: what, code: errno)
            close(fd)
            unlink(temporary)
            return error
        }
        let bytes = Array(text.utf8)
        var written = 0
        while written < bytes.count {
            let count = bytes[written...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { throw fail("write") }
            written += count
        }
        guard fchmod(fd, 0o644) == 0 else { throw fail("chmod") }
        guard fsync(fd) == 0 else { throw fail("sync") }
        close(fd)
        guard rename(temporary, path) == 0 else {
            let error = WriteError(path: path, what: "rename \(temporary) to", code: errno)
            unlink(temporary)
            throw error
        }
        // The rename itself survives a crash once the directory is synced.
        let directoryFD = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directoryFD >= 0 {
            fsync(directoryFD)
            close(directoryFD)
        }
    }

    /// Fine when `path` is missing or has no refclock line (chronyd configured
    /// by hand elsewhere); an error when its refclock line is not `line`.
    static func check(_ path: String, against line: String) throws(UsageError) {
        let text: String
        switch ConfigFile.read(path) {
        case .success(let contents): text = contents
        case .failure(let error) where error.code == ENOENT: return
        case .failure(let error): throw UsageError("\(path): cannot read chronyd's refclock line: \(error)")
        }
        let refclocks = text.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" })
            .map { String($0.drop { $0 == " " || $0 == "\t" }) }
            .filter { $0.hasPrefix("refclock ") }
        guard let found = refclocks.first, !refclocks.contains(line) else { return }
        throw UsageError("""
            \(path) gives chronyd '\(found)', but these settings need '\(line)': \
            chronyd was started before the settings changed. Restart chronyd (its unit writes \(path) \
            again from /etc/vmclockd.conf before it starts), and vmclockd starts with it
            """)
    }
}
