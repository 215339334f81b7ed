/// A point in time as seconds since the Unix epoch plus a binary fraction
/// (units of 2^-64 s), the page's own resolution. Never negative.
public struct Timestamp: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var seconds: Int64
    public var fraction: UInt64

    public init(seconds: Int64, fraction: UInt64) {
        self.seconds = seconds
        self.fraction = fraction
    }

    /// From whole nanoseconds within the second (0 ≤ nanoseconds < 10^9). The
    /// fraction is ceil(ns · 2^64 / 10^9), so `nanoseconds` gives ns back.
    public init(seconds: Int64, nanoseconds: Int64) {
        let (quotient, remainder) = UInt64.nanosecondsPerSecond.dividingFullWidth((high: UInt64(nanoseconds), low: 0))
        self.init(seconds: seconds, fraction: remainder == 0 ? quotient : quotient + 1)
    }

    /// Nanoseconds within the second, rounded down (exact: floor(fraction · 10^9 / 2^64)).
    public var nanoseconds: Int64 {
        Int64(truncatingIfNeeded: UInt64.nanosecondsPerSecond.multipliedFullWidth(by: fraction).high)
    }

    /// Nanoseconds since the epoch, rounded down; nil beyond Int64 (year 2262).
    public var nanosecondsSinceEpoch: Int64? {
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        guard !overflow else { return nil }
        let (sum, overflow2) = scaled.addingReportingOverflow(nanoseconds)
        return overflow2 ? nil : sum
    }

    /// `self − other` in nanoseconds, rounded down, exact in 128 bits: the
    /// difference is taken in 2^-64 s first, so sub-nanosecond parts are not
    /// floored separately.
    public func nanoseconds(since other: Timestamp) -> Int128 {
        // |seconds| ≤ 2^63, so the difference in 2^-64 s fits in Int128.
        let difference = (Int128(seconds) - Int128(other.seconds)) << 64
            + Int128(fraction) - Int128(other.fraction)
        let wholeSeconds = difference >> 64  // floor, also for negative differences
        let fraction = UInt64(truncatingIfNeeded: difference)
        return wholeSeconds * 1_000_000_000
            + Int128(UInt64.nanosecondsPerSecond.multipliedFullWidth(by: fraction).high)
    }

    /// `self − other` in nanoseconds for an `other` that is a whole number of
    /// nanoseconds (a timespec): floor(self) − other, which is then the exact
    /// floor. (Its 2^-64 s representation is rounded up, and going through it
    /// could come out 1 ns low.)
    public func nanoseconds(sinceWholeNanoseconds other: Timestamp) -> Int128 {
        (Int128(seconds) - Int128(other.seconds)) * 1_000_000_000 + Int128(nanoseconds) - Int128(other.nanoseconds)
    }

    /// `self − other` in seconds as a Double: exact to the Double's 53 bits,
    /// taken from the exact 2^-64 s difference.
    public func seconds(since other: Timestamp) -> Double {
        let difference = (Int128(seconds) - Int128(other.seconds)) << 64
            + Int128(fraction) - Int128(other.fraction)
        // Under a second apart (every sample's offset) the magnitude fits 64
        // bits, whose conversion is the hardware's, correctly rounded; the
        // generic 128-bit one costs more than the rest of a look.
        let magnitude = difference.magnitude
        guard magnitude >> 64 == 0 else { return Double(difference) * 0x1p-64 }
        let seconds = Double(UInt64(truncatingIfNeeded: magnitude)) * 0x1p-64
        return difference < 0 ? -seconds : seconds
    }

    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool {
        (lhs.seconds, lhs.fraction) < (rhs.seconds, rhs.fraction)
    }

    /// "seconds.nnnnnnnnn", for logs and status output.
    public var description: String {
        let ns = String(nanoseconds)
        return "\(seconds).\(String(repeating: "0", count: 9 - ns.count))\(ns)"
    }
}

extension UInt64 {
    public static let nanosecondsPerSecond: UInt64 = 1_000_000_000
}
