import BigInt

/// The one exact reference model of the page's time and bound math, over
/// arbitrary-precision integers, shared by VMClockPageTests and the page
/// fuzzer (vmclock-fuzz-page). It is written from the ABI
/// (linux/vmclock-abi.h) and the documented rules, where the code under test
/// uses UInt128 with shifts and masks: it never imports VMClockPage, so it
/// cannot agree with that code by calling it. Never shipped.
public enum Exact {
    public static let billion = BigInt(1_000_000_000)
    public static let two64 = BigInt(1) << 64
    public static let maxU64 = BigInt(UInt64.max)

    /// floor(a / b) for b > 0, whatever a's sign. BigInt's `/` truncates
    /// toward zero; the result is checked, not trusted: a = q·b + r with
    /// 0 ≤ r < b.
    public static func floorDiv(_ a: BigInt, _ b: BigInt) -> BigInt {
        precondition(b > 0)
        let (q, r) = a.quotientAndRemainder(dividingBy: b)
        let floor = r < 0 ? q - 1 : q
        let rest = a - floor * b
        precondition(rest >= 0 && rest < b, "BigInt division is wrong for \(a) / \(b)")
        return floor
    }

    /// ceil(a / b) for b > 0.
    public static func ceilDiv(_ a: BigInt, _ b: BigInt) -> BigInt { -floorDiv(-a, b) }

    /// A non-negative bound in ns as the code reports it: saturating at UInt64.max.
    public static func saturate(_ v: BigInt) -> UInt64 {
        precondition(v >= 0, "negative bound \(v)")
        return v > maxU64 ? .max : UInt64(v)
    }
}

/// The page's clock terms, as the raw fields the ABI defines, and the exact
/// time and bounds they imply.
public struct ExactClock: Sendable {
    public var shift: Int
    public var counterValue: UInt64
    public var period: UInt64
    public var timeSec: UInt64
    public var timeFrac: UInt64

    public init(shift: Int, counterValue: UInt64, period: UInt64, timeSec: UInt64, timeFrac: UInt64) {
        (self.shift, self.counterValue, self.period, self.timeSec, self.timeFrac) = (shift, counterValue, period, timeSec, timeFrac)
    }

    /// 2^(64+shift): the time's and the bounds' common denominator.
    public var denominator: BigInt { BigInt(1) << (64 + shift) }

    /// The time at `counter` as the exact rational N / 2^(64+shift), in the page's timescale:
    /// N = (time_sec·2^64 + time_frac)·2^shift + (counter − counter_value)·period.
    public func timeNumerator(atCounter counter: UInt64) -> BigInt {
        ((BigInt(timeSec) << 64 + BigInt(timeFrac)) << shift) + (BigInt(counter) - BigInt(counterValue)) * BigInt(period)
    }

    /// The exact time floored to 2^-64 s, in 2^-64 s units; nil outside
    /// 0 … 2^62 s (the code's documented range).
    public func pageUnits(atCounter counter: UInt64) -> BigInt? {
        let units = Exact.floorDiv(timeNumerator(atCounter: counter), BigInt(1) << shift)
        guard units >= 0, units >> 64 <= BigInt(1) << 62 else { return nil }
        return units
    }

    /// The documented rule: the max error rate is never taken below 1 ppm of
    /// the period, that floor rounded up to a whole unit.
    public func flooredRate(_ rate: UInt64) -> BigInt {
        Swift.max(BigInt(rate), Exact.ceilDiv(BigInt(period), BigInt(1_000_000)))
    }

    /// A bound's exact numerator over `denominator`, in ns: the time error
    /// plus |counter − counter_value| ticks at `rate` · 2^-(64+shift) s each.
    public func boundNumerator(time: UInt64, rate: BigInt, counter: UInt64) -> BigInt {
        BigInt(time) * denominator + BigInt((BigInt(counter) - BigInt(counterValue)).magnitude) * rate * Exact.billion
    }

    /// The bound the code reports for that: the exact one rounded up to the ns, saturating.
    public func bound(time: UInt64, rate: BigInt, counter: UInt64) -> UInt64 {
        Exact.saturate(Exact.ceilDiv(boundNumerator(time: time, rate: rate, counter: counter), denominator))
    }

    /// The farthest the true time at the system clock's read can be from
    /// `reportedUnits` (the page's time, in its timescale, in 2^-64 s units,
    /// as reported for a bracket [before, after]), in ns, as an exact
    /// numerator over `denominator`. Found by trying every extreme of what
    /// the page allows, not by a formula: the counter truly anywhere in
    /// [before, after + 1] (a reading c is a counter in [c, c+1); the system
    /// clock was read between the two reads), and the true clock anywhere
    /// the error admits, true(x) = page(x) + e + (x − counter_value)·δ with
    /// |e| ≤ `timeError` and |δ| ≤ `rate`. The distance is linear in each of
    /// x, e, δ, so its maximum is at a corner.
    public func worstReadError(before: UInt64, after: UInt64, reportedUnits: BigInt, timeError: UInt64, rate: BigInt) -> BigInt {
        let reported = reportedUnits << shift * Exact.billion
        var worst = BigInt(0)
        for x in [BigInt(before), BigInt(after) + 1] {
            let page = timeNumerator(atCounter: 0) + x * BigInt(period)
            for e in [-1, 1] as [BigInt] {
                for d in [-1, 1] as [BigInt] {
                    let truth = (page + d * (x - BigInt(counterValue)) * rate) * Exact.billion + e * BigInt(timeError) * denominator
                    worst = Swift.max(worst, BigInt((reported - truth).magnitude))
                }
            }
        }
        return worst
    }
}
