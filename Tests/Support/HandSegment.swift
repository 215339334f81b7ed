#if canImport(Glibc)
import Glibc
#endif
import PeerHarness

/// A ClockBound segment written byte by byte from docs/PROTOCOL.md (aws/
/// clock-bound, protocol 2), not with the project's own encoder: what a
/// foreign writer (AWS's daemon) leaves in the file. Little-endian, as the
/// machines the tests run on (x86-64, arm64).
public struct HandSegment {
    public var magic: (UInt32, UInt32) = (0x414D_5A4E, 0x4342_0200)
    public var size: UInt32 = 80
    public var version: UInt16 = 2
    public var generation: UInt16 = 2
    /// CLOCK_MONOTONIC_COARSE ns.
    public var asOf: Int64
    public var voidAfter: Int64
    public var bound: Int64 = 1_000
    public var marker: UInt64 = 0
    public var maxDrift: UInt32 = 15_000
    public var status: Int32
    public var disruptionSupport: UInt8 = 0

    /// Fresh (as_of now), valid for a minute.
    public init(status: Int32, bound: Int64 = 1_000, asOfAgo seconds: Double = 0) {
        asOf = Self.coarseNow() - Int64(seconds * 1e9)
        voidAfter = asOf + 60_000_000_000
        (self.status, self.bound) = (status, bound)
    }

    public static func coarseNow() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC_COARSE, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }

    public var bytes: [UInt8] {
        var out: [UInt8] = []
        func put<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value.littleEndian) { out += $0 } }
        put(magic.0); put(magic.1); put(size); put(version); put(generation)
        put(asOf / 1_000_000_000); put(asOf % 1_000_000_000)
        put(voidAfter / 1_000_000_000); put(voidAfter % 1_000_000_000)
        put(bound); put(marker); put(maxDrift); put(status); put(disruptionSupport)
        out += [UInt8](repeating: 0, count: 7)
        precondition(out.count == 80)
        return out
    }

    /// Into `path` in place (readers keep their mapping), as a writer does:
    /// the generation odd, the rest, then the generation even. Creates the
    /// file (0644) if missing.
    public func write(to path: String) throws {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw HarnessError("open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let all = bytes
        var odd = (generation &- 1).littleEndian
        guard pwrite(fd, &odd, 2, 14) == 2,
            all.withUnsafeBytes({ pwrite(fd, $0.baseAddress! + 16, 64, 16) }) == 64,
            all.withUnsafeBytes({ pwrite(fd, $0.baseAddress!, 16, 0) }) == 16
        else { throw HarnessError("write \(path): \(String(cString: strerror(errno)))") }
    }
}
