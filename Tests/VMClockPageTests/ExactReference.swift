import BigInt
import VMClockPage

/// An exact, independent model of the page math over arbitrary-precision
/// integers. Nothing here calls the code under test.
enum Ref {
    static let two64 = BigInt(1) << 64
    static let billion = BigInt(1_000_000_000)
    static let maxU64 = BigInt(UInt64.max)

    /// floor(a / b) for b > 0. BigInt's division truncates toward zero, so
    /// this divides magnitudes, adjusts negative quotients, and verifies the
    /// identity a = q·b + r, 0 ≤ r < b itself.
    static func floorDiv(_ a: BigInt, _ b: BigInt) -> BigInt {
        precondition(b > 0)
        let (mq, mr) = a.magnitude.quotientAndRemainder(dividingBy: b.magnitude)
        var q = BigInt(mq)
        var r = BigInt(mr)
        if a < 0 {
            q = -q
            r = -r
            if r != 0 {
                q -= 1
                r += b
            }
        }
        precondition(q * b + r == a && r >= 0 && r < b, "BigInt division is wrong for \(a) / \(b)")
        return q
    }

    /// ceil(a / b) for b > 0.
    static func ceilDiv(_ a: BigInt, _ b: BigInt) -> BigInt { -floorDiv(-a, b) }

    static func saturate(_ v: BigInt) -> UInt64 {
        precondition(v >= 0, "negative bound \(v)")
        return v > maxU64 ? .max : UInt64(v)
    }

    /// Time at counter C as the exact rational N / 2^(64+shift):
    /// N = (time_sec·2^64 + time_frac)·2^shift + (C − counter_value)·period.
    static func timeNumerator(_ s: PageSpec, counter: UInt64) -> BigInt {
        let base = (BigInt(s.timeSec) << 64 + BigInt(s.timeFrac)) << Int(s.shift)
        return base + (BigInt(counter) - BigInt(s.counterValue)) * BigInt(s.period)
    }

    /// The exact time floored to 2^-64 s, as (seconds, fraction); nil when it
    /// falls outside 0 … 2^62 s (the production's documented range).
    static func pageTime(_ s: PageSpec, counter: UInt64) -> (seconds: BigInt, fraction: BigInt)? {
        let units = floorDiv(timeNumerator(s, counter: counter), BigInt(1) << Int(s.shift))
        guard units >= 0 else { return nil }
        let seconds = units >> 64
        guard seconds <= BigInt(1) << 62 else { return nil }
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

    /// Exact ns of `ticks` ticks at `units` · 2^-(64+shift) s each.
    static func ticksNumerator(_ ticks: BigInt, units: UInt64) -> BigInt {
        ticks * BigInt(units) * billion
    }

    /// ceil(ticks · units · 10^9 / 2^(64+shift)), saturating at UInt64.max.
    static func ticksToNs(_ ticks: BigInt, units: UInt64, shift: UInt8) -> UInt64 {
        saturate(ceilDiv(ticksNumerator(ticks, units: units), BigInt(1) << (64 + Int(shift))))
    }

    /// time error + ceil(|C − cv| · rate · 10^9 / 2^(64+shift)), saturating.
    static func errorBound(_ s: PageSpec, counter: UInt64, timeNs: UInt64, rate: UInt64) -> UInt64 {
        let ticks = (BigInt(counter) - BigInt(s.counterValue)).magnitude
        let extra = ceilDiv(ticksNumerator(BigInt(ticks), units: rate), BigInt(1) << (64 + Int(s.shift)))
        return saturate(BigInt(timeNs) + extra)
    }

    /// The documented rule: the period's max error rate is never taken below
    /// 1 ppm of the period, that floor rounded up to a whole unit.
    static func maxError(_ s: PageSpec, counter: UInt64) -> UInt64 {
        let floor = ceilDiv(BigInt(s.period), BigInt(1_000_000))
        let rate = max(BigInt(s.periodMaxerrorRate), floor)
        return errorBound(s, counter: counter, timeNs: s.timeMaxerrorNs, rate: UInt64(rate))
    }

    /// The farthest the true time at the system clock's read can be from
    /// `reported` (the page's time evaluated for the bracket), in ns, as an
    /// exact numerator over 2^(64+shift). Found by trying every extreme of
    /// what the page allows, not by a formula: the counter truly anywhere in
    /// [before, after + 1] (a reading c is a counter in [c, c+1); the system
    /// clock was read between the two reads: the supremum of that open
    /// interval), and the true clock anywhere the max error admits, i.e.
    /// true(x) = page(x) + e + (x − counter_value)·δ with |e| ≤
    /// time_maxerror and |δ| ≤ the (floored) max error rate. The distance is
    /// linear in each of x, e, δ, so its maximum is at a corner.
    static func worstReadError(_ s: PageSpec, before: UInt64, after: UInt64, reported: Timestamp) -> BigInt {
        let denominator = BigInt(1) << (64 + Int(s.shift))
        let rate = max(BigInt(s.periodMaxerrorRate), ceilDiv(BigInt(s.period), BigInt(1_000_000)))
        let reportedNs = (BigInt(reported.seconds) << 64 + BigInt(reported.fraction)) << Int(s.shift) * billion
        var worst = BigInt(0)
        for x in [BigInt(before), BigInt(after) + 1] {
            let page = (BigInt(s.timeSec) << 64 + BigInt(s.timeFrac)) << Int(s.shift) + (x - BigInt(s.counterValue)) * BigInt(s.period)
            for e in [-1, 1] as [BigInt] {
                for d in [-1, 1] as [BigInt] {
                    let trueNs = (page + d * (x - BigInt(s.counterValue)) * rate) * billion + e * BigInt(s.timeMaxerrorNs) * denominator
                    worst = max(worst, BigInt((reportedNs - trueNs).magnitude))
                }
            }
        }
        return worst
    }

    static func estError(_ s: PageSpec, counter: UInt64) -> UInt64 {
        errorBound(s, counter: counter, timeNs: s.timeEsterrorNs, rate: s.periodEsterrorRate)
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
