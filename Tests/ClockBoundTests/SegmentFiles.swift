#if canImport(Glibc)
import Glibc
#endif
import ClockBoundProtocol
import DaemonPublication
import PeerHarness
import Testing

/// What the tests share: a private directory, the file's bytes read back
/// with pread (never through the code under test), raw writes as another
/// process would make them, and the reports a writer made.
enum SegmentFiles {
    static let second: Int64 = 1_000_000_000

    /// A body whose every field has distinct bytes, so a misplaced or
    /// byte-swapped field shows.
    static let body = SegmentBody(
        asOf: CoarseInstant(seconds: 0x0102_0304, nanoseconds: 0x0506_0708),
        voidAfter: CoarseInstant(seconds: 0x1112_1314, nanoseconds: 0x1516_1718),
        boundNanoseconds: 0x2122_2324_2526, disruptionMarker: 0x3132_3334_3536_3738,
        maxDriftPPB: 0x4142_4344, status: .synchronized, disruptionSupport: true)

    /// The file's bytes; nil where there is none (or no regular file: a
    /// FIFO is opened without waiting for a writer).
    static func bytes(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = pread(fd, &buffer, buffer.count, 0)
        return count < 0 ? nil : Array(buffer[..<count])
    }

    /// The little-endian u16 at `offset` of the file (version 12, generation 14).
    static func u16(_ path: String, at offset: Int) -> UInt16? {
        guard let b = bytes(path), b.count >= offset + 2 else { return nil }
        return UInt16(b[offset]) | UInt16(b[offset + 1]) << 8
    }

    static func generation(_ path: String) -> UInt16? { u16(path, at: 14) }
    static func version(_ path: String) -> UInt16? { u16(path, at: 12) }

    /// Writes `bytes` at `offset`, creating the file (mode 0644) if needed.
    static func put(_ bytes: [UInt8], at offset: Int = 0, into path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
        try #require(fd >= 0, "open \(path): \(errno)")
        defer { close(fd) }
        try #require(pwrite(fd, bytes, bytes.count, off_t(offset)) == bytes.count)
    }

    /// A previous run's segment, written by hand: magic, size 80, `version`, `generation`.
    static func header(version: UInt16, generation: UInt16) -> [UInt8] {
        [0x4E, 0x5A, 0x4D, 0x41, 0x00, 0x02, 0x42, 0x43, 80, 0, 0, 0,
         UInt8(version & 0xFF), UInt8(version >> 8), UInt8(generation & 0xFF), UInt8(generation >> 8)]
    }

    static func previousRun(version: UInt16 = 2, generation: UInt16) -> [UInt8] {
        header(version: version, generation: generation) + [UInt8](repeating: 0, count: 64)
    }

    static func info(_ path: String) -> stat? {
        var result = stat()
        return lstat(path, &result) == 0 ? result : nil
    }
}

/// A private directory under /tmp, removed with everything in it.
final class SegmentDirectory {
    let directory: TemporaryDirectory
    init() throws { directory = try TemporaryDirectory() }
    deinit { directory.remove() }
    func path(_ name: String) -> String { directory.path(name) }
}

/// A writer of `shm0` in a private directory, and what it reports.
final class SegmentRig {
    let dir: SegmentDirectory
    let path: String
    let reports = Reports()
    let file: ClockBoundSegmentFile

    /// `at`: the file's place below the directory.
    init(at name: String = "shm0") throws {
        dir = try SegmentDirectory()
        path = dir.path(name)
        file = ClockBoundSegmentFile(path: path, report: reports.sink)
    }
}

/// What a writer reported, in order.
final class Reports {
    private(set) var entries: [(key: String, problem: String?)] = []

    var sink: (String, String?, Int64) -> Void { { [unowned self] key, problem, _ in entries.append((key, problem)) } }

    /// The problem last reported under `key` (nil: cleared or never).
    func current(_ key: String) -> String? { entries.last { $0.key == key }?.problem }
    func everReported(_ key: String) -> Bool { entries.contains { $0.key == key && $0.problem != nil } }
}

extension ClockBoundSegmentFile.Condition {
    var message: String? {
        switch self {
        case .failing(let m), .otherWriter(let m): m
        case .notOpenYet, .writing: nil
        }
    }
    var isOtherWriter: Bool { if case .otherWriter = self { true } else { false } }
    var isFailing: Bool { if case .failing = self { true } else { false } }
}
