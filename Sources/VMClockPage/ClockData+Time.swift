/// Exact time and error-bound math on a page's clock data.
///
/// Time at counter reading C (ABI): time_sec + (time_frac_sec + ((C −
/// counter_value) · period >> shift)) / 2^64, in 128-bit fixed point with 64
/// fraction bits. A reading *before* counter_value (possible just after the
/// host updates the page) is handled as a negative delta, never as a huge
/// unsigned one. The result is the exact floor of the true value in 2^-64 s
/// in both directions.
extension ClockData {
    /// Time at counter reading `counter`, in the page's timescale (TAI for TAI
    /// pages); nil only if it falls outside 0…2^62 s.
    public func pageTime(atCounter counter: UInt64) -> Timestamp? {
        let base = UInt128(timeSec) << 64 | UInt128(timeFracSec)
        let value: UInt128
        if counter >= counterValue {
            let elapsed = scaledTicks(counter - counterValue, roundingUp: false)
            let (sum, overflow) = base.addingReportingOverflow(elapsed)
            guard !overflow else { return nil }
            value = sum
        } else {
            // floor(base − x) = base − ceil(x): round the subtrahend up.
            let before = scaledTicks(counterValue - counter, roundingUp: true)
            guard before <= base else { return nil }
            value = base - before
        }
        let seconds = value >> 64
        guard seconds <= UInt128(ClockData.maximumTimeSeconds) else { return nil }
        return Timestamp(seconds: Int64(seconds), fraction: UInt64(truncatingIfNeeded: value))
    }

    /// UTC at counter reading `counter` (TAI pages adjusted by the TAI offset).
    public func utc(atCounter counter: UInt64) -> Timestamp? {
        guard var time = pageTime(atCounter: counter) else { return nil }
        time.seconds += utcAdjustmentSeconds  // |adjustment| ≤ 100, seconds ≤ 2^62: no overflow
        return time.seconds >= 0 ? time : nil
    }

    /// `ticks · period / 2^shift` in units of 2^-64 s (product exact in 128 bits).
    private func scaledTicks(_ ticks: UInt64, roundingUp: Bool) -> UInt128 {
        let product = UInt128(ticks) * UInt128(counterPeriodFracSec)
        let quotient = product >> counterPeriodShift
        let remainder = product & ((1 << counterPeriodShift) - 1)
        return roundingUp && remainder != 0 ? quotient + 1 : quotient
    }

    /// The maximum error of the time at `counter`, in ns, rounded up and
    /// saturating: time_maxerror_nanosec + period max error rate · |ticks
    /// since counter_value|. Nil unless both bounds are marked valid: a bound
    /// that leaves out an unknown period error would claim more than the page says.
    ///
    /// The rate is never taken below `minimumRateErrorPPM` of the period: a
    /// host that stops updating its page while claiming a perfect period
    /// must not be trusted forever, so the bound grows with the page's age at
    /// least as fast as chrony's own assumption for any clock (its default
    /// `maxclockerror`, 1 ppm).
    public func maxErrorNanoseconds(atCounter counter: UInt64) -> UInt64? {
        errorBound(time: timeMaxerrorNanosec, rate: flooredMaxErrorRate, counter: counter)
    }

    /// The period's max error rate, never below `minimumMaxErrorRate`; nil
    /// where the page gives none.
    public var flooredMaxErrorRate: UInt64? { periodMaxerrorRate.map { max($0, minimumMaxErrorRate) } }

    public static let minimumRateErrorPPM: UInt64 = 1

    /// `minimumRateErrorPPM` of the period, rounded up, in the period's units.
    public var minimumMaxErrorRate: UInt64 {
        let (quotient, remainder) = counterPeriodFracSec.quotientAndRemainder(dividingBy: 1_000_000 / Self.minimumRateErrorPPM)
        return remainder == 0 ? quotient : quotient + 1
    }

    /// UTC at the page's own anchor (counter_value): when the host last
    /// computed the page's time.
    public var anchorUTC: Timestamp? { utc(atCounter: counterValue) }

    /// The estimated error at `counter`, built the same way from the estimates.
    public func estErrorNanoseconds(atCounter counter: UInt64) -> UInt64? {
        errorBound(time: timeEsterrorNanosec, rate: periodEsterrorRate, counter: counter)
    }

    private func errorBound(time: UInt64?, rate: UInt64?, counter: UInt64) -> UInt64? {
        guard let time, let rate else { return nil }
        let ticks = counter >= counterValue ? counter - counterValue : counterValue - counter
        return time.saturatingAdd(ticksToNanoseconds(ticks, unitsPerTick: rate))
    }

    /// `ticks` counter ticks of `unitsPerTick` · 2^-(64+shift) s each, in ns,
    /// rounded up, saturating at UInt64.max.
    public func ticksToNanoseconds(_ ticks: UInt64, unitsPerTick: UInt64) -> UInt64 {
        scaledNanoseconds(ticks, unitsPerTick: unitsPerTick, plusOneFraction: false)
    }

    /// `ticksToNanoseconds` of 2^-64 s more, exactly: what a time floored to
    /// the page's resolution (2^-64 s) may additionally be off by.
    func ticksToNanosecondsPlusOneFraction(_ ticks: UInt64, unitsPerTick: UInt64) -> UInt64 {
        scaledNanoseconds(ticks, unitsPerTick: unitsPerTick, plusOneFraction: true)
    }

    private func scaledNanoseconds(_ ticks: UInt64, unitsPerTick: UInt64, plusOneFraction: Bool) -> UInt64 {
        let product = UInt128(ticks) * UInt128(unitsPerTick)
        var (high, low) = product.multipliedFullWidth(by: UInt128(UInt64.nanosecondsPerSecond))
        // high < 2^30 (product < 2^128, 10^9 < 2^30); the shift is 64…127.
        let shift = 64 + Int(counterPeriodShift)
        if plusOneFraction {
            // + 2^-64 s = 2^shift' units of 2^-(64+shift') s, times 10^9 (< 2^93): high stays < 2^31.
            let (sum, carry) = low.addingReportingOverflow(UInt128(UInt64.nanosecondsPerSecond) << counterPeriodShift)
            (high, low) = (carry ? high + 1 : high, sum)
        }
        let quotient = high << (128 - shift) | low >> shift
        let inexact = low & ((1 << shift) - 1) != 0
        let rounded = inexact ? quotient + 1 : quotient
        return rounded > UInt128(UInt64.max) ? .max : UInt64(rounded)
    }
}

extension UInt64 {
    @inlinable
    public func saturatingAdd(_ other: UInt64) -> UInt64 {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? .max : sum
    }
}
