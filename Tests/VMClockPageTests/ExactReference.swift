import BigInt
import PageReference
import VMClockPage

/// The shared exact model (PageReference: BigInt, independent of the code
/// under test) applied to a test's `PageSpec`. Only `Timestamp`, a plain
/// value, is taken from VMClockPage; none of its math is called.
enum Ref {
    static let two64 = Exact.two64
    static let billion = Exact.billion
    static let maxU64 = Exact.maxU64

    static func floorDiv(_ a: BigInt, _ b: BigInt) -> BigInt { Exact.floorDiv(a, b) }
    static func ceilDiv(_ a: BigInt, _ b: BigInt) -> BigInt { Exact.ceilDiv(a, b) }

    static func clock(_ s: PageSpec) -> ExactClock {
        ExactClock(shift: Int(s.shift), counterValue: s.counterValue, period: s.period, timeSec: s.timeSec, timeFrac: s.timeFrac)
    }

    /// The exact time floored to 2^-64 s, as (seconds, fraction); nil when it
    /// falls outside 0 … 2^62 s (the production's documented range).
    static func pageTime(_ s: PageSpec, counter: UInt64) -> (seconds: BigInt, fraction: BigInt)? {
        guard let units = clock(s).pageUnits(atCounter: counter) else { return nil }
        let seconds = units >> 64
        return (seconds, units - (seconds << 64))
    }

    /// Same as `pageTime`, shifted by `adjust` whole seconds (UTC from TAI);
    /// nil if negative.
    static func utc(_ s: PageSpec, counter: UInt64, adjust: Int64 = 0) -> Timestamp? {
        guard let t = pageTime(s, counter: counter) else { return nil }
        let seconds = t.seconds + BigInt(adjust)
        guard seconds >= 0 else { return nil }
        return Timestamp(seconds: Int64(seconds), fraction: UInt64(t.fraction))
    }

    /// floor(fraction · 10^9 / 2^64).
    static func nanoseconds(ofFraction f: UInt64) -> Int64 {
        Int64(floorDiv(BigInt(f) * billion, two64))
    }

    /// Exact nanoseconds of a timestamp, as the rational (value·10^9·2^64) / 2^64.
    static func scaledNanoseconds(_ t: Timestamp) -> BigInt {
        (BigInt(t.seconds) << 64 + BigInt(t.fraction)) * billion
    }

    /// floor((a − b) · 10^9) in ns, exactly.
    static func differenceNanoseconds(_ a: Timestamp, _ b: Timestamp) -> BigInt {
        floorDiv(scaledNanoseconds(a) - scaledNanoseconds(b), two64)
    }

    /// ceil(ticks · units · 10^9 / 2^(64+shift)), saturating at UInt64.max.
    static func ticksToNs(_ ticks: BigInt, units: UInt64, shift: UInt8) -> UInt64 {
        Exact.saturate(ceilDiv(ticks * BigInt(units) * billion, BigInt(1) << (64 + Int(shift))))
    }

    /// time_maxerror + ceil(|C − cv| · the floored max error rate · 10^9 / 2^(64+shift)), saturating.
    static func maxError(_ s: PageSpec, counter: UInt64) -> UInt64 {
        let c = clock(s)
        return c.bound(time: s.timeMaxerrorNs, rate: c.flooredRate(s.periodMaxerrorRate), counter: counter)
    }

    /// The same with the estimates, and no floor on the rate.
    static func estError(_ s: PageSpec, counter: UInt64) -> UInt64 {
        clock(s).bound(time: s.timeEsterrorNs, rate: BigInt(s.periodEsterrorRate), counter: counter)
    }

    /// The farthest the true time at the system clock's read can be from
    /// `reported`, in ns, as an exact numerator over 2^(64+shift)
    /// (`ExactClock.worstReadError`: every corner the page allows).
    static func worstReadError(_ s: PageSpec, before: UInt64, after: UInt64, reported: Timestamp) -> BigInt {
        let c = clock(s)
        return c.worstReadError(
            before: before, after: after, reportedUnits: BigInt(reported.seconds) << 64 + BigInt(reported.fraction),
            timeError: s.timeMaxerrorNs, rate: c.flooredRate(s.periodMaxerrorRate))
    }
}

/// Fraction (units of 2^-64 s) of an exact number of nanoseconds when that is
/// exact, i.e. ns a multiple of 5^9: ns · 2^64 / 10^9.
func exactFraction(nanoseconds ns: UInt64) -> UInt64 {
    let num = BigInt(ns) << 64
    let q = Ref.floorDiv(num, Ref.billion)
    precondition(q * Ref.billion == num, "\(ns) ns is not a whole number of 2^-64 s")
    return UInt64(q)
}
