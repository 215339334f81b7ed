#if canImport(Glibc)
import Glibc
#endif
import ClockBoundProtocol
import SystemPackage
import VMClockSystem

/// Opens (creating it where nothing is) the segment file at a path, and
/// maps it: a fresh file gets a header that says "not yet written"; a
/// previous run's segment is taken over in place, since clients may have it
/// mapped; anything else is left untouched and refused.
enum SegmentOpening {
    enum Refusal: Error {
        /// The file cannot be made or opened here (no directory, read-only, …).
        case failing(String)
        /// Something not ours, or not a segment, is at the path.
        case foreign(String)
        /// A ClockBound segment of another user: another writer's.
        case otherWriter(String)
    }

    static let mode: FilePermissions = [.ownerReadWrite, .groupRead, .otherRead]
    static let directoryMode: mode_t = 0o755

    static func open(_ path: String) throws(Refusal) -> MappedSegment {
        var existing = stat()
        if lstat(path, &existing) == 0 {
            // Before open(): a FIFO or a device must not even be opened.
            guard existing.st_mode & S_IFMT == S_IFREG else { throw leftAlone(path, "it is \(kind(existing.st_mode))") }
        } else {
            try makeDirectory(of: path)
        }
        let file: FileDescriptor
        do throws(Errno) {
            file = try FileDescriptor(
                opening: path, .readWrite, options: [.create, .noFollow, .closeOnExec], permissions: mode)
        } catch {
            if error == .tooManySymbolicLinkLevels { throw leftAlone(path, "it is a symbolic link") }
            throw .failing("cannot open the ClockBound segment \(path): \(error); \(noBound) (make its directory writable, or set clockbound-segment to another path or none)")
        }
        do throws(Refusal) {
            try claim(file, at: path)
            do throws(Errno) { return try MappedSegment(mapping: file) } catch {
                throw .failing("cannot map the ClockBound segment \(path): \(error); \(noBound)")
            }
        } catch {
            file.closeQuietly()
            throw error
        }
    }

    /// Checks what `file` is and readies it: a header on an empty file,
    /// mode 0644 (clients of any user read it).
    private static func claim(_ file: FileDescriptor, at path: String) throws(Refusal) {
        var info = stat()
        guard fstat(file.rawValue, &info) == 0 else { throw .failing("cannot stat the ClockBound segment \(path): \(Errno.last)") }
        guard info.st_mode & S_IFMT == S_IFREG else { throw leftAlone(path, "it is \(kind(info.st_mode))") }
        let header = info.st_size == Int(SegmentLayout.size) ? readHeader(file) : nil
        guard info.st_uid == geteuid() else {
            if header?.isClockBoundSegment == true {
                throw .otherWriter("the ClockBound segment \(path) belongs to uid \(info.st_uid), not to vmclockd: another writer's (AWS's clockbound daemon?); vmclockd leaves it alone. Run one writer only: `systemctl disable --now clockbound` and remove the file, or set clockbound-segment to another path or none")
            }
            throw leftAlone(path, "it belongs to uid \(info.st_uid)")
        }
        if info.st_size == 0 {
            try initialise(file, at: path)
        } else if let header {
            guard header.isClockBoundSegment else { throw leftAlone(path, describe(header)) }
        } else {
            throw leftAlone(path, "\(info.st_size) bytes, where a segment has \(SegmentLayout.size)")
        }
        if info.st_mode & 0o7777 != mode.rawValue {
            do throws(Errno) { try file.setPermissions(mode) } catch {
                throw .failing("cannot set mode 0644 on the ClockBound segment \(path): \(error)")
            }
        }
    }

    /// An empty file (new, or left so): 80 bytes with the fresh header,
    /// version and generation 0 until the first whole write.
    private static func initialise(_ file: FileDescriptor, at path: String) throws(Refusal) {
        var bytes = (UInt64(0), UInt64(0))
        withUnsafeMutableBytes(of: &bytes) { SegmentHeader.fresh.store(into: $0.baseAddress!) }
        guard ftruncate(file.rawValue, off_t(SegmentLayout.size)) == 0,
              withUnsafeBytes(of: &bytes, { pwrite(file.rawValue, $0.baseAddress, $0.count, 0) }) == 16
        else { throw .failing("cannot write the ClockBound segment \(path): \(Errno.last); \(noBound)") }
    }

    private static func readHeader(_ file: FileDescriptor) -> SegmentHeader? {
        var bytes = (UInt64(0), UInt64(0))
        let count = withUnsafeMutableBytes(of: &bytes) { try? file.readSome(into: $0, at: 0) }
        guard count == 16 else { return nil }
        return withUnsafeBytes(of: &bytes) { SegmentHeader(loading: $0.baseAddress!) }
    }

    /// Creates the segment's directory (only the last component) with mode
    /// 0755 whatever the umask: clients of every user must reach the file.
    private static func makeDirectory(of path: String) throws(Refusal) {
        let directory = AtomicFile.split(path).directory
        if mkdir(directory, directoryMode) == 0 {
            chmod(directory, directoryMode)
        } else if errno != EEXIST {
            throw .failing("cannot create the directory \(directory) for the ClockBound segment: \(Errno.last); \(noBound) (create it, or set clockbound-segment to another path or none)")
        }
    }

    private static let noBound = "ClockBound clients get no bound from vmclockd"

    private static func leftAlone(_ path: String, _ why: String) -> Refusal {
        .foreign("\(path) is not a ClockBound segment (\(why)); vmclockd leaves it alone: remove it, or set clockbound-segment to another path or none")
    }

    private static func describe(_ header: SegmentHeader) -> String {
        if header.magic != SegmentLayout.magic { return "no ClockBound magic" }
        if header.size != SegmentLayout.size { return "segment size \(header.size), not \(SegmentLayout.size)" }
        return "protocol version \(header.version), where vmclockd writes \(SegmentLayout.version)"
    }

    private static func kind(_ mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFDIR: "a directory"
        case S_IFLNK: "a symbolic link"
        case S_IFIFO: "a FIFO"
        case S_IFSOCK: "a socket"
        case S_IFCHR, S_IFBLK: "a device"
        default: "not a regular file"
        }
    }
}
