#if canImport(Glibc)
import Glibc
#endif

/// ClockBound's segment as a test reads it: the 80 bytes decoded by hand
/// from the offsets docs/PROTOCOL.md gives, independently of the daemon's
/// own layout code, under the generation seqlock as the Python client
/// reads it (two copies with the same even generation).
public struct SegmentRead: Equatable, CustomStringConvertible {
    public var version: UInt16
    public var generation: UInt16
    public var asOfNanoseconds: Int64
    public var voidAfterNanoseconds: Int64
    public var bound: Int64
    public var marker: UInt64
    public var maxDrift: UInt32
    /// 0 unknown, 1 synchronized, 2 free-running, 3 disrupted.
    public var status: Int32
    public var disruptionSupport: UInt8

    public static let unknown: Int32 = 0, synchronized: Int32 = 1, freeRunning: Int32 = 2, disrupted: Int32 = 3

    public init(
        version: UInt16, generation: UInt16, asOfNanoseconds: Int64, voidAfterNanoseconds: Int64, bound: Int64, marker: UInt64,
        maxDrift: UInt32, status: Int32, disruptionSupport: UInt8
    ) {
        (self.version, self.generation, self.asOfNanoseconds, self.voidAfterNanoseconds) = (version, generation, asOfNanoseconds, voidAfterNanoseconds)
        (self.bound, self.marker, self.maxDrift, self.status, self.disruptionSupport) = (bound, marker, maxDrift, status, disruptionSupport)
    }

    public var description: String {
        "segment(gen \(generation), status \(status), bound \(bound) ns, drift \(maxDrift) ppb, marker \(marker), as_of \(asOfNanoseconds))"
    }

    /// The segment at `path` now; nil while it cannot be read consistently
    /// (missing, short, wrong magic, never written, or a write in progress).
    public static func read(_ path: String) -> SegmentRead? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        for _ in 0..<1000 {
            guard let first = bytes(fd), let second = bytes(fd) else { return nil }
            let generation = u16(first, 14)
            guard generation == u16(second, 14), generation % 2 == 0 else { continue }
            guard u32(first, 0) == 0x414D_5A4E, u32(first, 4) == 0x4342_0200, u32(first, 8) == 80, generation != 0 else { return nil }
            return SegmentRead(
                version: u16(first, 12), generation: generation,
                asOfNanoseconds: i64(first, 16) * 1_000_000_000 + i64(first, 24),
                voidAfterNanoseconds: i64(first, 32) * 1_000_000_000 + i64(first, 40),
                bound: i64(first, 48), marker: UInt64(bitPattern: i64(first, 56)), maxDrift: u32(first, 64),
                status: Int32(bitPattern: u32(first, 68)), disruptionSupport: first[72])
        }
        return nil
    }

    private static func bytes(_ fd: Int32) -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: 80)
        let got = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, 80, 0) }
        return got == 80 ? buffer : nil
    }

    private static func u16(_ b: [UInt8], _ o: Int) -> UInt16 { UInt16(b[o]) | UInt16(b[o + 1]) << 8 }
    private static func u32(_ b: [UInt8], _ o: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(b[o + $1]) << (8 * $1) } }
    private static func i64(_ b: [UInt8], _ o: Int) -> Int64 {
        Int64(bitPattern: (0..<8).reduce(UInt64(0)) { $0 | UInt64(b[o + $1]) << (8 * $1) })
    }

    /// The bound a client computes at `coarse` (CLOCK_MONOTONIC_COARSE ns),
    /// rounded up as the project's own reader does (the official client
    /// truncates: at most 1 ns less).
    public func bound(atCoarse coarse: Int64) -> Int64 {
        let elapsed = max(0, coarse - asOfNanoseconds)
        return bound + (elapsed * Int64(maxDrift) + 999_999_999) / 1_000_000_000
    }
}

/// The vmclock page's disruption_marker (offset 16 of the ABI), as a client
/// that can read the device compares it.
public func pageMarker(_ path: String) -> UInt64? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var marker: UInt64 = 0
    return pread(fd, &marker, 8, 16) == 8 ? marker : nil
}

/// CLOCK_MONOTONIC_COARSE and CLOCK_REALTIME, ns.
public func coarseNanoseconds() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts)
    return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
}
