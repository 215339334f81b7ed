#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import VMClockPage

/// Thin reads of the kernel clocks the daemon pairs with the counter.
public enum SystemClock {
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
    public static func monotonicNanoseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
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
    /// From a kernel timespec (tv_nsec in 0..<10^9), with the fraction
    /// rounded up so that converting back gives the same nanosecond.
    public init(timespec ts: timespec) {
        let ns = UInt64(ts.tv_nsec)
        // ceil(ns · 2^64 / 10^9): floor(fraction · 10^9 / 2^64) is then ns again.
        let (quotient, remainder) = UInt64.nanosecondsPerSecond.dividingFullWidth((high: ns, low: 0))
        self.init(seconds: Int64(ts.tv_sec), fraction: remainder == 0 ? quotient : quotient + 1)
    }

    public var timespec: timespec {
        Glibc.timespec(tv_sec: Int(seconds), tv_nsec: Int(nanoseconds))
    }
}
