#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import VMClockPage

/// Thin reads of the kernel clocks the daemon pairs with the counter.
public enum SystemClock {
    public enum Kind: Sendable {
        case realtime, monotonic, monotonicRaw
    }

    @inline(__always)
    public static func read(_ kind: Kind) -> Timestamp {
        switch kind {
        case .realtime: realtime()
        case .monotonic: monotonic()
        case .monotonicRaw: monotonicRaw()
        }
    }

    /// CLOCK_REALTIME, the clock chronyd disciplines.
    @inline(__always)
    public static func realtime() -> Timestamp { read(CLOCK_REALTIME) }

    /// CLOCK_MONOTONIC, for deadlines and intervals.
    @inline(__always)
    public static func monotonic() -> Timestamp { read(CLOCK_MONOTONIC) }

    /// CLOCK_MONOTONIC_RAW: the hardware rate, never slewed by NTP.
    @inline(__always)
    public static func monotonicRaw() -> Timestamp { read(CLOCK_MONOTONIC_RAW) }

    /// CLOCK_MONOTONIC in nanoseconds, for deadlines.
    @inline(__always)
    public static func monotonicNanoseconds() -> Int64 { nanoseconds(CLOCK_MONOTONIC) }

    /// CLOCK_MONOTONIC_COARSE in nanoseconds: the clock of ClockBound's
    /// segment (as_of, void_after). Its clients read this clock and allow
    /// as_of at most 1 µs ahead of theirs, so a writer stamping the finer
    /// CLOCK_MONOTONIC would fail their reads now and then.
    @inline(__always)
    public static func monotonicCoarseNanoseconds() -> Int64 { nanoseconds(CLOCK_MONOTONIC_COARSE) }

    /// How far CLOCK_MONOTONIC_COARSE may lag the instant it is read (one
    /// kernel tick, 4 ms at HZ=250), read once.
    public static let monotonicCoarseResolutionNanoseconds: Int64 = {
        var ts = timespec()
        clock_getres(CLOCK_MONOTONIC_COARSE, &ts)  // cannot fail for this clock id
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }()

    @inline(__always)
    static func nanoseconds(_ clock: clockid_t) -> Int64 {
        var ts = timespec()
        clock_gettime(clock, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }

    @inline(__always)
    static func read(_ clock: clockid_t) -> Timestamp {
        var ts = timespec()
        clock_gettime(clock, &ts)  // cannot fail for these clock ids
        return Timestamp(timespec: ts)
    }
}

extension Timestamp {
    /// From a kernel timespec (tv_nsec in 0..<10^9).
    public init(timespec ts: timespec) {
        self.init(seconds: Int64(ts.tv_sec), nanoseconds: Int64(ts.tv_nsec))
    }

    public var timespec: timespec {
        Glibc.timespec(tv_sec: Int(seconds), tv_nsec: Int(nanoseconds))
    }
}
