#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

public struct HarnessError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

// MARK: - clocks

public func monotonicNanoseconds() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
}

public func realtimeNanoseconds() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
}

// MARK: - files

public func readFile(_ path: String) -> String? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    return String(decoding: readAll(fd), as: UTF8.self)
}

/// Everything in `fd`, from its start.
func readAll(_ fd: Int32) -> [UInt8] {
    lseek(fd, 0, SEEK_SET)
    var data: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let count = read(fd, &chunk, chunk.count)
        if count <= 0 { return data }
        data += chunk[..<count]
    }
}

public func writeFile(_ path: String, _ text: String) throws {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw HarnessError("cannot write \(path): \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    let bytes = Array(text.utf8)
    var written = 0
    while written < bytes.count {
        let n = bytes[written...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard n > 0 else { throw HarnessError("write \(path): \(String(cString: strerror(errno)))") }
        written += n
    }
}

public func fileExists(_ path: String) -> Bool { access(path, F_OK) == 0 }

/// mkdir, fine if it exists; then exactly `mode` (whatever the umask).
public func makeDirectory(_ path: String, mode: mode_t = 0o755) throws {
    guard mkdir(path, mode) == 0 || errno == EEXIST else {
        throw HarnessError("mkdir \(path): \(String(cString: strerror(errno)))")
    }
    chmod(path, mode)
}

/// New complete lines of a growing log file (a line still being written is
/// held back until its newline arrives).
public final class LogTail {
    public let path: String
    private var offset: off_t = 0
    private var partial: [UInt8] = []

    public init(path: String) { self.path = path }

    public func newLines() -> [String] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return [] }
        defer { close(fd) }
        var chunk = [UInt8](repeating: 0, count: 65536)
        var lines: [String] = []
        while true {
            let count = pread(fd, &chunk, chunk.count, offset)
            if count <= 0 { break }
            offset += off_t(count)
            partial += chunk[..<count]
        }
        while let newline = partial.firstIndex(of: UInt8(ascii: "\n")) {
            lines.append(String(decoding: partial[..<newline], as: UTF8.self))
            partial.removeSubrange(...newline)
        }
        return lines
    }
}

/// A fresh directory under /tmp, removed by `remove()`.
public struct TemporaryDirectory {
    public let url: URL

    public init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("vmclockd-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    public func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    public func remove() { try? FileManager.default.removeItem(at: url) }
}

/// The package's built executables, next to the running binary (the test
/// bundle, which `swift test` builds with them; or the benchmark).
public enum Products {
    public static let directory: URL = {
        let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        return exe.deletingLastPathComponent()
    }()

    /// The repository (for its packaging files), from this source file's place.
    public static let repository = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    public static var simulator: URL { directory.appendingPathComponent("vmclock-sim") }
    public static var vmclockd: URL { directory.appendingPathComponent("vmclockd") }
}
